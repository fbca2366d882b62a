# The main job of the project: the Alpha Members pipeline, planned and
# applied for real against a local sandbox that pipelines/demo/run.sh starts
# and stops (KEEP=1 leaves it running; DEMO_ENV=staging|prod picks another
# environment), on the sandbox's real node: where none can run (not Linux,
# not root, taken) the demo stops and says why. See README.md.

BUILD_TARGETS += bin/trivy-dbfixture

.PHONY: demo bin/trivy-dbfixture

demo: build
	pipelines/demo/run.sh

# Writes the demo's trivy vulnerability DB and pushes it to a registry.
bin/trivy-dbfixture:
	cd plugins/trivy && $(GO) build -o $(BIN)/trivy-dbfixture ./cmd/trivy-dbfixture
