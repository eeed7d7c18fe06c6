"""Key checks. Keys are compared in constant time and never stored in logs or echoed in errors."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from enum import Enum

from provisioner.emulator.http_types import ApiError

API_KEY_HEADER = "dd-api-key"
APP_KEY_HEADER = "dd-application-key"
SECRET_QUERY_PARAMS = frozenset({"api_key", "application_key"})


class AuthRequirement(Enum):
    API_KEY = "api_key"  # GET /api/v1/validate
    API_AND_APP_KEY = "api_and_app_key"  # everything else


class KeyChecker:
    def __init__(self, api_keys: tuple[str, ...], app_keys: tuple[str, ...]) -> None:
        self._api_keys = api_keys
        self._app_keys = app_keys

    def check(self, requirement: AuthRequirement, headers: Mapping[str, str]) -> None:
        """Raise the recorded 403 when a key is missing or not accepted."""
        api_key = headers.get(API_KEY_HEADER, "")
        if requirement is AuthRequirement.API_KEY and not api_key:
            raise ApiError(403, {"errors": ["API key required"]})
        if not _accepted(api_key, self._api_keys):
            raise ApiError(403, {"errors": ["Forbidden"]})
        if requirement is AuthRequirement.API_AND_APP_KEY:
            if not _accepted(headers.get(APP_KEY_HEADER, ""), self._app_keys):
                raise ApiError(403, {"errors": ["Forbidden"]})


def _accepted(value: str, allowed: tuple[str, ...]) -> bool:
    """An empty allow-list accepts any non-empty key."""
    if not value:
        return False
    if not allowed:
        return True
    candidate = value.encode()
    return any(hmac.compare_digest(candidate, key.encode()) for key in allowed)
