"""provisioner: monitoring-as-code for Datadog, made for Istio service meshes."""

__version__ = "0.1.0"
