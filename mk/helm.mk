# The helm plugin (plugins/helm, docs/plugins/helm.md). `make` builds it with
# every plugin (bin/pipectl-plugin-helm) and `make test-unit` runs its tests
# (against the sandbox: they need bin/pipectl-sandbox).
#
# bench-helm: its upgrade of podinfo against the helm CLI's (bin/helm,
# mk/flagship.mk), alternately, on real pods (NODE=kwok: on kwok's).
.PHONY: bench-helm
bench-helm: sandbox bin/helm
	bench/helm.sh
