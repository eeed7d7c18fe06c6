"""The error hierarchy. ``cli.py`` is the one boundary that turns these into exit codes."""

from __future__ import annotations


class ProvisionerError(Exception):
    """An expected failure, reported to the user without a traceback (exit 1)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UserError(ProvisionerError):
    """Bad input, a missing file, missing credentials: something the user can fix."""


class DatadogError(ProvisionerError):
    """Datadog answered with an error, or could not be reached. Never carries an API or app key."""

    def __init__(
        self, message: str, status: int | None = None, hint: str = "", maybe_applied: bool = False
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        # True when a write may have taken effect although no success came back (a 5xx, a reset
        # connection, a timeout): the caller must look before it writes again.
        self.maybe_applied = maybe_applied
        self.details: object = None  # the server's parsed "errors" value, when there is one


class NotSentError(DatadogError):
    """A request that was never sent: the run's deadline ran out or it was interrupted first.
    Nothing can have changed in Datadog; apply reports the resource as not started."""
