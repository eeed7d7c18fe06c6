"""Who the emulated org and its API user are: ``org_id``, ``creator`` and dashboard ``author_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrgIdentity:
    org_id: int = 321813
    user_handle: str = "emulator@example.com"
    user_name: str | None = None
    user_id: int = 1445416

    def creator(self) -> dict[str, Any]:
        """The monitor ``creator`` object; ``id`` is not in the spec but is in every recording."""
        return {
            "name": self.user_name,
            "handle": self.user_handle,
            "email": self.user_handle,
            "id": self.user_id,
        }
