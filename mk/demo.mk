# The main job of the project: the Alpha Members pipeline, planned and
# applied for real against a local sandbox that pipelines/demo/run.sh starts
# and stops (KEEP=1 leaves it running; DEMO_ENV=staging|prod picks another
# environment). See README.md.

BUILD_TARGETS += bin/alpha-members bin/trivy-dbfixture

.PHONY: demo bin/alpha-members bin/trivy-dbfixture

demo: build
	pipelines/demo/run.sh

# The service on the host, for the flagship tests on kwok's fake nodes
# (the sandbox builds the same program into the demo images).
bin/alpha-members:
	$(GO) build -o $@ ./cmd/alpha-members

# Writes the demo's trivy vulnerability DB and pushes it to a registry.
bin/trivy-dbfixture:
	cd plugins/trivy && $(GO) build -o $(BIN)/trivy-dbfixture ./cmd/trivy-dbfixture
