"""What the cluster and the Datadog Agent must have for a mesh metric to reach Datadog, as ready-to-apply
YAML snippets: the one place that knows the set-up (``provisioner mesh requirements`` prints it, and
``validate`` warns about monitors that need more than Datadog's documented Istio set-up).

Facts (``shared/reference/istio-metrics.md`` §1, §4, §6):

- the Istio check on **istiod** runs from the documented pod annotation
  ``ad.datadoghq.com/discovery.checks`` (``istiod_endpoint`` :15014, ``use_openmetrics``);
- the Istio check on the **proxies** runs from the Agent's shipped ``auto_conf.yaml`` (legacy); the
  openmetrics mode needs the documented custom ``istio.yaml`` instead;
- the **Envoy check** does not run on Istio's sidecars by default (its auto-configuration matches the
  ``envoy`` image, the sidecars run ``proxyv2``); Datadog's Envoy integration points it at the sidecar's
  Prometheus endpoint, ``openmetrics_endpoint`` on :15090. Outbound cluster stats are kept by the
  **calling** pod's sidecar;
- Istio's default ``proxyStatsMatcher`` keeps none of the per-cluster ``outlier_detection``,
  ``circuit_breakers`` or ``upstream_rq_pending_overflow`` stats: they must be included, mesh-wide
  (``meshConfig.defaultConfig.proxyStatsMatcher``) or per workload (the ``proxy.istio.io/config`` pod
  annotation);
- APM trace metrics need Envoy's Datadog tracer in the proxies (``global.proxy.tracer: datadog``), and
  an Agent that accepts traces from the sidecars on its host port (Datadog's Istio tracing page: "Uncomment
  the hostPort setting so that Istio sidecars can connect to the Agent"; the Agent chart's
  ``datadog.apm.portEnabled``, 8126);
- ``kube_cluster_name`` is an Agent tag only where the Agent knows the cluster's name: it detects it on
  GKE, AKS and EKS (Datadog's "Kubernetes Cluster Name Automatic Detection", Agent 6.11+), else the Agent
  chart's ``datadog.clusterName`` sets it. A query that filters or groups by it sees nothing without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import get_args

from provisioner.mesh.catalogue import CLUSTER_TAG, Collector, Metric, Mode
from provisioner.model import CollectionModes

ISTIO_CONTROL_PLANE = "istio-control-plane"
ISTIO_DATA_PLANE = "istio-data-plane"
ENVOY_CHECK = "envoy-check"
PROXY_STATS = "proxy-stats"
APM_TRACER = "apm-tracer"
CLUSTER_NAME = "cluster-name"
ORDER = (ISTIO_CONTROL_PLANE, ISTIO_DATA_PLANE, ENVOY_CHECK, PROXY_STATS, APM_TRACER, CLUSTER_NAME)
# The labels Datadog's Istio README suggests excluding from the data-plane instance (istio-metrics.md §3):
# each multiplies the request metrics' contexts, and no mesh signal reads them.
SUGGESTED_EXCLUDED_LABELS = (
    "source_version",
    "destination_version",
    "source_canonical_revision",
    "destination_canonical_revision",
    "source_principal",
    "destination_principal",
    "source_cluster",
    "destination_cluster",
    "source_canonical_service",
    "destination_canonical_service",
    "source_workload_namespace",
    "destination_workload_namespace",
    "request_protocol",
    "connection_security_policy",
)


@dataclass(frozen=True)
class Snippet:
    title: str  # where it goes, and how to apply it
    text: str  # ready-to-apply YAML


@dataclass(frozen=True)
class Requirement:
    """One piece of set-up, and the monitors that need it."""

    key: str  # one of ORDER
    title: str
    collector: str  # a Collector value, or "agent" for a setting of the Datadog Agent itself
    mode: Mode | None  # the mode it sets up (None: no modes, APM)
    opt_in: bool  # beyond Datadog's documented Istio set-up: validate warns about monitors needing it
    why: str
    snippets: tuple[Snippet, ...]
    monitors: tuple[str, ...] = ()  # definition ids
    declared: bool = False  # listed in provisioner.yaml's ``istio: {set_up: [...]}``: validate is quiet


def requirement_keys(metric: Metric) -> tuple[str, ...]:
    """The set-up a metric needs to report."""
    if metric.collector is Collector.CONTROL_PLANE:
        return (ISTIO_CONTROL_PLANE,)
    if metric.collector is Collector.DATA_PLANE:
        return (ISTIO_DATA_PLANE,)
    if metric.collector is Collector.ENVOY:
        return (ENVOY_CHECK, PROXY_STATS) if metric.stats else (ENVOY_CHECK,)
    return (APM_TRACER,)


def requirements(
    uses: Mapping[str, Iterable[Metric]],
    modes: CollectionModes,
    tag_keys: Mapping[str, Iterable[str]] | None = None,
) -> tuple[Requirement, ...]:
    """The set-up the definitions need, in a fixed order: ``uses`` maps a definition id to the catalogue
    metrics its monitors query, ``tag_keys`` to the tag keys its queries filter or group by."""
    monitors: dict[str, list[str]] = {key: [] for key in ORDER}
    stats: set[str] = set()
    for definition_id, metrics in uses.items():
        for metric in metrics:
            stats.update(metric.stats)
            for key in requirement_keys(metric):
                if definition_id not in monitors[key]:
                    monitors[key].append(definition_id)
    for definition_id, keys in (tag_keys or {}).items():
        if CLUSTER_TAG in keys and definition_id not in monitors[CLUSTER_NAME]:
            monitors[CLUSTER_NAME].append(definition_id)
    built = []
    for key in ORDER:
        if monitors[key]:
            requirement = _REQUIREMENTS[key](modes, tuple(sorted(stats)))
            declared = requirement.opt_in and key in modes.set_up
            built.append(replace(requirement, monitors=tuple(monitors[key]), declared=declared))
    return tuple(built)


def opt_ins(metrics: Iterable[Metric], modes: CollectionModes) -> tuple[Requirement, ...]:
    """The set-up beyond Datadog's documented Istio install that these metrics need and that provisioner.yaml
    does not declare applied."""
    found = requirements({"": list(metrics)}, modes)
    return tuple(r for r in found if r.opt_in and not r.declared)


def declaration_hint(needed: Sequence[Requirement], modes: CollectionModes) -> str:
    """What to do about set-up ``opt_ins`` found: apply it, then declare it (the keys it names only)."""
    keys = ", ".join(r.key for r in needed)
    beside = " (added to the keys already declared)" if modes.set_up else ""
    return (
        "`provisioner mesh requirements` prints the snippets to apply; once applied, declare it in "
        f"provisioner.yaml: `istio: {{set_up: [{keys}]}}`{beside}"
    )


# --- the set-up, per requirement ---------------------------------------------------------------


def _istio_control_plane(modes: CollectionModes, _stats: Sequence[str]) -> Requirement:
    mode = modes.control_plane
    check = {"istio": {"instances": [_istiod_instance(mode)]}}
    snippet = Snippet(
        "istiod Helm chart (istio/istiod) values; with istioctl, the same under spec.values.pilot",
        "podAnnotations:\n  ad.datadoghq.com/discovery.checks: |\n    " + json.dumps(check) + "\n",
    )
    why = (
        "Datadog's documented istiod set-up: an Autodiscovery annotation on istiod's pods (container "
        f"`discovery`) runs the Istio check against :15014 in {mode} mode. Sidecar injection and config "
        "propagation come from it."
    )
    return Requirement(ISTIO_CONTROL_PLANE, "Istio check on istiod (control plane)", "control_plane", mode,
                       False, why, (snippet,))  # fmt: skip


def _istiod_instance(mode: Mode) -> dict[str, str]:
    use_openmetrics = "true" if mode == "openmetrics" else "false"
    return {"istiod_endpoint": "http://%%host%%:15014/metrics", "use_openmetrics": use_openmetrics}


def _istio_data_plane(modes: CollectionModes, _stats: Sequence[str]) -> Requirement:
    mode = modes.data_plane
    title = "Istio check on the proxies (data plane)"
    if mode == "legacy":
        why = (
            "Nothing to apply: the Agent's shipped auto_conf.yaml runs the Istio check on every proxyv2 "
            "container (:15020/stats/prometheus) in legacy mode. Istio's request metrics come from it."
        )
        return Requirement(ISTIO_DATA_PLANE, title, "data_plane", mode, False, why, ())
    snippet = Snippet(
        "Datadog Agent Helm chart (datadog/datadog) values: the documented custom istio.yaml, in place of "
        "the shipped auto_conf.yaml (check with `agent configcheck` that only one instance runs)",
        "datadog:\n"
        "  ignoreAutoConfig: [istio]\n"
        "  confd:\n"
        "    istio.yaml: |-\n"
        "      ad_identifiers: [proxyv2, proxyv2-rhel8]\n"
        "      init_config: {}\n"
        "      instances:\n"
        "        - use_openmetrics: true\n"
        "          send_histograms_buckets: false\n"
        "          istio_mesh_endpoint: http://%%host%%:15020/stats/prometheus\n"
        "          tag_by_endpoint: false\n"
        "          exclude_labels:\n"
        + "".join(f"            - {label}\n" for label in SUGGESTED_EXCLUDED_LABELS),
    )
    why = (
        "The shipped auto_conf.yaml runs the proxies' Istio check in legacy mode; the openmetrics names need "
        "Datadog's documented custom configuration, and only one mode may run (Datadog: mixed instances "
        "make the data fluctuate). The shipped auto_conf.yaml also drops labels that multiply contexts; this "
        "instance drops the ones Datadog's Istio README suggests."
    )
    return Requirement(ISTIO_DATA_PLANE, title, "data_plane", mode, True, why, (snippet,))


def _envoy_check(modes: CollectionModes, _stats: Sequence[str]) -> Requirement:
    mode = modes.envoy
    title = "Envoy check on the sidecars"
    if mode == "legacy":
        why = (
            "The legacy Envoy check reads Envoy's admin endpoint (`stats_url`), which Istio's sidecars bind "
            "to localhost: Datadog documents only the openmetrics instance for Istio. Set "
            "`istio: {envoy: openmetrics}` in provisioner.yaml and apply its snippet."
        )
        return Requirement(ENVOY_CHECK, title, "envoy", mode, True, why, ())
    check = json.dumps(
        {"envoy": {"instances": [{"openmetrics_endpoint": "http://%%host%%:15090/stats/prometheus"}]}}
    )
    annotation = "ad.datadoghq.com/istio-proxy.checks"
    snippets = (
        Snippet(
            "istiod Helm chart values: added to every pod the sidecar injector injects (restart the pods)",
            f"sidecarInjectorWebhook:\n  injectedAnnotations:\n    {annotation}: '{check}'\n",
        ),
        Snippet(
            "or per workload: the pod template of each meshed Deployment",
            f"spec:\n  template:\n    metadata:\n      annotations:\n        {annotation}: '{check}'\n",
        ),
    )
    why = (
        "The Envoy check is not scheduled on Istio's sidecars (its auto-configuration matches the `envoy` "
        "image; sidecars run `proxyv2`). An Autodiscovery annotation on the `istio-proxy` container points it "
        "at Envoy's Prometheus endpoint, :15090. Outlier, circuit-breaker and control-plane stats come from it."
    )
    return Requirement(ENVOY_CHECK, title, "envoy", mode, True, why, snippets)


def _proxy_stats(_modes: CollectionModes, stats: Sequence[str]) -> Requirement:
    patterns = [f".*{stat}.*" for stat in stats]
    listed = "".join(f'\n        - "{pattern}"' for pattern in patterns)
    inline = ", ".join(f'"{pattern}"' for pattern in patterns)
    snippets = (
        Snippet(
            "mesh-wide: istiod Helm chart values (IstioOperator: spec.meshConfig); proxies pick it up on restart",
            f"meshConfig:\n  defaultConfig:\n    proxyStatsMatcher:\n      inclusionRegexps:{listed}\n",
        ),
        Snippet(
            "or per workload: the pod template of each CALLER of the services you watch (restart the pods)",
            "spec:\n  template:\n    metadata:\n      annotations:\n        proxy.istio.io/config: |\n"
            f"          proxyStatsMatcher:\n            inclusionRegexps: [{inline}]\n",
        ),
    )
    why = (
        f"Istio's default proxyStatsMatcher keeps none of these Envoy stats ({', '.join(stats)}): they do not "
        "exist until included. Outbound cluster stats live in the calling pod's sidecar."
    )
    return Requirement(PROXY_STATS, "proxyStatsMatcher inclusions", "envoy", None, True, why, snippets)


def _apm_tracer(_modes: CollectionModes, _stats: Sequence[str]) -> Requirement:
    snippets = (
        Snippet(
            "istiod Helm chart values (istioctl: --set values.global.proxy.tracer=datadog "
            "--set values.pilot.traceSampling=100.0); restart the meshed pods",
            "global:\n  proxy:\n    tracer: datadog\ntraceSampling: 100.0\n",
        ),
        Snippet(
            "and the Datadog Agent Helm chart (datadog/datadog) values: APM on, accepting traces on the "
            "node's port 8126, where the sidecars' tracer sends them",
            "datadog:\n  apm:\n    portEnabled: true\n",
        ),
    )
    why = (
        "Envoy's APM trace metrics exist only when the proxies run Envoy's Datadog tracer (Istio's default "
        "tracer is none) and the Datadog Agent accepts the sidecars' traces on its host port (Datadog's "
        "Istio tracing page: uncomment the Agent's hostPort; the chart's `datadog.apm.portEnabled`). "
        "Under Istio the APM service is <app>.<namespace>."
    )
    return Requirement(APM_TRACER, "Envoy's Datadog tracer (APM)", "apm", None, True, why, snippets)


def _cluster_name(_modes: CollectionModes, _stats: Sequence[str]) -> Requirement:
    snippet = Snippet(
        "Datadog Agent Helm chart (datadog/datadog) values, one name per cluster (Datadog Operator: "
        "spec.global.clusterName); not needed on GKE, AKS or EKS, where the Agent detects it",
        "datadog:\n  clusterName: <cluster name>\n",
    )
    why = (
        f"These definitions filter or group by `{CLUSTER_TAG}`, a tag the Agent adds only when it knows the "
        "cluster's name: it detects it on GKE, AKS and EKS; elsewhere set it (Datadog docs: "
        "containers/guide/kubernetes-cluster-name-detection). Without it those queries match nothing."
    )
    return Requirement(
        CLUSTER_NAME, "Cluster name on the Agent's metrics", "agent", None, False, why, (snippet,)
    )


_REQUIREMENTS = {
    ISTIO_CONTROL_PLANE: _istio_control_plane,
    ISTIO_DATA_PLANE: _istio_data_plane,
    ENVOY_CHECK: _envoy_check,
    PROXY_STATS: _proxy_stats,
    APM_TRACER: _apm_tracer,
    CLUSTER_NAME: _cluster_name,
}

# What ``istio: {set_up: [...]}`` may declare: the set-up that is opt-in in some collection mode (a
# requirement depends only on its own collector's mode, so the two uniform modes cover every mix).
# The config schema's enum is held to this list by a test.
DECLARABLE = tuple(
    key
    for key in ORDER
    if any(_REQUIREMENTS[key](CollectionModes(mode, mode, mode), ()).opt_in for mode in get_args(Mode))
)
