# The main job of the project: the Alpha Members pipeline.
#
# Until the helm, trivy and k8s plugins land, the demo checks the flagship
# pipeline for every environment and draws its graph; plan and apply join
# it with those plugins (see README.md).

DEMO_PIPELINE := pipelines
DEMO_TAG      ?= 1.0.0

.PHONY: demo
demo: build
	@for env in dev staging prod; do \
	  echo "==> pipectl validate -env $$env $(DEMO_PIPELINE)"; \
	  bin/pipectl validate -env $$env -var image_tag=$(DEMO_TAG) $(DEMO_PIPELINE) || exit 1; \
	done
	@echo "==> pipectl graph -format mermaid -env prod $(DEMO_PIPELINE)"
	@bin/pipectl graph -format mermaid -env prod -var image_tag=$(DEMO_TAG) $(DEMO_PIPELINE)
