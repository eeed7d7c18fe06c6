"""Plain request/response values passed between the HTTP layer and the endpoint handlers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSON_TYPE = "application/json"


class ApiError(Exception):
    """An error answer, raised anywhere in a handler and turned into a response by the server."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"errors": [message]})


def not_found(message: str) -> ApiError:
    return ApiError(404, {"errors": [message]})


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    template: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes = b""

    def json_body(self) -> Any:
        """The body parsed as JSON; a 400 when it is not JSON."""
        if not self.body:
            raise bad_request("Invalid JSON: empty request body")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"Invalid JSON: {exc}") from None

    def object_body(self) -> dict[str, Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise bad_request("Invalid JSON: the request body must be an object")
        return body

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() == "true"


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = field(default=())

    def with_headers(self, extra: tuple[tuple[str, str], ...]) -> ApiResponse:
        return ApiResponse(self.status, self.body, self.content_type, self.headers + extra)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(value: Any, status: int = 200) -> ApiResponse:
    return ApiResponse(status, encode_json(value))


def error_response(error: ApiError) -> ApiResponse:
    return json_response(error.body, error.status)
