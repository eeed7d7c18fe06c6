"""Keep dashboard widget ids across updates, so that links to a widget survive an apply.

Datadog assigns a fresh id to every widget sent without one, on POST and on PUT. Before an
update, each desired widget takes the id of the live widget it corresponds to: same widget type
and title, in order of appearance, recursively inside group widgets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from provisioner.model import Json, JsonObject


def with_live_widget_ids(desired: JsonObject, live: JsonObject | None) -> dict[str, Json]:
    out = dict(desired)
    if live and isinstance(desired.get("widgets"), list) and isinstance(live.get("widgets"), list):
        out["widgets"] = _restore(desired["widgets"], live["widgets"])
    return out


def _restore(desired: Sequence[Json], live: Sequence[Json]) -> list[Json]:
    pool: dict[tuple[str, str], list[JsonObject]] = defaultdict(list)
    for widget in live:
        if isinstance(widget, Mapping):
            pool[_key(widget)].append(widget)
    restored: list[Json] = []
    for widget in desired:
        if not isinstance(widget, Mapping):
            restored.append(widget)
            continue
        candidates = pool.get(_key(widget))
        match = candidates.pop(0) if candidates else None
        restored.append(_restore_one(widget, match))
    return restored


def _restore_one(widget: JsonObject, match: JsonObject | None) -> dict[str, Json]:
    out = dict(widget)
    if match is None:
        return out
    if "id" not in out and "id" in match:
        out["id"] = match["id"]
    definition, live_definition = out.get("definition"), match.get("definition")
    if isinstance(definition, Mapping) and isinstance(live_definition, Mapping):
        if isinstance(definition.get("widgets"), list) and isinstance(live_definition.get("widgets"), list):
            out["definition"] = {
                **definition,
                "widgets": _restore(definition["widgets"], live_definition["widgets"]),
            }
    return out


def _key(widget: JsonObject) -> tuple[str, str]:
    definition = widget.get("definition")
    if not isinstance(definition, Mapping):
        return ("", "")
    return (str(definition.get("type", "")), str(definition.get("title", "")))
