"""The least-privilege check of CI's read-only jobs: with PROVISIONER_EXPECT_READ_ONLY_KEY set, ``plan``
warns when Datadog says the application key in use can write."""

from __future__ import annotations

import os

import typer

from provisioner.datadog.client import ApplicationKeyAccess, DatadogClient

EXPECT_READ_ONLY_KEY = "PROVISIONER_EXPECT_READ_ONLY_KEY"
# What CI's read-only jobs need: plans and audits read monitors and dashboards, the metrics-reporting check
# reads metrics. docs/ci.md and the README list the same scopes (tests/github/test_read_only_key.py).
READ_SCOPES = ("monitors_read", "dashboards_read", "metrics_read")


def expects_read_only_key() -> bool:
    return os.environ.get(EXPECT_READ_ONLY_KEY, "").strip().lower() in {"1", "true", "yes"}


def warn_if_key_can_write(client: DatadogClient) -> None:
    access = client.application_key_access()
    if not access.can_write:
        return  # read-only, or Datadog does not tell (a key scoped without user_app_keys)
    message = write_key_warning(access)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        message = f"::warning title=Application key can write::{message}"
    typer.echo(message, err=True)


def write_key_warning(access: ApplicationKeyAccess) -> str:
    what = (
        "it is unscoped, so it has every permission of its owner"
        if access.scopes is None
        else f"its scopes include {', '.join(access.write_scopes)}"
    )
    return (
        f"warning: the application key in DD_APP_KEY can write ({what}). This run only reads: give it a key "
        f"scoped to {read_scopes_text()}, and keep the write key in the protected environments."
    )


def read_scopes_text() -> str:
    *first, last = READ_SCOPES
    return f"{', '.join(first)} and {last}"
