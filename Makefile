# pipectl — the one entry point for building, testing and running the demo.
#
# Each part of the project adds its own targets in mk/<part>.mk and appends
# them to BUILD_TARGETS / TEST_TARGETS, so this file stays small.

SHELL        := /bin/bash
GO           ?= go
BIN          := $(CURDIR)/bin
VERSION      ?= 0.1.0
export GOFLAGS := -buildvcs=false
export PATH    := $(BIN):$(PATH)

LDFLAGS := -X github.com/pipectl/pipectl/internal/version.Version=$(VERSION)

BUILD_TARGETS := bin/pipectl
TEST_TARGETS  := test-unit test-race

.PHONY: all build test test-unit test-race lint
all: build

include $(wildcard mk/*.mk)

# Every plugin of the main module: plugins/<name>/ -> bin/pipectl-plugin-<name>.
# (A plugin with its own go.mod builds from its own mk/<name>.mk instead.)
MAIN_PLUGINS := $(patsubst plugins/%/,%,$(dir $(wildcard plugins/*/main.go)))
MAIN_PLUGINS := $(foreach p,$(MAIN_PLUGINS),$(if $(wildcard plugins/$(p)/go.mod),,$(p)))
BUILD_TARGETS += $(addprefix bin/pipectl-plugin-,$(MAIN_PLUGINS))

.PHONY: $(addprefix bin/pipectl-plugin-,$(MAIN_PLUGINS))
$(addprefix bin/pipectl-plugin-,$(MAIN_PLUGINS)): bin/pipectl-plugin-%:
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./plugins/$*

build: $(BUILD_TARGETS)

# Go decides what is stale; make just asks every time.
.PHONY: bin/pipectl
bin/pipectl:
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/pipectl

# Every test of the project, the one command CI runs.
test: build $(TEST_TARGETS)

test-unit:
	$(GO) test -count=1 ./...

# The engine and the SDK are concurrent by design: keep them race-free.
test-race:
	$(GO) test -race -count=1 ./engine/... ./sdk/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)
	$(GO) vet ./...
