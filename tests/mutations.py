"""Hypothesis strategies that break a valid document the way a hand edit does: a value replaced by another
of any type, a key removed, an unknown key added."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2, allow_nan=False) | st.sampled_from(
        ["", "5%", "5m", "env:prod", "x", "rq_open", "query alert", "timeseries", "a", "prod", "Bad Id", "show_no_data",
         "Alert", "90s", "0+1x3", "mesh:x"]
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "critical", "type", "service", "query"]), children, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.extend(_paths(item, (*prefix, index)))
    return paths


@st.composite
def mutated(draw: st.DrawFn, valid: Any) -> Any:
    instance = copy.deepcopy(valid)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(instance)))
        if not path:
            continue
        parent = instance
        for token in path[:-1]:
            parent = parent[token]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    if draw(st.booleans()) and isinstance(instance, dict):
        instance[draw(st.sampled_from(["extra", "priority", "options", "thresholds", "layout"]))] = draw(
            json_values
        )
    return instance
