# The flagship's end-to-end tests (test/flagship, a module of its own: part
# of MODULES, so `make test-unit` runs them, building the binaries they need).
# test-flagship runs them on what `make build` built instead.
#
# bench-flagship: the dev deploy with pipectl against the same work done by
# a sequential script of the helm, trivy and kubectl CLIs (bench/flagship.sh).

.PHONY: test-flagship bench-flagship

# `make test` has built bin/ first: the e2e tests run those binaries rather
# than building their own copies (minutes on a busy machine). A target
# variable, so it reaches test-unit only through `make test`.
test: export PIPECTL_E2E_BIN := $(BIN)

test-flagship: build
	cd test/flagship && PIPECTL_E2E_BIN=$(BIN) PIPECTL_SANDBOX_BIN=$(BIN)/pipectl-sandbox $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The helm CLI the benchmark's script runs, at the version the helm plugin
# links (bench/tools: a tool module resolved on the plugin's Kubernetes
# libraries, so it reuses their build cache: ~1.5 min warm).
HELM_CLI_VERSION := v3.22.0

bin/helm: bench/tools/go.mod bench/tools/go.sum
	cd bench/tools && $(GO) build -ldflags '-s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_CLI_VERSION)' -o $(BIN)/helm helm.sh/helm/v3/cmd/helm

bench-flagship: build bin/helm
	bench/flagship.sh

# bench/tools has no Go code of its own (a `tool` directive only), so it has
# no tests; CI checks what the benchmark relies on instead: the helm CLI
# builds, is the version the helm plugin links, and the scripts parse.
TEST_BESIDE += test-bench-tools
.PHONY: test-bench-tools
test-bench-tools: bin/helm
	@v=$$($(BIN)/helm version --short); case $$v in $(HELM_CLI_VERSION)*) ;; *) echo "bin/helm is $$v, want $(HELM_CLI_VERSION)"; exit 1;; esac
	@a=$$(cd bench/tools && $(GO) list -m -f '{{.Version}}' helm.sh/helm/v3); b=$$(cd plugins/helm && $(GO) list -m -f '{{.Version}}' helm.sh/helm/v3); \
	  [ "$$a" = "$$b" ] || { echo "bench/tools pins helm $$a, the helm plugin links $$b"; exit 1; }
	@for s in bench/*.sh; do bash -n $$s || exit 1; done
	@echo "bench tools: helm $(HELM_CLI_VERSION), as the plugin links; bench scripts parse"
