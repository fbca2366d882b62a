# The pinned trivy that the trivy plugin runs: plugins/trivy/tool is a
# module of its own (a `tool` directive), so trivy's ~1,000 modules and the
# GOEXPERIMENT=jsonv2 it needs stay out of every other module. Its go.mod is
# the one place the version is pinned. See docs/plugins/trivy.md.
#
# A cold build is ~18 minutes on an idle 2-core machine (64 measured on a
# loaded one) and ~660 MB of module downloads;
# bin/trivy is a file target on the tool module's go.mod/go.sum, so it is
# built once and `make build` does not relink it every time.

TRIVY_TOOL    := plugins/trivy/tool
TRIVY_VERSION := $(shell awk '$$1 == "github.com/aquasecurity/trivy" { sub(/^v/, "", $$2); print $$2 }' $(TRIVY_TOOL)/go.mod)
TRIVY_LDFLAGS := -s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$(TRIVY_VERSION)

BUILD_TARGETS += bin/trivy

bin/trivy: $(TRIVY_TOOL)/go.mod $(TRIVY_TOOL)/go.sum
	cd $(TRIVY_TOOL) && GOEXPERIMENT=jsonv2 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(TRIVY_LDFLAGS)' -o $(BIN)/trivy github.com/aquasecurity/trivy/cmd/trivy
	@$(BIN)/trivy --version | head -1

# The Alpha Members vulnerability DB, pushed to the running sandbox's
# registry (see docs/plugins/trivy.md): TRIVY_DB_REF overrides the target.
TRIVY_DB_REF ?= $$PIPECTL_SANDBOX_REGISTRY/trivy-db:2

.PHONY: trivy-db-fixture
trivy-db-fixture:
	cd plugins/trivy && $(GO) run ./cmd/trivy-dbfixture -push "$(TRIVY_DB_REF)"

# The generated reference (settings, arguments, outputs) beside the
# handwritten guide docs/plugins/trivy.md.
.PHONY: docs-trivy
docs: docs-trivy
docs-trivy: bin/pipectl bin/pipectl-plugin-trivy
	$(BIN)/pipectl plugins docs trivy -examples plugins/trivy/examples > docs/plugins/trivy-reference.md
