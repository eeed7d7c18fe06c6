"""What provisioner knows about Istio, Envoy and APM telemetry in Datadog: the one mesh metric catalogue.

Every Datadog metric name, type and tag meaning of the mesh signals lives in ``catalogue``; the kind
compilers, the dashboard shorthand, the audit's signal recognition, import and the metrics-reporting check
all read it from there. This package imports nothing of provisioner but ``model``.
"""
