"""Semantic checks on a compiled Datadog monitor body, one function per coded rule.

They run on the body that will be sent, for every kind (mesh or raw), so each rule exists once. Pointers
in the findings are body pointers (``/options/thresholds/warning``); each kind maps them back to the
field the user wrote. Rules JSON Schema can state (option conflicts, options a monitor type does not take,
warning_recovery without warning) live in the shipped schemas instead, where editors show them too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from enum import Enum, auto
from functools import cache, lru_cache
from typing import Any

from provisioner.definitions.composite import CompositeQueryError, composite_monitors
from provisioner.definitions.findings import Finding
from provisioner.definitions.query import QueryCondition, format_number, group_by_tags, query_condition

Body = Mapping[str, Any]

_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_MATCH_HELPER = re.compile(r'^[#^]is_(?:exact_)?match\s+"([^"]+)"')
_HANDLE = re.compile(r"@(?<![\w@]@)[\w][\w.+\-@]*")  # "@" first: see query._METRIC_GROUP
_WHITESPACE = re.compile(r"\s")
# Template variables Datadog fills in for every monitor, grouped or not.
_GLOBAL_VARIABLES = frozenset(
    {
        "value", "threshold", "warn_threshold", "ok_threshold", "comparator", "priority", "check_message",
        "last_triggered_at", "last_triggered_at_epoch", "first_triggered_at", "first_triggered_at_epoch",
        "last_resolved_at", "last_resolved_at_epoch", "triggered_duration_sec", "alert_id", "monitor_id",
        "event", "log", "span", "rum", "trace", "synthetics", "else", "local_time",
    }
)  # fmt: skip


def check_monitor(body: Body, notifies: bool = True) -> list[Finding]:
    """Every finding of the rules the body's type takes; with ``notifies`` False (a composite's part: the
    composite carries the handles), all but the notification handle's."""
    facts = Facts(body)
    rules = COMPOSITE_RULES if body.get("type") == "composite" else NON_COMPOSITE_RULES
    findings: list[Finding] = []
    for rule in rules:
        if notifies or rule is not notification_handle:
            findings += rule(facts)
    return findings


class Facts:
    """A monitor body and what several rules read from it (its query's condition and group-by tags), each
    worked out once, when a rule first asks (a composite compares no thresholds; most messages name no
    variable that only the groups can provide)."""

    __slots__ = ("get", "options", "thresholds", "_condition", "_groups")

    def __init__(self, body: Body) -> None:
        self.get = body.get
        self.options: Mapping[str, Any] = body.get("options") or {}
        self.thresholds: Mapping[str, Any] = self.options.get("thresholds") or {}
        self._condition: QueryCondition | None | _Unread = _UNREAD
        self._groups: frozenset[str] | None = None

    @property
    def condition(self) -> QueryCondition | None:
        if self._condition is _UNREAD:
            self._condition = query_condition(self._query())
        return self._condition

    @property
    def groups(self) -> frozenset[str]:
        if self._groups is None:
            self._groups = group_by_tags(self._query())
        return self._groups

    def _query(self) -> str:
        return str(self.get("query", ""))


class _Unread(Enum):
    UNREAD = auto()


_UNREAD = _Unread.UNREAD


def warning_above_critical(body: Facts) -> Sequence[Finding]:
    critical, warning = body.thresholds.get("critical"), body.thresholds.get("warning")
    if critical is None or warning is None:
        return ()
    condition = body.condition
    if condition is None or condition.alerts_above is None:
        return ()
    if condition.alerts_above and warning >= critical:
        message = _levels_message(warning, "below", critical, condition)
        return (Finding("/options/thresholds/warning", "warning-above-critical", message, _SWAP),)
    if not condition.alerts_above and warning <= critical:
        message = _levels_message(warning, "above", critical, condition)
        return (Finding("/options/thresholds/warning", "warning-below-critical", message, _SWAP),)
    return ()


def _levels_message(warning: float, side: str, critical: float, condition: QueryCondition) -> str:
    levels = f"{format_number(warning)} must be {side} critical {format_number(critical)}"
    return f"{levels} for '{condition.comparator}'"


_SWAP = "swap them or change the comparator"


def recovery_order(body: Facts) -> Sequence[Finding]:
    thresholds, findings = body.thresholds, []
    for level, recovery_key in _RECOVERY_KEYS:
        alert, recovery = thresholds.get(level), thresholds.get(recovery_key)
        if alert is None or recovery is None:
            continue
        condition = body.condition
        if condition is None or condition.alerts_above is None:
            return ()
        if (recovery >= alert) if condition.alerts_above else (recovery <= alert):
            side = "below" if condition.alerts_above else "above"
            message = (
                f"{format_number(recovery)} must be {side} {level} {format_number(alert)} "
                f"for '{condition.comparator}'"
            )
            hint = "a recovery threshold sits on the OK side of the level it recovers from"
            pointer = f"/options/thresholds/{recovery_key}"
            findings.append(Finding(pointer, "recovery-threshold-order", message, hint))
    return findings


_RECOVERY_KEYS = (("critical", "critical_recovery"), ("warning", "warning_recovery"))


def threshold_matches_query(body: Facts) -> Sequence[Finding]:
    critical = body.thresholds.get("critical")
    if critical is None:
        return ()
    condition = body.condition
    if condition is None or float(critical) == condition.threshold:
        return ()
    query_threshold = format_number(condition.threshold)
    message = f"critical {format_number(critical)} does not match the query's threshold {query_threshold}"
    hint = "Datadog rejects a critical threshold that differs from the one in the query: make them equal"
    return (Finding("/options/thresholds/critical", "threshold-mismatch", message, hint),)


