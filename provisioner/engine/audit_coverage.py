"""Mesh coverage: for every service the team runs, which of the four signals a monitor watches.

Sidecar injection and config propagation are control-plane signals: they are watched mesh-wide
(istiod), so one missing monitor is one finding. Error rate and open circuits are watched per
service: a monitor scoped to a service covers it; one without a service filter (mesh-wide, or
one alert per service) covers them all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence

from provisioner.engine.audit_types import Coverage, Finding, FindingSeverity, ServiceCoverage, SignalCoverage
from provisioner.model import MESH_SIGNALS
from provisioner.signals import CONTROL_PLANE_SIGNALS, Watch

Watches = Mapping[int | str, Watch]  # monitor id -> what it watches
_WILDCARD = re.compile(r"[*?\[]")


def mesh_coverage(watches: Watches, services: Sequence[str]) -> Coverage:
    index = _CandidateIndex(watches)
    per_service = tuple(_service_coverage(watches, index, s) for s in services)
    mesh = tuple(
        SignalCoverage(signal, tuple(i for i, w in watches.items() if signal in w.signals and w.mesh_wide))
        for signal in MESH_SIGNALS
    )
    return Coverage(per_service, mesh, _findings(watches, per_service))


class _CandidateIndex:
    """Which monitors may cover a service: those naming it exactly, plus mesh-wide and wildcard ones.
    ``Watch.covers`` still decides; the index only spares asking every monitor about every service."""

    def __init__(self, watches: Watches) -> None:
        self.order = {i: n for n, i in enumerate(watches)}
        self.broad: list[int | str] = []
        self.by_name: dict[str, list[int | str]] = defaultdict(list)
        for datadog_id, watch in watches.items():
            exact = [s for s in watch.services if not _WILDCARD.search(s)]
            if watch.mesh_wide or len(exact) < len(watch.services):
                self.broad.append(datadog_id)
            for name in exact:
                self.by_name[name].append(datadog_id)

    def candidates(self, service: str) -> list[int | str]:
        return sorted({*self.broad, *self.by_name.get(service, ())}, key=self.order.__getitem__)


def _service_coverage(watches: Watches, index: _CandidateIndex, service: str) -> ServiceCoverage:
    candidates = index.candidates(service)
    return ServiceCoverage(
        service,
        tuple(
            SignalCoverage(signal, tuple(i for i in candidates if watches[i].covers(signal, service)))
            for signal in MESH_SIGNALS
        ),
    )


def _findings(watches: Watches, per_service: Sequence[ServiceCoverage]) -> tuple[Finding, ...]:
    findings = [
        _unwatched_control_plane(s)
        for s in MESH_SIGNALS
        if s in CONTROL_PLANE_SIGNALS and not _any(watches, s)
    ]
    for coverage in per_service:
        missing = [s for s in coverage.missing if s not in CONTROL_PLANE_SIGNALS]
        if missing:
            findings.append(_unwatched_service(coverage.service, missing))
    if not per_service:
        findings += [
            _unwatched_mesh(s)
            for s in MESH_SIGNALS
            if s not in CONTROL_PLANE_SIGNALS and not _any(watches, s)
        ]
    return tuple(findings)


def _any(watches: Watches, signal: str) -> bool:
    return any(signal in w.signals for w in watches.values())


def _unwatched_control_plane(signal: str) -> Finding:
    return Finding(
        "signal-unwatched",
        FindingSeverity.WARNING,
        f"no monitor watches {signal} (a control-plane signal) anywhere in the mesh",
        f"add a `kind: {signal}` definition (one mesh-wide monitor covers every service)",
    )


def _unwatched_service(service: str, signals: Sequence[str]) -> Finding:
    listed = ", ".join(signals)
    return Finding(
        "service-unwatched",
        FindingSeverity.WARNING,
        f"service {service}: no monitor watches {listed}",
        f"add {service} to the `services` of a {' / '.join(f'`kind: {s}`' for s in signals)} definition",
    )


def _unwatched_mesh(signal: str) -> Finding:
    return Finding(
        "signal-unwatched",
        FindingSeverity.WARNING,
        f"no monitor watches {signal} for any service",
        f"add a `kind: {signal}` definition, and list the mesh services in provisioner.yaml `services`",
    )
