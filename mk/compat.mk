# The plugin protocol's compatibility suite (test/compat, a module of its
# own, so `make test-unit` runs it): frozen plugins of every revision of
# pipectl.plugin.v1, built from source and run through the current pipectl.
# Its Python plugin needs the Python example's Debian packages.
# test-compat runs just the suite, on what `make build` built.

.PHONY: test-compat

test-compat: bin/pipectl python-example-deps
	cd test/compat && PIPECTL_E2E_BIN=$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