def notify_by_groups(body: Facts) -> Sequence[Finding]:
    notify_by = body.options.get("notify_by")
    if not notify_by:
        return ()
    groups, findings = body.groups, []
    if "*" in notify_by and not groups:
        message = "notify_by ['*'] needs a grouped query (this one is a simple alert already)"
        findings.append(
            Finding("/options/notify_by", "notify-by-ungrouped", message, "remove notify_by", at_key=True)
        )
    for tag in notify_by:
        if tag != "*" and tag not in groups:
            message = f"notify_by '{tag}' is not a tag the query groups by"
            hint = f"the query groups by: {', '.join(sorted(groups))}" if groups else "group the query by it"
            finding = Finding("/options/notify_by", "notify-by-not-grouped", message, hint, at_key=True)
            findings.append(finding)
    return findings


@cache
def composite_part_variables(part_count: int) -> frozenset[str]:
    """What a composite's notification may read of the monitors it combines, labelled a, b, c… in the
    order its query names them (Datadog docs, monitors/notify/variables, "Composite monitor variables")."""
    return frozenset(
        f"{chr(ord('a') + n)}.{field}" for n in range(part_count) for field in ("value", "status")
    )


def template_variables(body: Facts, also_provided: frozenset[str] = frozenset()) -> Sequence[Finding]:
    """``also_provided``: variables filled by something other than the query's groups (a composite's
    part variables, when ``body`` stands in for the composite)."""
    fields = (("/name", body.get("name")), ("/message", body.get("message")),
              ("/options/escalation_message", body.options.get("escalation_message")))  # fmt: skip
    findings = []
    for pointer, text in fields:
        if not text or "{{" not in text:
            continue
        for variable in _template_variables(text):
            if variable in also_provided or _grouped(variable, body.groups):
                continue
            groups = body.groups
            findings.append(Finding(pointer, "unknown-template-variable", _template_message(variable, groups),
                                    _template_hint(variable, groups)))  # fmt: skip
    return findings


def _template_variables(text: str) -> list[str]:
    """The variables the text's ``{{...}}`` name, but those Datadog fills in for every monitor."""
    return [variable for content in _TEMPLATE.findall(text) if (variable := _named_variable(content))]


@lru_cache(maxsize=1024)
def _named_variable(content: str) -> str | None:
    """The variable a ``{{...}}`` names (None: a block's end, a comment, a partial, an expression, or a
    variable Datadog fills in for every monitor). The same few recur in every definition: read once each."""
    if not content:
        return None
    if content[0] in "#^":  # a block: only the match helpers name a variable
        helper = _MATCH_HELPER.match(content)
        variable = helper.group(1) if helper is not None else None
    elif content[0] not in "/!>" and _WHITESPACE.search(content) is None:
        variable = content
    else:
        return None
    return None if variable is None or variable.partition(".")[0] in _GLOBAL_VARIABLES else variable


def _grouped(variable: str, groups: frozenset[str]) -> bool:
    """Whether a group's tag provides the variable: the variable up to one of its dots is the tag
    (service.name, http.status_code.name)."""
    tag = variable
    while "." in tag:
        tag = tag.rpartition(".")[0]
        if tag in groups:
            return True
    return False


def _variable_tag(variable: str) -> str:
    return variable.rsplit(".", 1)[0] if "." in variable else variable


def _template_message(variable: str, groups: frozenset[str]) -> str:
    if variable in groups:
        return f"{{{{{variable}}}}} is not a Datadog template variable"
    grouped = f"groups by {', '.join(sorted(groups))}, not by" if groups else "is not grouped by"
    return (
        f"{{{{{variable}}}}} would be empty in notifications: the query {grouped} '{_variable_tag(variable)}'"
    )


def _template_hint(variable: str, groups: frozenset[str]) -> str:
    if variable in groups:
        return f"write {{{{{variable}.name}}}}"
    return f"group the query by {_variable_tag(variable)} (group_by), or use a ${{variable}} instead"


def notification_handle(body: Facts) -> Sequence[Finding]:
    if _HANDLE.search(str(body.get("message") or "")) is not None:
        return ()
    message = "the message has no notification handle: an alert would notify nobody"
    hint = "add a handle (@slack-..., @pagerduty-..., @team@example.com) or set notify: for the environment"
    return (Finding("/message", "no-notification-handle", message, hint, severity="warning"),)


def composite_query(body: Facts) -> Sequence[Finding]:
    try:
        composite_monitors(str(body.get("query") or ""))
    except CompositeQueryError as exc:
        hint = "combine monitors (@{definition id} or a Datadog id) with &&, || and !, e.g. @{a} && !(@{b} || 123)"
        return (Finding("/query", "composite-syntax", f"not a composite query: {exc}", hint),)
    return ()


Rule = Callable[[Facts], Sequence[Finding]]
# The rules each type takes, in the order their findings are reported: only a composite has a composite
# query; a composite has no groups of its own (notify_by, template variables: it notifies per group of its
# parts, which the compiler checks with a stand-in for it).
COMPOSITE_RULES: tuple[Rule, ...] = (
    composite_query,
    warning_above_critical,
    recovery_order,
    threshold_matches_query,
    notification_handle,
)
NON_COMPOSITE_RULES: tuple[Rule, ...] = (
    warning_above_critical,
    recovery_order,
    threshold_matches_query,
    notify_by_groups,
    template_variables,
    notification_handle,
)
