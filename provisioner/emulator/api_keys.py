"""``GET /api/v2/current_user/application_keys``: the API user's application keys and their scopes.

As Datadog does, a key lists its user's keys only when it may (unscoped, or scoped with ``user_app_keys``),
and shows each key by name and last four characters, never whole. Scopes are not enforced elsewhere.
"""

from __future__ import annotations

import uuid
from typing import Any

from provisioner.emulator.auth import APP_KEY_HEADER
from provisioner.emulator.http_types import ApiError, ApiRequest, ApiResponse, json_response
from provisioner.emulator.identity import ApplicationKey
from provisioner.emulator.org import Org

LIST_KEYS_SCOPE = "user_app_keys"
_CREATED_AT = "2026-01-05T09:30:00.000000+00:00"


def list_current_user_application_keys(org: Org, request: ApiRequest) -> ApiResponse:
    in_use = request.headers.get(APP_KEY_HEADER, "")
    keys = {key.key: key for key in org.identity.application_keys}
    current = keys.get(in_use) or ApplicationKey(in_use, "emulator")
    if current.scopes is not None and LIST_KEYS_SCOPE not in current.scopes:
        raise ApiError(403, {"errors": ["Forbidden"]})
    listed = [*keys.values()] + ([] if in_use in keys else [current])
    return json_response(
        {
            "data": [_item(index, key) for index, key in enumerate(listed, start=1)],
            "meta": {"page": {"total_filtered_count": len(listed)}},
        }
    )


def _item(index: int, key: ApplicationKey) -> dict[str, Any]:
    return {
        "type": "application_keys",
        "id": str(uuid.UUID(int=index)),  # an id unrelated to the key, as in Datadog
        "attributes": {
            "name": key.name,
            "last4": key.key[-4:],
            "scopes": None if key.scopes is None else list(key.scopes),
            "created_at": _CREATED_AT,
        },
    }
