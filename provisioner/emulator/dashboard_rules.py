"""How the real API treats a dashboard body (datadog-api-facts.md, section f).

The body is echoed verbatim, plus server fields: the ``url`` slug, integer widget ids (kept when sent,
fresh when not, nested group widgets included), author and timestamps, and ``null`` defaults. A tab's
``"@N"`` widget reference becomes the id of the N-th top-level widget (1-based), on POST and PUT.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from provisioner.emulator.clock import iso_timestamp
from provisioner.emulator.http_types import bad_request
from provisioner.emulator.identity import OrgIdentity

Record = dict[str, Any]
READ_ONLY_FIELDS = frozenset({"id", "url", "author_handle", "author_name", "created_at", "modified_at"})
NULL_WHEN_ABSENT = ("description", "template_variables", "notify_list")
LAYOUT_TYPES = frozenset({"ordered", "free"})
SLUG_LENGTH = 80
_NOT_SLUG = re.compile(r"[^a-z0-9-]")
_POSITION = re.compile(r"@([1-9][0-9]*)")


def dashboard_url(dashboard_id: str, title: str) -> str:
    """Lowercased, spaces to ``-``, every other non-alphanumeric removed, cut at 80 characters."""
    slug = _NOT_SLUG.sub("", title.lower().replace(" ", "-"))[:SLUG_LENGTH]
    return f"/dashboard/{dashboard_id}/{slug}"


def check_dashboard(body: Mapping[str, Any]) -> None:
    """The validations the recordings show, plus the spec's required fields."""
    if not isinstance(body.get("title"), str):
        raise _invalid("title")
    if body.get("layout_type") not in LAYOUT_TYPES:
        raise _invalid("layout_type")
    if not isinstance(body.get("widgets"), list):
        raise _invalid("widgets")
    _check_tags(body.get("tags"))
    _check_template_variables(body.get("template_variables"))
    _check_presets(body.get("template_variable_presets"))


def _invalid(name: str) -> Exception:
    return bad_request(f"The value provided for parameter '{name}' is invalid")


def _check_tags(tags: Any) -> None:
    if tags is None:
        return
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise _invalid("tags")
    if any(not tag.startswith("team:") for tag in tags):
        raise bad_request("Invalid tag format. Valid tag keys are: team.")


def _check_template_variables(variables: Any) -> None:
    for variable in variables or []:
        if not isinstance(variable, dict) or "name" not in variable:
            raise bad_request("'template_variables' is invalid")
        if variable.get("default") is not None and variable.get("defaults") is not None:
            raise bad_request("'template_variables' is invalid")
        if any(default == "" for default in variable.get("defaults") or []):
            raise bad_request("Minimum length of parameter 'defaults' should be 1")


def _check_presets(presets: Any) -> None:
    for preset in presets or []:
        for value in (preset or {}).get("template_variables") or []:
            if not isinstance(value, dict):
                continue
            if value.get("values") == []:
                raise bad_request("Minimum number of elements in parameter 'values' should be 1")
            if "value" in value and "values" in value:
                # The recorded message quotes the offending object in Python's repr form.
                raise bad_request(f"'template_variables' value '{value!r}' is invalid")


def with_resolved_tabs(tabs: Any, widgets: list[Any]) -> Any:
    """``widget_ids: ["@1", "@2"]`` -> the ids of the first and second widgets; integers are kept."""
    if tabs is None:
        return None
    if not isinstance(tabs, list) or not all(isinstance(tab, dict) for tab in tabs):
        raise _invalid("tabs")
    return [{**tab, "widget_ids": _resolved_widget_ids(tab.get("widget_ids"), widgets)} for tab in tabs]


def _resolved_widget_ids(references: Any, widgets: list[Any]) -> list[int]:
    if not isinstance(references, list):
        raise _invalid("tabs")
    resolved: list[int] = []
    for reference in references:
        if isinstance(reference, int) and not isinstance(reference, bool):
            resolved.append(reference)
            continue
        position = _POSITION.fullmatch(reference) if isinstance(reference, str) else None
        if position is None or int(position.group(1)) > len(widgets):
            raise _invalid("tabs")  # chosen: an unknown position or shape is refused (not recorded)
        resolved.append(widgets[int(position.group(1)) - 1]["id"])
    return resolved


def with_widget_ids(widgets: list[Any], new_id: Callable[[], int]) -> list[Any]:
    """Sent ids are kept; missing ones are drawn fresh, inside group widgets too."""
    result: list[Any] = []
    for widget in widgets:
        if not isinstance(widget, dict):
            raise _invalid("widgets")
        copy = dict(widget)
        if isinstance(copy.get("id"), bool) or not isinstance(copy.get("id"), int):
            copy["id"] = new_id()
        definition = copy.get("definition")
        if isinstance(definition, dict) and isinstance(definition.get("widgets"), list):
            copy["definition"] = {**definition, "widgets": with_widget_ids(definition["widgets"], new_id)}
        result.append(copy)
    return result


def dashboard_record(
    body: Mapping[str, Any],
    dashboard_id: str,
    identity: OrgIdentity,
    created_at: str,
    now: datetime,
    new_widget_id: Callable[[], int],
) -> Record:
    """The stored dashboard for a create (``created_at`` == now) or a full-replacement update."""
    record = {key: value for key, value in body.items() if key not in READ_ONLY_FIELDS}
    for name in NULL_WHEN_ABSENT:
        record.setdefault(name, None)
    record.setdefault("restricted_roles", [])
    widgets = with_widget_ids(body["widgets"], new_widget_id)
    record.update(
        id=dashboard_id,
        url=dashboard_url(dashboard_id, body["title"]),
        author_handle=identity.user_handle,
        author_name=identity.user_name,
        created_at=created_at,
        modified_at=iso_timestamp(now),
        widgets=widgets,
    )
    if "tabs" in body:
        record["tabs"] = with_resolved_tabs(body["tabs"], widgets)
    return record


def summary_view(record: Record) -> Record:
    """A list item: no widgets (``is_read_only`` is absent from recordings since 2025-06)."""
    return {
        "id": record["id"],
        "title": record["title"],
        "description": record["description"],
        "layout_type": record["layout_type"],
        "url": record["url"],
        "created_at": record["created_at"],
        "modified_at": record["modified_at"],
        "author_handle": record["author_handle"],
        "deleted_at": None,
    }
