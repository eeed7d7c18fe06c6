"""Monitor tests: input series, and the states monitors must reach, checked against the emulator's
evaluation of the compiled definitions (``provisioner test``).

``cases`` reads test files into typed tests, ``series`` the compact notations they use, ``run`` runs one
test against an emulator through the Datadog API, ``results`` is what a run found.
"""
