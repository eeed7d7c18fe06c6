"""Where to send requests and with which keys, read the way every Datadog tool reads them.

Keys come from ``DD_API_KEY`` and ``DD_APP_KEY`` (``DD_APPLICATION_KEY`` is accepted too); the
site from ``--api-url``, ``PROVISIONER_API_URL``, the environment's ``api_url`` or ``site`` in
provisioner.yaml, or ``DD_SITE``. Keys never appear in a repr, a message or a log line.

Keys are checked before any request: one with a character an HTTP header cannot carry (a line
break, a control character, a space, non-ASCII) would otherwise end in a library error that quotes
it, and one shorter than ``MIN_KEY_LENGTH`` cannot be a Datadog key and could not be redacted
without mangling the text around it. Neither message repeats the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

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


def resolve_api_url(environment: Environment, api_url: str | None, env: Mapping[str, str]) -> str:
    explicit = api_url or env.get("PROVISIONER_API_URL") or environment.api_url
    if explicit:
        return explicit.rstrip("/")
    site = environment.site or env.get("DD_SITE") or "datadoghq.com"
    return f"https://api.{resolve_site(site)}"


def resolve_target(
    environment: Environment, api_url: str | None = None, env: Mapping[str, str] | None = None
) -> Target:
    env = os.environ if env is None else env
    url = resolve_api_url(environment, api_url, env)
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
    return Target(api_url=url, api_key=api_key, app_key=app_key)


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
