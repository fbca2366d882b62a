# The HTML run report's browser test (internal/reportbrowser, a module of its
# own so that chromedp stays out of pipectl's dependencies) opens a real
# report in headless Chromium: Debian's chromium package, installed here when
# missing (as root, or with sudo), so that a fresh machine passes `make test`.
# Under CI=true a missing chromium fails that test; it never skips.
#
# Its screenshots (desktop and phone) go to $PIPECTL_TEST_ARTIFACTS when set,
# else to the test's artifact directory (go test -artifacts keeps it).

CHROMIUM_PACKAGES := chromium fonts-dejavu-core

.PHONY: chromium-deps test-report-browser

test-unit: chromium-deps

chromium-deps:
	@command -v chromium >/dev/null || { \
	  sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd=sudo; \
	  $$sudo_cmd apt-get update -qq && $$sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES); }

# Just the browser test, with its screenshots kept in bin/test-artifacts.
test-report-browser: chromium-deps
	cd internal/reportbrowser && PIPECTL_TEST_ARTIFACTS=$${PIPECTL_TEST_ARTIFACTS:-$(BIN)/test-artifacts} $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./...
