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
TEST_BESIDE += test-sandbox-compile
TEST_AFTER += test-sandbox

.PHONY: sandbox bin/pipectl-sandbox bin/kubectl sandbox-up sandbox-down sandbox-status test-sandbox test-sandbox-compile \
	sandbox-node sandbox-node-deps sandbox-platform

sandbox: bin/pipectl-sandbox bin/kubectl sandbox-node sandbox-platform

# The Alpha Members service (cmd/alpha-members) that `up` builds into the
# demo images: static, for the images' linux/amd64, on any host.
sandbox-platform:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/sandbox-node/alpha-members ./cmd/alpha-members

# The real node's runtime (docs/sandbox.md): kubelet and kube-proxy are
# commands of pipectl-sandbox; what they drive comes from small modules of
# their own (sandbox/runtime/*), so that none moves the Kubernetes dependency
# graph nor another's: containerd v2 + its runc shim (pure Go), what containerd
# execs, runc (cgo, with seccomp: pods asking for the RuntimeDefault profile
# need it), the CNI plugins and the pause process; CoreDNS with only the
# plugins the sandbox uses; and podinfo (binaries, UI, and the chart of the
# same commit, for the tests). bin/sandbox-node/ is where `up` looks.
SANDBOX_NODE := $(BIN)/sandbox-node
# libseccomp-dev (with gcc, pkg-config) builds runc; nftables is what
# kube-proxy drives at run time.
SANDBOX_NODE_PACKAGES := libseccomp-dev pkg-config gcc nftables

ifeq ($(shell uname -s),Linux)
sandbox-node: sandbox-node-deps
	cd sandbox/runtime/containerd && CGO_ENABLED=0 $(GO) build -trimpath -tags 'no_btrfs no_devmapper no_zfs' -ldflags '-s -w' \
	  -o $(SANDBOX_NODE)/ github.com/containerd/containerd/v2/cmd/containerd \
	  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
	cd sandbox/runtime/execs && CGO_ENABLED=1 $(GO) build -trimpath -tags seccomp -ldflags '-s -w' \
	  -o $(SANDBOX_NODE)/ github.com/opencontainers/runc
	cd sandbox/runtime/execs && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(SANDBOX_NODE)/ ./pause
	cd sandbox/runtime/execs && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(SANDBOX_NODE)/cni/ \
	  github.com/containernetworking/plugins/plugins/main/bridge github.com/containernetworking/plugins/plugins/ipam/host-local \
	  github.com/containernetworking/plugins/plugins/main/loopback github.com/containernetworking/plugins/plugins/meta/portmap
	cd sandbox/runtime/podinfo && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(SANDBOX_NODE)/podinfo/ \
	  github.com/stefanprodan/podinfo/cmd/podinfo github.com/stefanprodan/podinfo/cmd/podcli
	cd sandbox/runtime/coredns && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(SANDBOX_NODE)/coredns .
	src="$$(cd sandbox/runtime/podinfo && $(GO) list -m -f '{{.Dir}}' github.com/stefanprodan/podinfo)" && \
	  mkdir -p $(SANDBOX_NODE)/podinfo/ui && cp -f "$$src/ui/vue.html" $(SANDBOX_NODE)/podinfo/ui/ && \
	  rm -rf $(SANDBOX_NODE)/podinfo/chart && cp -r "$$src/charts/podinfo" $(SANDBOX_NODE)/podinfo/chart && chmod -R u+w $(SANDBOX_NODE)/podinfo/chart
else
sandbox-node:
	@echo "sandbox-node: a real node needs Linux; the sandbox will run kwok's fake nodes only"
endif

sandbox-node-deps:
	@dpkg -s $(SANDBOX_NODE_PACKAGES) >/dev/null 2>&1 || { \
	  sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd=sudo; \
	  $$sudo_cmd apt-get update -qq && $$sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SANDBOX_NODE_PACKAGES); }

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
	cd sandbox && $(GO) vet ./... && PIPECTL_SANDBOX_BIN=$(BIN)/pipectl-sandbox $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Vetting and compiling those tests (Kubernetes' packages: about 10 minutes
# on a cold cache) needs no real node, so it runs beside test-unit; the
# build cache then leaves test-sandbox only the tests to run.
test-sandbox-compile:
	@tmp=$$(mktemp -d); cd sandbox && $(GO) vet ./... && $(GO) test -c -o $$tmp/ ./...; rc=$$?; rm -rf $$tmp; exit $$rc
