"""Hygiene checks on one live monitor: notification handles, mutes, stuck states, no-data
notifications on mesh signals, missing warning thresholds; and duplicates across monitors.

Every check is a pure function of the monitor body as Datadog returns it (see
shared/reference/datadog-api-facts.md: ``options.silenced``, ``matching_downtimes`` from list
pages, ``overall_state`` and ``overall_state_modified``, ``created``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from provisioner.changes import LiveResource
from provisioner.engine.audit_types import AuditSettings, Finding, FindingSeverity
from provisioner.identity import strip_marker
from provisioner.model import Json, JsonObject, SourceLocation
from provisioner.normalize import canonical_monitor
from provisioner.signals import Watch, monitor_queries, query_key

ERROR, WARNING, INFO = FindingSeverity.ERROR, FindingSeverity.WARNING, FindingSeverity.INFO

# A notification handle: @slack-x, @pagerduty-y, @team@example.com, @webhook-z. An e-mail address
# written in prose (ops@example.com) is not one: the @ must start a word.
_HANDLE_RE = re.compile(r"(?<![\w.@])@[A-Za-z0-9][\w.+\-@]*")
_NOTIFIES_ON_MISSING = frozenset({"show_and_notify_no_data"})


@dataclass(frozen=True)
class MonitorContext:
    body: JsonObject
    watch: Watch
    source: SourceLocation | None  # the definition's location, for managed monitors
    now: datetime
    settings: AuditSettings
    is_part: bool = False  # combined by a composite, which notifies for it

    @property
    def is_composite(self) -> bool:
        return self.body.get("type") == "composite"

    @property
    def options(self) -> Mapping[str, Json]:
        options = self.body.get("options")
        return options if isinstance(options, Mapping) else {}

    def where(self, field: str) -> str:
        """Where to make a fix: in the definition file when managed, else in Datadog."""
        if self.source is not None:
            return f"`{field}` in {self.source.path}:{self.source.line}"
        return f"`{field}` of the monitor in Datadog"


# --- notification handles -------------------------------------------------------------------


def has_handle(message: str) -> bool:
    return bool(_HANDLE_RE.search(strip_marker(message)))


def check_handle(ctx: MonitorContext) -> Finding | None:
    if ctx.is_part or has_handle(str(ctx.body.get("message") or "")):
        return None
    return Finding(
        "no-notification-handle",
        WARNING,
        "the message names no @handle: an alert notifies nobody",
        f"add a handle (@slack-…, @pagerduty-…) to {ctx.where('message')}",
    )


# --- mutes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mute:
    origin: str  # 'options.silenced {"*": …}' or "downtime 42"
    since: datetime
    until: datetime | None  # None: forever


def mutes(ctx: MonitorContext) -> tuple[Mute, ...]:
    return _silences(ctx.options.get("silenced"), ctx.now) + _downtimes(
        ctx.body.get("matching_downtimes"), ctx.now
    )


def _silences(silenced: Json, now: datetime) -> tuple[Mute, ...]:
    if not isinstance(silenced, Mapping):
        return ()
    found = []
    for scope, end in silenced.items():
        until = _epoch(end)
        if end is None or (until is not None and until > now):
            found.append(
                Mute(f'options.silenced {{"{scope}": {end if end is not None else "null"}}}', now, until)
            )
    return tuple(found)


def _downtimes(downtimes: Json, now: datetime) -> tuple[Mute, ...]:
    found = []
    for downtime in downtimes if isinstance(downtimes, list) else ():
        if not isinstance(downtime, Mapping):
            continue
        start, end = _epoch(downtime.get("start")) or now, _epoch(downtime.get("end"))
        running = downtime.get("active") is True or start <= now
        if running and (end is None or end > now):
            found.append(Mute(f"downtime {downtime.get('id')}", min(start, now), end))
    return tuple(found)


def check_mute(ctx: MonitorContext) -> Finding | None:
    found = mutes(ctx)
    forever = next((m for m in found if m.until is None), None)
    if forever is not None:
        return Finding(
            "muted-forever",
            ERROR,
            f"muted with no end ({forever.origin}): it never notifies",
            "unmute it in Datadog, or replace the mute with a downtime that ends",
        )
    too_long = [m for m in found if m.until is not None and m.until - m.since > ctx.settings.mute_limit]
    if not too_long:
        return None
    longest = max(too_long, key=lambda m: m.until or m.since)
    assert longest.until is not None
    return Finding(
        "muted-too-long",
        WARNING,
        f"muted until {_day(longest.until)} ({longest.origin}), longer than {_span(ctx.settings.mute_limit)}",
        "shorten the mute or downtime, or delete the monitor if nobody needs it",
    )


# --- stuck states ---------------------------------------------------------------------------


def stuck_since(body: JsonObject) -> datetime | None:
    """Since when the monitor is in Alert or No Data (None: it is in neither)."""
    state = body.get("overall_state")
    if state not in ("Alert", "No Data"):
        return None
    changed = _timestamp(body.get("overall_state_modified"))
    if changed is None and state == "No Data":
        changed = _timestamp(body.get("created"))  # never had data since it was created
    return changed


def check_stuck(ctx: MonitorContext) -> Finding | None:
    since = stuck_since(ctx.body)
    if since is None or ctx.now - since <= ctx.settings.stuck_limit:
        return None
    if ctx.body.get("overall_state") == "No Data" and no_data_is_normal(ctx):
        return None
    state = str(ctx.body.get("overall_state"))
    fix = (
        "fix the cause, or raise the threshold if this alert is noise"
        if state == "Alert"
        else "check that the query's metrics are still reported (a renamed metric or a removed integration)"
    )
    code = "stuck-in-alert" if state == "Alert" else "stuck-in-no-data"
    return Finding(code, WARNING, f"in {state} since {_day(since)} ({_span(ctx.now - since)})", fix)


# --- no-data notification on mesh signals --------------------------------------------------


def notifies_on_missing_data(options: Mapping[str, Json]) -> bool:
    return options.get("notify_no_data") is True or options.get("on_missing_data") in _NOTIFIES_ON_MISSING


def no_data_is_normal(ctx: MonitorContext) -> bool:
    """Whether "No Data" is what a healthy mesh shows: counts of events that never happened (their series
    appear with the first one), an error ratio without errors (``on_missing_data: resolve``), a composite
    and its parts (the parts' policy decides). Whether the metrics report at all is not this rule's job."""
    policy = ctx.options.get("on_missing_data")
    if ctx.is_part or ctx.is_composite or policy == "resolve":
        return True
    return (
        ctx.watch.events_only
        and policy in (None, "default")
        and ctx.options.get("notify_no_data") is not True
    )


def check_no_data(ctx: MonitorContext) -> Finding | None:
    """A mesh monitor whose series report whenever collection works should say when they stop. Fine
    without: parts and composites (the parts' policy decides), counts of events (their series only
    exist after an event; ``on_missing_data: default`` counts a window without data as 0), and an
    explicit ``on_missing_data: resolve`` (no data means OK, chosen)."""
    if not ctx.watch.signals or notifies_on_missing_data(ctx.options) or no_data_is_normal(ctx):
        return None
    signals = ", ".join(sorted(ctx.watch.signals))
    return Finding(
        "no-data-notification-off",
        INFO,
        f"watches a mesh signal ({signals}) but does not notify when its data stops",
        f"set on_missing_data: show_and_notify_no_data in {ctx.where('options')}",
    )


# --- warning thresholds ---------------------------------------------------------------------


def check_warning_threshold(ctx: MonitorContext) -> Finding | None:
    if ctx.is_part:
        return None
    thresholds = ctx.options.get("thresholds")
    if not isinstance(thresholds, Mapping) or thresholds.get("critical") is None:
        return None
    if thresholds.get("warning") is not None:
        return None
    return Finding(
        "no-warning-threshold",
        INFO,
        "has a critical threshold but no warning level",
        f"add a warning threshold before critical in {ctx.where('thresholds')}",
    )


CHECKS: tuple[Callable[[MonitorContext], Finding | None], ...] = (
    check_handle,
    check_mute,
    check_stuck,
    check_no_data,
    check_warning_threshold,
)


def monitor_findings(ctx: MonitorContext) -> tuple[Finding, ...]:
    return tuple(f for check in CHECKS if (f := check(ctx)) is not None)


# --- duplicates -----------------------------------------------------------------------------


def duplicate_key(body: JsonObject) -> tuple[str, ...]:
    """Type (metric alert ≡ query alert, as normalize.py decides) and normalised query texts."""
    monitor_type = str(canonical_monitor({"type": body.get("type")}).body.get("type"))
    return (monitor_type, *(query_key(q) for q in monitor_queries(body)))


def duplicate_groups(monitors: Iterable[LiveResource]) -> dict[int | str, tuple[int | str, ...]]:
    """For each monitor that has duplicates: the ids of the others."""
    groups: dict[tuple[str, ...], list[int | str]] = defaultdict(list)
    for monitor in monitors:
        groups[duplicate_key(monitor.body)].append(monitor.datadog_id)
    return {i: tuple(o for o in ids if o != i) for ids in groups.values() if len(ids) > 1 for i in ids}


def duplicate_finding(others: Sequence[int | str]) -> Finding:
    listed = ", ".join(str(o) for o in others)
    return Finding(
        "duplicate",
        WARNING,
        f"same type and query as monitor {listed}",
        "keep one monitor (merge their notification handles into it) and delete the others",
    )


# --- time helpers ---------------------------------------------------------------------------


def _epoch(value: Json) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
    return datetime.fromtimestamp(seconds, UTC)


def _timestamp(value: Json) -> datetime | None:
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _epoch(value)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(delta: timedelta) -> str:
    if delta >= timedelta(days=2):
        return f"{delta.days} days"
    return f"{int(delta.total_seconds() // 3600)} hours"
