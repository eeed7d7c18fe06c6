"""The one place that knows Datadog's server-side defaults and value rewrites.

Desired bodies (compiled from YAML) and live bodies (returned by the API) both pass through
``canonical_monitor`` / ``canonical_dashboard`` before they are compared, so that a default the
server fills in, a threshold turned into a float, a trimmed trailing newline or a reclassified
type never shows up as a change. Every function here is pure and returns new values.

Facts are from ../shared/reference/datadog-api-facts.md and lessons-from-existing-tools.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.model import Json, JsonObject

# --- monitors -------------------------------------------------------------------------------

# Top-level fields that define a monitor and are compared.
MONITOR_FIELDS: tuple[str, ...] = (
    "name",
    "type",
    "query",
    "message",
    "tags",
    "priority",
    "options",
    "restricted_roles",
)

# Fields the server sets or owns; never compared.
MONITOR_SERVER_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "org_id",
        "created",
        "created_at",
        "modified",
        "creator",
        "deleted",
        "overall_state",
        "overall_state_modified",
        "multi",
        "matching_downtimes",
        "classification",
        "restricted",
        "run_as",
        "assets",
        "state",
        "restriction_policy",
        "draft_status",
    }
)

# Option values the server inserts when they are not sent, or that mean the same as "absent".
MONITOR_OPTION_DEFAULTS: Mapping[str, tuple[Json, ...]] = {
    "notify_no_data": (False,),
    "notify_audit": (False,),
    "include_tags": (True,),
    "new_host_delay": (300,),
    "groupby_simple_monitor": (False,),
    "require_full_window": (False,),
    "timeout_h": (0, None),
    "renotify_interval": (0, None),
    "renotify_occurrences": (None,),
    "renotify_statuses": (None, ()),
    "escalation_message": ("", None),
    "evaluation_delay": (None,),
    "no_data_timeframe": (None,),
    "new_group_delay": (None,),
    "group_retention_duration": (None,),
    "notification_preset_name": (None,),
    "notify_by": (None, ()),
    "variables": (None, ()),
    "on_missing_data": ("default", None),
    "enable_logs_sample": (None,),
    "enable_samples": (None,),
    "min_failure_duration": (None,),
    "min_location_failed": (None,),
    "threshold_windows": (None,),
    "scheduling_options": (None,),
}

# Options owned by other workflows (mutes, downtimes) or deprecated: never compared.
MONITOR_IGNORED_OPTIONS: frozenset[str] = frozenset({"silenced", "locked"})

# Options the server adds on its own now and then; compared only when the definition sets them.
MONITOR_SERVER_ADDED_OPTIONS: frozenset[str] = frozenset({"avalanche_window"})

# Options that hold numbers but may arrive as strings (renotify_interval: "0" in shipped JSON).
_NUMERIC_OPTIONS: frozenset[str] = frozenset(
    {
        "new_host_delay",
        "new_group_delay",
        "timeout_h",
        "renotify_interval",
        "renotify_occurrences",
        "evaluation_delay",
        "no_data_timeframe",
        "group_retention_duration",
        "avalanche_window",
        "min_failure_duration",
        "min_location_failed",
    }
)

_TEXT_OPTIONS: frozenset[str] = frozenset({"escalation_message"})

# "metric alert" and "query alert" are interchangeable: the API reclassifies one as the other.
_TYPE_ALIASES: Mapping[str, str] = {"query alert": "metric alert"}


@dataclass(frozen=True)
class Canonical:
    """A body in canonical form, plus the fields that were left out because they are unknown."""

    body: dict[str, Json]
    unknown_fields: tuple[str, ...] = ()


_KNOWN_MONITOR_FIELDS: frozenset[str] = MONITOR_SERVER_FIELDS.union(MONITOR_FIELDS)


def canonical_monitor(body: JsonObject) -> Canonical:
    unknown = tuple(sorted(k for k in body if k not in _KNOWN_MONITOR_FIELDS))
    out: dict[str, Json] = {}
    for key in MONITOR_FIELDS:
        value = _canonical_monitor_field(key, body.get(key))
        if value is not _ABSENT:
            out[key] = value
    return Canonical(out, unknown)


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _canonical_monitor_field(key: str, value: Json) -> Json:
    if value is None:
        return _ABSENT
    if key in ("name", "query", "message"):
        text = str(value).strip()
        return text if text or key != "message" else _ABSENT
    if key == "type":
        return _TYPE_ALIASES.get(value, value)
    if key == "tags":
        return sorted(set(value)) or _ABSENT
    if key == "priority":
        return int(value) or _ABSENT  # the API stores priority 0 as null
    if key == "restricted_roles":
        return sorted(value) or _ABSENT
    if key == "options":
        options = canonical_monitor_options(value)
        return options or _ABSENT
    return value


def canonical_monitor_options(options: JsonObject) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for key, value in options.items():
        if key in MONITOR_IGNORED_OPTIONS:
            continue
        value = _canonical_option_value(key, value)
        if value is _ABSENT or _is_default(key, value):
            continue
        out[key] = value
    if not out.get("notify_no_data"):
        out.pop("no_data_timeframe", None)  # meaningless without no-data notifications
    return dict(sorted(out.items()))


def _canonical_option_value(key: str, value: Json) -> Json:
    if key == "thresholds" or key == "threshold_windows":
        return _canonical_thresholds(value) if isinstance(value, Mapping) else value
    if key in _NUMERIC_OPTIONS and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if key in _TEXT_OPTIONS and isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return list(value)
    return value


def _canonical_thresholds(thresholds: JsonObject) -> Json:
    out = {k: _number(v) for k, v in thresholds.items() if v is not None}
    return dict(sorted(out.items())) if out else _ABSENT


def _number(value: Json) -> Json:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _is_default(key: str, value: Json) -> bool:
    defaults = MONITOR_OPTION_DEFAULTS.get(key)
    if defaults is None:
        return False
    comparable = tuple(value) if isinstance(value, list) else value
    for default in defaults:  # a loop, not any(): plans call this for every option of every monitor
        if _same_value(comparable, default):
            return True
    return False


def _same_value(a: Json, b: Json) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def without_server_added(desired: JsonObject, live: JsonObject) -> dict[str, Json]:
    """The live canonical body minus options the server adds on its own and the definition left unset."""
    live_options = live.get("options")
    if not isinstance(live_options, Mapping):
        return dict(live)
    desired_options = desired.get("options") or {}
    kept = {
        k: v for k, v in live_options.items() if k not in MONITOR_SERVER_ADDED_OPTIONS or k in desired_options
    }
    out = dict(live)
    if kept:
        out["options"] = kept
    else:
        out.pop("options")
    return out


# --- dashboards -----------------------------------------------------------------------------

DASHBOARD_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "layout_type",
    "reflow_type",
    "widgets",
    "template_variables",
    "template_variable_presets",
    "notify_list",
    "tags",
    "restricted_roles",
)

DASHBOARD_SERVER_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "url",
        "author_handle",
        "author_name",
        "created_at",
        "modified_at",
        "deleted_at",
        "is_read_only",
        "experience_type",
    }
)

_KNOWN_DASHBOARD_FIELDS: frozenset[str] = DASHBOARD_SERVER_FIELDS.union(DASHBOARD_FIELDS)

_DASHBOARD_EMPTY_MEANS_ABSENT: frozenset[str] = frozenset(
    {
        "description",
        "template_variables",
        "template_variable_presets",
        "notify_list",
        "tags",
        "restricted_roles",
    }
)


def canonical_dashboard(body: JsonObject) -> Canonical:
    unknown = tuple(sorted(k for k in body if k not in _KNOWN_DASHBOARD_FIELDS))
    out: dict[str, Json] = {}
    for key in DASHBOARD_FIELDS:
        value = body.get(key)
        if key == "description" and isinstance(value, str):
            value = value.strip()
        if key == "widgets" and value is not None:
            value = [canonical_widget(w) for w in value]
        if key in ("tags", "notify_list", "restricted_roles") and value:
            value = sorted(value)
        if value is None or (key in _DASHBOARD_EMPTY_MEANS_ABSENT and not value):
            continue
        out[key] = value
    return Canonical(out, unknown)


def canonical_widget(widget: JsonObject) -> dict[str, Json]:
    """A widget without its server-assigned id; nested group widgets too."""
    out = {k: v for k, v in widget.items() if k != "id"}
    definition = out.get("definition")
    if isinstance(definition, Mapping):
        out["definition"] = _canonical_widget_definition(definition)
    return out


def _canonical_widget_definition(definition: JsonObject) -> dict[str, Json]:
    out = dict(definition)
    if isinstance(out.get("widgets"), list):
        out["widgets"] = [canonical_widget(w) for w in out["widgets"]]
    if isinstance(out.get("requests"), list):
        out["requests"] = [_canonical_request(r) for r in out["requests"]]
    return out


def _canonical_request(request: Json) -> Json:
    # Datadog returns conditional formats in any order.
    if isinstance(request, Mapping) and isinstance(request.get("conditional_formats"), list):
        out = dict(request)
        out["conditional_formats"] = sorted(request["conditional_formats"], key=_stable_key)
        return out
    return request


def _stable_key(value: Json) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def unknown_fields(canonicals: Iterable[Canonical]) -> tuple[str, ...]:
    seen: set[str] = set()
    for canonical in canonicals:
        seen.update(canonical.unknown_fields)
    return tuple(sorted(seen))
