# The local Kubernetes sandbox (sandbox/, its own Go module, so that
# k8s.io/kubernetes and its replace block stay out of the main module).
# One multi-call binary, bin/pipectl-sandbox, also installed as bin/kubectl.
# See docs/sandbox.md.

SANDBOX_K8S_VERSION := v1.37.2
# Without the version stamps the apiserver reports v0.0.0-master and Helm's
# kubeVersion checks fail.
SANDBOX_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(SANDBOX_K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitTreeState=clean

# Flags for sandbox-up/sandbox-down, e.g. SANDBOX_FLAGS='--name demo --nodes 3'.
SANDBOX_FLAGS ?=

BUILD_TARGETS += sandbox
TEST_TARGETS  += test-sandbox

.PHONY: sandbox bin/pipectl-sandbox bin/kubectl sandbox-up sandbox-down sandbox-status test-sandbox

sandbox: bin/pipectl-sandbox bin/kubectl

# Phony: Go's build cache decides what is stale (a cold build takes ~20
# minutes on 2 cores, a relink ~30 s, an up-to-date check a few seconds).
bin/pipectl-sandbox:
	cd sandbox && $(GO) build -ldflags '$(SANDBOX_LDFLAGS)' -o $(BIN)/pipectl-sandbox ./cmd/pipectl-sandbox

bin/kubectl: bin/pipectl-sandbox
	ln -sf pipectl-sandbox $@

sandbox-up: sandbox
	$(BIN)/pipectl-sandbox up $(SANDBOX_FLAGS)

sandbox-down:
	$(BIN)/pipectl-sandbox down $(SANDBOX_FLAGS)

sandbox-status:
	$(BIN)/pipectl-sandbox status $(SANDBOX_FLAGS)

# The sandbox's own tests start real sandboxes from the built binary.
test-sandbox: sandbox
	cd sandbox && $(GO) vet ./... && PIPECTL_SANDBOX_BIN=$(BIN)/pipectl-sandbox $(GO) test -count=1 ./...
