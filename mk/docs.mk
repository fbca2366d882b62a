# Reference pages generated from the plugins' own schemas (`pipectl plugins
# docs`); cmd/pipectl's TestStdReferenceIsCurrent fails when one is stale.
.PHONY: docs
docs: bin/pipectl bin/pipectl-plugin-std
	$(BIN)/pipectl plugins docs std -examples plugins/std/examples > docs/plugins/std.md
