"""Where to send requests and with which keys, read the way every Datadog tool reads them.

Keys come from ``DD_API_KEY`` and ``DD_APP_KEY`` (``DD_APPLICATION_KEY`` is accepted too). The endpoint,
first match wins: ``--api-url``, ``PROVISIONER_API_URL``, ``DD_SITE``, the environment's ``api_url`` then
``site`` in provisioner.yaml, ``datadoghq.com``. A command-line flag beats the environment, and the
environment beats the config file, as in Datadog's own tools (the Agent's ``DD_SITE`` overrides
``datadog.yaml``; datadog-ci reads its config file, then environment variables, then flags). When
``DD_SITE`` and the config disagree, the endpoint carries a warning naming both. Keys never appear in a
repr, a message or a log line.

Keys are checked before any request: one with a character an HTTP header cannot carry (a line
break, a control character, a space, non-ASCII) would otherwise end in a library error that quotes
it, and one shorter than ``MIN_KEY_LENGTH`` cannot be a Datadog key and could not be redacted
without mangling the text around it. Neither message repeats the key.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from provisioner.errors import UserError
from provisioner.model import Environment

DATADOG_SITES: tuple[str, ...] = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
    "uk1.datadoghq.com",
    "ddog-gov.com",
    "us2.ddog-gov.com",
)
_SITE_ALIASES: Mapping[str, str] = {
    "us1": "datadoghq.com",
    "us": "datadoghq.com",
    "us3": "us3.datadoghq.com",
    "us5": "us5.datadoghq.com",
    "eu": "datadoghq.eu",
    "eu1": "datadoghq.eu",
    "ap1": "ap1.datadoghq.com",
    "ap2": "ap2.datadoghq.com",
    "uk1": "uk1.datadoghq.com",
    "gov": "ddog-gov.com",
    "us1-fed": "ddog-gov.com",
}
_API_KEY_VARS = ("DD_API_KEY", "DATADOG_API_KEY")
_APP_KEY_VARS = ("DD_APP_KEY", "DD_APPLICATION_KEY", "DATADOG_APP_KEY")
MIN_KEY_LENGTH = 8  # Datadog's API keys have 32 characters, application keys 40
_HEADER_SAFE_KEY = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a header value may carry as is
_KEY_CHAR = r"[A-Za-z0-9_\-]"


@dataclass(frozen=True)
class Target:
    api_url: str
    api_key: str = field(repr=False)
    app_key: str = field(repr=False)
    url_source: str = ""  # where api_url came from (``Endpoint.source``), for a hint when it is wrong

    def __repr__(self) -> str:
        return f"Target(api_url={self.api_url!r}, api_key=<redacted>, app_key=<redacted>)"


def resolve_site(site: str) -> str:
    site = site.strip().lower().removeprefix("https://").removeprefix("api.").rstrip("/")
    site = _SITE_ALIASES.get(site, site)
    if site not in DATADOG_SITES:
        raise UserError(
            f"unknown Datadog site {site!r}",
            hint=f"use one of {', '.join(DATADOG_SITES)}, or --api-url for another endpoint",
        )
    return site


DEFAULT_SITE = "datadoghq.com"


@dataclass(frozen=True)
class Endpoint:
    """Where requests go, and the Datadog site whose org answers them (for links into its web UI)."""

    api_url: str
    site: str | None  # None: a custom URL (a proxy, the emulator) and no site named anywhere
    warnings: tuple[str, ...] = ()
    source: str = ""  # the one setting api_url came from, e.g. "PROVISIONER_API_URL"


def app_url(site: str) -> str:
    """The web UI of a site (docs.datadoghq.com/getting_started/site): ``app.`` before the three
    first sites (datadoghq.com, datadoghq.eu, ddog-gov.com), the site itself for the regional ones
    (us3.datadoghq.com, ap1.datadoghq.com, us2.ddog-gov.com, ...)."""
    site = resolve_site(site)
    return f"https://app.{site}" if site.count(".") == 1 else f"https://{site}"


def resolve_endpoint(
    environment: Environment, api_url: str | None = None, env: Mapping[str, str] | None = None
) -> Endpoint:
    env = os.environ if env is None else env
    dd_site = _named_site(env.get("DD_SITE"), "DD_SITE")
    configured = _named_site(environment.site, f"site of environment '{environment.name}'")
    warnings = _disagreements(environment, dd_site, env.get("DD_SITE", ""))
    for url, source in (
        (api_url, "--api-url"),
        (env.get("PROVISIONER_API_URL"), "PROVISIONER_API_URL"),
        (
            None if dd_site else environment.api_url,
            f"api_url of environment '{environment.name}' in provisioner.yaml",
        ),
    ):
        if url and url.strip():
            url = checked_api_url(url, source)
            return Endpoint(url, _site_of_url(url) or dd_site or configured, warnings, source)
    if dd_site:
        source = f"DD_SITE={dd_site}"
    elif configured:
        source = f"site of environment '{environment.name}' in provisioner.yaml"
    else:
        source = (
            f"the default site, {DEFAULT_SITE} (none of --api-url, PROVISIONER_API_URL, DD_SITE, site is set)"
        )
    site = dd_site or configured or DEFAULT_SITE
    return Endpoint(f"https://api.{site}", site, warnings, source)


_HOST_RE = re.compile(
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?"
)


def checked_api_url(url: str, source: str) -> str:
    """The URL without surrounding blanks or a trailing ``/``; ``UserError`` unless it is an http(s) URL
    with a host (a name or an IP address) and a valid port: anything else would only fail, or be retried,
    deep in the HTTP library. The message shows the URL only when it carries no user name or password."""
    written = url.strip()
    url = written.rstrip("/")
    problem = _url_problem(url)
    if problem:
        shown = f" {written!r}" if "@" not in written and len(written) <= 200 else ""
        raise UserError(
            f"{source}: the Datadog API URL{shown} is not usable: {problem}",
            hint="write it as https://api.<site> (e.g. https://api.datadoghq.eu), or http://127.0.0.1:<port> "
            "for an emulator",
        )
    return url


def _url_problem(url: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it contains a space, a line break or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"it cannot be parsed ({exc})"
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        return "it must start with https:// (or http://)"
    if parts.username is not None or parts.password is not None:
        return "it carries a user name or password; keys go in DD_API_KEY and DD_APP_KEY"
    if not host:
        return "it names no host"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "it has a query or a fragment (?… or #…)"
    if port == 0:
        return "port 0 is not a port a server listens on"
    if not _valid_host(host):
        return f"{host!r} is not a host name or an IP address"
    return ""


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return len(host) <= 253 and _HOST_RE.fullmatch(host) is not None
    return True


def _named_site(value: str | None, source: str) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return resolve_site(value)
    except UserError as exc:
        raise UserError(f"{source}: {exc.message}", exc.hint) from None


def _site_of_url(url: str) -> str | None:
    host = url.removeprefix("https://").split("/")[0]
    site = host.removeprefix("api.")
    return site if host.startswith("api.") and site in DATADOG_SITES else None


def _disagreements(environment: Environment, dd_site: str | None, raw: str) -> tuple[str, ...]:
    if dd_site is None:
        return ()
    name = f"environment '{environment.name}'"
    if environment.site and resolve_site(environment.site) != dd_site:
        setting = f"`site: {environment.site}`"
    elif environment.api_url and _site_of_url(environment.api_url.rstrip("/")) != dd_site:
        setting = f"`api_url: {environment.api_url}`"
    else:
        return ()
    return (
        f"DD_SITE={raw.strip()} disagrees with {setting} of {name} in provisioner.yaml; DD_SITE wins "
        "(an environment variable overrides the config file, as in Datadog's own tools). "
        "Unset DD_SITE or make the two agree.",
    )


def resolve_target(
    environment: Environment, api_url: str | None = None, env: Mapping[str, str] | None = None
) -> Target:
    env = os.environ if env is None else env
    endpoint = resolve_endpoint(environment, api_url, env)
    api_key = _first(env, _API_KEY_VARS)
    app_key = _first(env, _APP_KEY_VARS)
    missing = [names[0] for names, value in ((_API_KEY_VARS, api_key), (_APP_KEY_VARS, app_key)) if not value]
    if missing:
        raise UserError(
            f"missing Datadog credentials: set {' and '.join(missing)} in the environment",
            hint="or run against the embedded emulator with --emulator (no Datadog account needed)",
        )
    check_key(_API_KEY_VARS, api_key)
    check_key(_APP_KEY_VARS, app_key)
    return Target(api_url=endpoint.api_url, api_key=api_key, app_key=app_key, url_source=endpoint.source)


def check_key(names: tuple[str, ...], key: str) -> None:
    """Refuse a key no Datadog endpoint would accept, without ever repeating it."""
    name = names[0]
    if not _HEADER_SAFE_KEY.fullmatch(key):
        raise UserError(
            f"{name} contains a character that cannot be sent in an HTTP header "
            "(a line break, a control character, a space or a non-ASCII character)",
            hint=f"set {name} to the key alone, as Datadog shows it; a file read with $(cat ...) "
            "may carry a stray line break or carriage return",
        )
    if len(key) < MIN_KEY_LENGTH:
        raise UserError(
            f"{name} is {len(key)} characters long; a Datadog key has at least {MIN_KEY_LENGTH}",
            hint=f"set {name} to the whole key (Organization Settings > API Keys or Application Keys)",
        )


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def redact(text: str, *secrets: str) -> str:
    """The text with every whole occurrence of a secret replaced, for messages built from server or
    library output. Only whole keys match (not inside a longer run of key characters), so a key that
    happens to be part of an id or a word never mangles it; keys shorter than ``MIN_KEY_LENGTH`` are
    refused before they get here and are not looked for."""
    for secret in secrets:
        if len(secret) >= MIN_KEY_LENGTH:
            pattern = f"(?<!{_KEY_CHAR}){re.escape(secret)}(?!{_KEY_CHAR})"
            text = re.sub(pattern, "<redacted>", text)
    return text
