"""Who the emulated org and its API user are: ``org_id``, ``creator``, dashboard ``author_*``, and the
user's application keys with their scopes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApplicationKey:
    """One of the API user's application keys. Scopes None: unscoped, every permission of the user."""

    key: str
    name: str
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OrgIdentity:
    org_id: int = 321813
    user_handle: str = "emulator@example.com"
    user_name: str | None = None
    user_id: int = 1445416
    # The user's keys as ``GET /api/v2/current_user/application_keys`` lists them. A key in use that is
    # not among them is listed as an unscoped key (the emulator accepts any key by default).
    application_keys: tuple[ApplicationKey, ...] = ()

    def creator(self) -> dict[str, Any]:
        """The monitor ``creator`` object; ``id`` is not in the spec but is in every recording."""
        return {
            "name": self.user_name,
            "handle": self.user_handle,
            "email": self.user_handle,
            "id": self.user_id,
        }
