"""The emulator evaluates metric monitors (``metric alert``, ``query alert``) and composites from the
submitted points, as datadog-monitor-evaluation.md describes. Sections below are that reference's.

Modules: ``query`` (a query over one window, group by group), ``thresholds`` (statuses and recovery),
``monitor`` (one evaluation of a metric monitor: no data, delays, full windows), ``composite``, ``book``
(group states, overall state, the evaluation history), ``scheduler`` (when evaluations run).

Documented rules applied
------------------------
- Order (2.6): sources matching the scope -> time aggregation per source -> space aggregation -> functions
  and arithmetic. A source lacking a group-by tag is not seen (3.5).
- ``as_count()`` / ``as_rate()`` (2.2) change COUNT and RATE metrics only; gauges are unaffected. They
  disable interpolation, and a bucket without points is 0 ("always aligned as 0", 2.4).
- Gauges are interpolated linearly up to 5 minutes when several sources meet in one group, never for a
  single source; counts and rates are not (2.4). ``fill(null|zero|last|linear[, limit])`` (limit default
  300 s) replaces that per source.
- Evaluation paths (2.6): without ``as_count()``, arithmetic per bucket then the monitor's aggregation
  (``classic``); with arithmetic and at least one ``as_count()`` operand, each operand aggregated over the
  window first, then the arithmetic (``as_count``; the current page's reading, so ``+`` and ``*`` too).
  A division by zero, or a bucket missing an operand, is rejected (left out of the aggregation).
- Time aggregators (3.1): ``avg`` averages, ``max`` alerts if any value crosses, ``min`` if all do, ``sum``
  sums the values; comparators ``> >= < <= == !=``.
- Windows (3.1, 3.2): ``last_N`` in minutes, hours, days or weeks; evaluated every minute below 24 h, every
  10 minutes up to 48 h, every 30 minutes beyond, at minute boundaries of the emulator's clock.
  ``evaluation_delay`` moves the window back by that many seconds.
- ``require_full_window`` (3.2; off unless sent, as V1 says and the server inserts nothing): buckets of
  1 min (windows in minutes), 10 min (hours), 1 h (days, weeks); the window is full when its first bucket
  has a point and at most three buckets are empty, otherwise the evaluation is skipped.
- A skipped evaluation leaves the status unchanged (3.3).
- Recovery thresholds (3.3): a group in Alert with ``critical_recovery`` stays in Alert until the value is
  ``<=`` it (for ``>``), ``<`` (``>=``), ``>=`` (``<``), ``>`` (``<=``); ``warning_recovery`` likewise for
  Warn. Without one, a group recovers as soon as its condition is not met.
- ``timeout_h`` (3.3) resolves a triggered group once it has had no data that long.
- Missing data (3.4): ``on_missing_data`` uses the window itself: ``show_no_data`` and
  ``show_and_notify_no_data`` give No Data, ``resolve`` OK, ``default`` evaluates count queries (below) as
  0 and keeps the last status of others. "An empty monitor evaluation is treated as 0" (V1
  ``OnMissingDataOption``) holds from the first evaluation: a simple count monitor with ``default`` that
  never had data is OK (0 against its thresholds), not No Data. Without it, ``notify_no_data`` gives No Data once the group has
  had no point for ``no_data_timeframe`` minutes (default twice the window); otherwise the last status is
  kept. Only a group that had data can go to No Data. A group without data for 24 h (48 h when grouped by
  host) leaves the monitor.
- ``new_group_delay`` (3.2): a multi-alert group's evaluations are skipped for that long after it first
  appears (default 60 s).
- Composites (4): ``&&`` takes the least severe status, ``||`` the most severe (Alert > Warn > No Data >
  OK); ``!No Data`` is No Data, ``!`` of Alert or Warn is OK, ``!OK`` is Alert. A result of No Data
  becomes the composite group's last known status unless the composite has ``notify_no_data``. Only groups
  reporting in every multi-alert monitor are evaluated, matched on tag values alone; a monitor grouped by a
  subset of the keys (``{host}`` with ``{device,host}``) matches on those.
- Reads (3.3, 3.5): a new monitor is "No Data" with ``overall_state_modified`` null; the group timestamps
  are epoch seconds, null when the transition never happened.

Choices where the reference says "unverified" (each has a test)
---------------------------------------------------------------
- Buckets inside the window: the ``require_full_window`` sizes (1 min, 10 min, 1 h), counted from the
  window's start (so a ``last_5m`` window has 5); ``.rollup(method, N)`` sets N-second buckets. Where the
  window end is a multiple of the bucket size this equals Datadog's rollups aligned to Unix time.
- The rollup inside a bucket, per source, is the monitor's own time aggregator (``max`` keeps the largest
  point, ``sum`` adds, ``min``, ``avg``, ``last``), unless ``.rollup(method)`` says otherwise or
  ``as_count()``/``as_rate()`` applies. This keeps the documented meanings exactly: ``max(last_5m)`` alerts
  when any single point crosses; ``sum`` sums point values.
- ``as_count()`` of a RATE multiplies each value by the metric's submitted interval (1 s when none);
  ``as_rate()`` of a COUNT divides each bucket's sum by the bucket's length; ``as_rate()`` of a RATE gives
  the bucket's sum of value x interval over its length. With one point per bucket these give the
  reference's examples.
- Functions "apply after time and space aggregation", per point: on the classic path each function applies
  to every bucket value; on the as_count path ("as_count() monitors aggregate each query over the window
  before the arithmetic; functions apply per point", the reading of issue 9) each function applies to every
  bucket of its operand, and the operand is then aggregated over the window before the arithmetic. So
  ``clamp_min(requests.as_count(), 100)`` over a 5-bucket window is the sum of max(bucket, 100), at least
  500: as a minimum-traffic guard it damps the ratio (25 errors in 250 requests spread over 5 minutes read
  25/500). ``default_zero`` gives 0 for an empty bucket, for an operand with no point in the window, and for
  a group that has a source in the store (any time within retention) but no point in the window.
- Arithmetic between grouped operands: grouped by the same keys, groups pair by their tags; a group missing
  on one side has no result, unless that side is an ``as_count()``/``as_rate()`` count or rate, which counts
  it as 0 (so ``errors / hits`` is 0 for a service without errors). One operand grouped by a subset of the
  other's keys (or not grouped at all) applies to every group of the finer one with the same values.
  Operands grouped by unrelated keys are not evaluated.
- ``last`` as a time aggregator: the last bucket of the window that has a value (accepted by the emulator's
  query parser).
- Warn and Alert: when both thresholds are crossed the status is Alert. Leaving Alert, a group with a
  ``warning_recovery`` stays in Warn until that recovery is met.
- ``overall_state`` is the most severe group status (OK < No Data < Warn < Alert), "No Data" when no group
  has one. ``overall_state_modified`` is the evaluation at which it last changed (the first evaluation sets
  it). A multi alert's ``state.groups`` also lists ``*``, whose status is the overall state and whose
  timestamps are the latest of its groups.
- ``on_missing_data: default`` counts a query as a count query when its time aggregator is ``sum`` or every
  metric in it is ``.as_count()``, and it has no ``default_zero``.
- ``new_group_delay`` when nonzero; otherwise a monitor grouped by ``host`` waits ``new_host_delay`` (300 s,
  inserted by the server), others 60 s (0 when ``new_group_delay`` is 0).
- Composites with a simple-alert monitor: its status applies to every group. The composite's groups are
  named after its most finely grouped monitor's.
- Timestamps: ``last_triggered_ts`` on each move into Alert or Warn; ``last_resolved_ts`` on a move to OK
  from Alert, Warn or No Data; ``last_nodata_ts`` on a move to No Data; ``last_notified_ts`` on the moves
  that notify (into Alert or Warn, their recovery, and No Data only when the monitor notifies on it).

Not evaluated (listed by ``GET /_emulator/unevaluated`` with the reason; they keep "No Data")
--------------------------------------------------------------------------------------------
Monitor types other than metric, query and composite alerts; ``change()``/``pct_change()``; ``current_*``
windows; ``formula(...)`` queries; functions other than ``abs``, ``clamp_min``, ``clamp_max``,
``cutoff_min``, ``cutoff_max`` and ``default_zero`` (``anomalies``, ``forecast``, ``top``, ...);
``.weighted()``; template variables (``$cluster``); the space aggregators of distributions (``p95:``,
``count:``; ``GET /api/v1/query`` computes them, see ``query.py``); arithmetic between operands grouped by
unrelated tags;
composites that combine a monitor which is not evaluated.
"""
