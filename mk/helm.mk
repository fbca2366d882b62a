# The helm plugin (plugins/helm, docs/plugins/helm.md). `make` builds it with
# every plugin (bin/pipectl-plugin-helm) and `make test-unit` runs its tests
# (against the sandbox: they need bin/pipectl-sandbox).
#
# bench-helm: its upgrade of podinfo against the helm CLI's, alternately.
.PHONY: bench-helm
bench-helm: sandbox
	bench/helm.sh
