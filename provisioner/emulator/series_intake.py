"""Reading ``POST /api/v2/series``, ``POST /api/v1/series`` and ``POST /api/v1/distribution_points`` bodies
into ``SubmittedSeries``.

Shapes (reference 1.1 and 1.2): v2 ``points: [{"timestamp", "value"}]``, integer ``type`` 0-3 (unspecified,
count, rate, gauge), the host as a ``resources`` entry of type ``host``; v1 ``points: [[ts, value]]`` (the
value may be null: no point), ``type`` a string (``""``, ``gauge``, ``count``, ``rate``), ``host`` a field.
Distribution points (datadog-api-client's ``DistributionPointsSeries``): ``points: [[ts, [v1, v2, ...]]]``,
``type`` absent or ``distribution``, ``host`` a field; each raw value becomes one (ts, value) point of a
series of type ``distribution``.
A body without ``series`` is accepted and discarded (recorded). Shape errors raise a 400 naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from provisioner.emulator.http_types import bad_request
from provisioner.emulator.metrics import DISTRIBUTION, METRIC_TYPES, SubmittedSeries

V1_TYPES = {"": "unspecified", "gauge": "gauge", "count": "count", "rate": "rate"}

SeriesReader = Callable[[Mapping[str, Any], str], SubmittedSeries]


def read_submission(body: Any, version: int) -> list[SubmittedSeries]:
    """The series of a v1 or v2 body ([] when the body has no ``series``)."""
    return _read_series(body, _v2_series if version == 2 else _v1_series)


def read_distribution_submission(body: Any) -> list[SubmittedSeries]:
    """The series of a ``/api/v1/distribution_points`` body ([] when the body has no ``series``)."""
    return _read_series(body, _distribution_series)


def _read_series(body: Any, reader: SeriesReader) -> list[SubmittedSeries]:
    if not isinstance(body, dict):
        raise bad_request("Invalid payload: the body must be a JSON object")
    if "series" not in body:
        return []
    items = body["series"]
    if not isinstance(items, list):
        raise bad_request("Invalid payload: 'series' must be an array")
    submitted = []
    for index, item in enumerate(items):
        where = f"series[{index}]"
        if not isinstance(item, dict):
            raise bad_request(f"Invalid payload: {where} must be an object")
        submitted.append(reader(item, where))
    return submitted


def _v2_series(item: Mapping[str, Any], where: str) -> SubmittedSeries:
    raw_type = item.get("type", 0)
    if isinstance(raw_type, bool) or raw_type not in (0, 1, 2, 3):
        raise bad_request(
            f"Invalid payload: {where}.type must be 0 (unspecified), 1 (count), 2 (rate) or 3 (gauge)"
        )
    points = _list(item, "points", where, required=True)
    host_tags = tuple(f"host:{name}" for name in _hosts(item, where))
    return SubmittedSeries(
        metric=_metric_name(item, where),
        points=tuple(_v2_point(point, f"{where}.points[{i}]") for i, point in enumerate(points)),
        tags=_tags(item, where) + host_tags,
        metric_type=METRIC_TYPES[raw_type],
        interval=_interval(item, where),
        unit=_optional_string(item, "unit", where),
    )


def _v1_series(item: Mapping[str, Any], where: str) -> SubmittedSeries:
    raw_type = item.get("type", "")
    if raw_type is None:
        raw_type = ""
    if raw_type not in V1_TYPES:
        raise bad_request(f"Invalid payload: {where}.type must be one of gauge, count, rate or empty")
    points = _list(item, "points", where, required=True)
    host = _optional_string(item, "host", where)
    parsed = (_v1_point(point, f"{where}.points[{i}]") for i, point in enumerate(points))
    return SubmittedSeries(
        metric=_metric_name(item, where),
        points=tuple(point for point in parsed if point is not None),
        tags=_tags(item, where) + ((f"host:{host}",) if host else ()),
        metric_type=V1_TYPES[raw_type],
        interval=_interval(item, where),
    )


def _distribution_series(item: Mapping[str, Any], where: str) -> SubmittedSeries:
    if item.get("type") not in (None, DISTRIBUTION):
        raise bad_request(f"Invalid payload: {where}.type must be distribution or absent")
    points = _list(item, "points", where, required=True)
    host = _optional_string(item, "host", where)
    return SubmittedSeries(
        metric=_metric_name(item, where),
        points=tuple(
            raw
            for i, point in enumerate(points)
            for raw in _distribution_point(point, f"{where}.points[{i}]")
        ),
        tags=_tags(item, where) + ((f"host:{host}",) if host else ()),
        metric_type=DISTRIBUTION,
    )


def _distribution_point(point: Any, where: str) -> list[tuple[float, float]]:
    """``[ts, [v1, v2, ...]]``: one (ts, value) per raw value."""
    if not isinstance(point, list) or len(point) != 2 or not isinstance(point[1], list):
        raise bad_request(f"Invalid payload: {where} must be a [timestamp, [values]] pair")
    timestamp = _number(point[0], f"{where}[0]")
    return [(timestamp, _number(value, f"{where}[1][{i}]")) for i, value in enumerate(point[1])]


def _v2_point(point: Any, where: str) -> tuple[float, float]:
    if not isinstance(point, dict):
        raise bad_request(f"Invalid payload: {where} must be an object with timestamp and value")
    return _number(point.get("timestamp"), f"{where}.timestamp"), _number(
        point.get("value"), f"{where}.value"
    )


def _v1_point(point: Any, where: str) -> tuple[float, float] | None:
    if not isinstance(point, list) or len(point) != 2:
        raise bad_request(f"Invalid payload: {where} must be a [timestamp, value] pair")
    timestamp = _number(point[0], f"{where}[0]")
    return None if point[1] is None else (timestamp, _number(point[1], f"{where}[1]"))


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"Invalid payload: {where} must be a finite number")
    return float(value)


def _metric_name(item: Mapping[str, Any], where: str) -> str:
    name = item.get("metric")
    if not isinstance(name, str) or not name.strip():
        raise bad_request(f"Invalid payload: {where}.metric is required (a non-empty string)")
    return name


def _list(item: Mapping[str, Any], key: str, where: str, required: bool = False) -> list[Any]:
    value = item.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise bad_request(f"Invalid payload: {where}.{key} must be an array")
    return value


def _tags(item: Mapping[str, Any], where: str) -> tuple[str, ...]:
    tags = _list(item, "tags", where)
    if not all(isinstance(tag, str) for tag in tags):
        raise bad_request(f"Invalid payload: {where}.tags must be an array of strings")
    return tuple(tags)


def _hosts(item: Mapping[str, Any], where: str) -> list[str]:
    hosts = []
    for index, resource in enumerate(_list(item, "resources", where)):
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
            raise bad_request(f"Invalid payload: {where}.resources[{index}] must be an object with a name")
        if resource.get("type") == "host":
            hosts.append(resource["name"])
    return hosts


def _interval(item: Mapping[str, Any], where: str) -> int | None:
    interval = item.get("interval")
    if interval is None:
        return None
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
        raise bad_request(f"Invalid payload: {where}.interval must be a whole number of seconds")
    return interval or None


def _optional_string(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"Invalid payload: {where}.{key} must be a string")
    return value
