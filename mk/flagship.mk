# The flagship's end-to-end tests (test/flagship, a module of its own: part
# of MODULES, so `make test-unit` runs them, building the binaries they need).
# test-flagship runs them on what `make build` built instead.
#
# bench-flagship: the dev deploy with pipectl against the same work done by
# a sequential script of the helm, trivy and kubectl CLIs (bench/flagship.sh).

.PHONY: test-flagship bench-flagship

test-flagship: build
	cd test/flagship && PIPECTL_E2E_BIN=$(BIN) PIPECTL_SANDBOX_BIN=$(BIN)/pipectl-sandbox $(GO) test -count=1 ./...
