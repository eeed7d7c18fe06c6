"""Query-string parameters, parsed the way the endpoints need them (a bad value is a 400)."""

from __future__ import annotations

from collections.abc import Mapping

from provisioner.emulator.http_types import ApiError, bad_request


def int_param(
    query: Mapping[str, str], name: str, minimum: int = 0, maximum: int | None = None
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise _invalid(name)
    return value


def csv_param(query: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in query.get(name, "").split(",") if part.strip())


def _invalid(name: str) -> ApiError:
    return bad_request(f"The value provided for parameter '{name}' is invalid")
