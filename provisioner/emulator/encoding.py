"""Request bodies: ``Content-Encoding`` (gzip, deflate) and the size limits of each endpoint.

A body over its endpoint's raw limit, or one that decompresses to its decoded limit or more, is a 413. The
series endpoints have Datadog's documented limits (v2: 512000 bytes, decoded below 5242880; v1: 3200000
bytes, decoded below 62914560). ``zstd1``, which Datadog accepts on ``/api/v2/series``, needs a library the
emulator does not depend on: it is answered 415, saying so, rather than silently misread.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from provisioner.emulator.http_types import ApiError, bad_request

_ZLIB_OR_GZIP = 32 + zlib.MAX_WBITS  # auto-detects the zlib and gzip headers
_RAW_DEFLATE = -zlib.MAX_WBITS


@dataclass(frozen=True)
class BodyLimits:
    max_raw: int
    max_decoded: int  # a decoded body must be smaller than this


DEFAULT_BODY_LIMITS = BodyLimits(max_raw=64 * 1024 * 1024, max_decoded=64 * 1024 * 1024)
V2_SERIES_LIMITS = BodyLimits(max_raw=512_000, max_decoded=5_242_880)
V1_SERIES_LIMITS = BodyLimits(max_raw=3_200_000, max_decoded=62_914_560)


def too_large() -> ApiError:
    return ApiError(413, {"errors": ["Payload too large"]})


def decode_body(raw: bytes, encoding: str, limits: BodyLimits = DEFAULT_BODY_LIMITS) -> bytes:
    encoding = encoding.strip().lower()
    if len(raw) > limits.max_raw:
        raise too_large()
    if encoding in ("", "identity"):
        return raw
    if encoding == "zstd1":
        raise ApiError(
            415, {"errors": ["Content-Encoding zstd1 is not decoded by the emulator; send gzip or deflate"]}
        )
    if encoding not in ("gzip", "deflate"):
        raise bad_request(f"Unsupported Content-Encoding: {encoding}")
    try:
        decoded = _inflate(raw, _ZLIB_OR_GZIP, limits.max_decoded)
    except zlib.error:
        if encoding == "gzip":
            raise bad_request("Invalid gzip request body") from None
        try:  # some clients send raw deflate without the zlib header
            decoded = _inflate(raw, _RAW_DEFLATE, limits.max_decoded)
        except zlib.error:
            raise bad_request("Invalid deflate request body") from None
    if len(decoded) >= limits.max_decoded:
        raise too_large()
    return decoded


def _inflate(raw: bytes, wbits: int, max_decoded: int) -> bytes:
    """At most ``max_decoded`` bytes of output, so a compression bomb costs nothing."""
    decompressor = zlib.decompressobj(wbits)
    decoded = decompressor.decompress(raw, max_decoded)
    if len(decoded) < max_decoded and not decompressor.eof:
        raise zlib.error("truncated stream")
    return decoded
