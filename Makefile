# pipectl — the one entry point for building, testing and running the demo.
#
# Each part of the project adds its own targets in mk/<part>.mk and appends
# them to BUILD_TARGETS / TEST_BESIDE / TEST_AFTER, so this file stays small.

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/bin
VERSION      ?= 0.1.0
export GOFLAGS := -buildvcs=false
export PATH    := $(BIN):$(PATH)

LDFLAGS := -X github.com/pipectl/pipectl/internal/version.Version=$(VERSION)

BUILD_TARGETS := bin/pipectl
# Test targets that run beside test-unit (no real node: they compute, or
# wait on API servers of their own) and after it (sandboxes of their own
# that take the machine's one real node).
TEST_BESIDE := test-race
TEST_AFTER  :=

.PHONY: all build test test-unit test-race lint
all: build

include $(wildcard mk/*.mk)

# Every Go module of the repository but the sandbox (mk/sandbox.mk). Each
# builds and tests on its own go.mod (GOWORK=off), exactly as a user of that
# module gets it; go.work ties them together for editors and `go` by hand.
export GOWORK := off
MODULES := . sdk $(patsubst %/go.mod,%,$(wildcard internal/*/go.mod plugins/*/go.mod examples/plugins/*/go.mod test/*/go.mod))

# Every first-party plugin is a module of its own: plugins/<name>/ ->
# bin/pipectl-plugin-<name>, versioned by its own ldflag. Built without
# the symbol table and DWARF (-s -w): pipectl hashes a locked plugin
# before every launch, and helm's is 128 MB with them, 91 MB without
# (launch 141 -> 108 ms). Panics and profiles keep their names.
PLUGINS := $(patsubst plugins/%/go.mod,%,$(wildcard plugins/*/go.mod))
BUILD_TARGETS += $(addprefix bin/pipectl-plugin-,$(PLUGINS))

.PHONY: $(addprefix bin/pipectl-plugin-,$(PLUGINS))
$(addprefix bin/pipectl-plugin-,$(PLUGINS)): bin/pipectl-plugin-%:
	cd plugins/$* && $(GO) build -ldflags '-s -w -X main.version=$(VERSION)' -o $(BIN)/pipectl-plugin-$* .

build: $(BUILD_TARGETS)

# Go decides what is stale; make just asks every time.
.PHONY: bin/pipectl
bin/pipectl:
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/pipectl

# Every test of the project, the one command CI runs. The build runs
# BUILD_JOBS targets at a time: on a cold machine one's module downloads and
# single-threaded links overlap another's compiles. test-unit spends most
# of its time waiting (plugins, API servers, rollouts), so the TEST_BESIDE
# targets fill that time; TEST_AFTER come once its real node is free.
BUILD_JOBS ?= 2
test:
	@$(MAKE) --no-print-directory -j$(BUILD_JOBS) build
	@$(MAKE) --no-print-directory -j$(words test-unit $(TEST_BESIDE)) test-unit $(TEST_BESIDE)
	@$(MAKE) --no-print-directory $(TEST_AFTER)

# `go test ./...` stops at a nested go.mod, so walk every module, TEST_JOBS
# at a time: most of a module's test time is spent waiting (on plugins, the
# sandbox's API server, a rollout), not computing. The slowest go first; each
# module's output is printed whole when it ends. TEST_JOBS=1 for one by one.
TEST_JOBS    ?= 3
# go test's default 10 minutes is less than the flagship's suite takes on
# real pods beside the other modules (deploys, crash loops, monitor windows
# that really run), or record/kubernetes under -race beside them: a bound for
# a hang, not a speed target. Every `go test` of a target passes it
# (check-test-timeouts).
TEST_TIMEOUT ?= 30m
SLOW_MODULES := test/flagship . plugins/trivy plugins/helm plugins/k8s
#
# The machine has one real node: one sandbox with it serves every module
# whose tests need real pods (internal/sandboxtest attaches them through
# PIPECTL_SANDBOX_SHARED, a namespace per test) rather than each starting
# its own in turn. It stops when the modules are done (or this shell dies);
# where no real node can run, each module says so as before.
SHARED_SANDBOX_FLAGS := --quiet --real-node=on --real-node-wait=10m --nodes 2 --node-cpu 8 --node-memory 16Gi
test-unit:
	@shared=$$(mktemp -d /tmp/pipectl-test-sandbox-XXXXXX); \
	if $(BIN)/pipectl-sandbox up --dir $$shared $(SHARED_SANDBOX_FLAGS) --watch-pid $$$$ >$$shared.log 2>&1; then \
	  export PIPECTL_SANDBOX_SHARED=$$shared; echo "==> one real-node sandbox for the modules' tests: $$shared"; \
	else echo "==> no shared real-node sandbox ($$(tail -1 $$shared.log)): the modules start their own"; fi; \
	printf '%s\n' $(filter $(MODULES),$(SLOW_MODULES)) $(filter-out $(SLOW_MODULES),$(MODULES)) | \
	  xargs -P $(TEST_JOBS) -I{} sh -c 'out=$$(cd {} && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./... 2>&1); rc=$$?; \
	    printf "==> go test %s\n%s\n" {} "$$out"; exit $$rc'; rc=$$?; \
	$(BIN)/pipectl-sandbox down --dir $$shared >/dev/null 2>&1; rm -rf $$shared $$shared.log; exit $$rc

# The engine and the SDK are concurrent by design: keep them race-free.
# The TestCLI tests (record/kubernetes) run pipectl as processes built
# without -race, so here they would check only their own harness, at minutes
# of a loaded CI machine: they run in test-unit.
test-race:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -skip '^TestCLI' ./engine/... ./record/... ./operation/...
	cd sdk && $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)
	@for m in $(MODULES) sandbox sandbox/runtime/execs sandbox/runtime/coredns; do \
	  echo "==> go vet $$m"; \
	  (cd $$m && $(GO) vet ./...) || exit 1; \
	done
