# What the repository holds: source, never build outputs. check-binaries
# fails on any tracked executable binary (ELF, Mach-O, PE by their magic
# bytes): a plugin built in its own directory (`go build` names it after
# the directory, plugins/std/std) is the usual slip; .gitignore ignores those.

TEST_BESIDE += check-binaries
.PHONY: check-binaries

check-binaries:
	@bad=$$(git ls-files -z | perl -0ne 'chomp; open(F, "<", $$_) or next; read(F, $$m, 4); \
	  print "  $$_\n" if $$m =~ /^(\x7fELF|\xcf\xfa\xed\xfe|\xce\xfa\xed\xfe|\xfe\xed\xfa[\xce\xcf]|\xca\xfe\xba\xbe|MZ)/'); \
	  [ -z "$$bad" ] || { printf 'tracked executable binaries (build outputs belong in bin/, ignored):\n%s\n' "$$bad"; exit 1; }
	@echo "no tracked executable binary"

# The modules that build client-go share one compile of it (and of
# k8s.io/api) only while they agree on its dependencies' versions:
# mk/shared-versions.sh says which module drifted and how to align it.
TEST_BESIDE += check-shared-versions
.PHONY: check-shared-versions

check-shared-versions:
	@mk/shared-versions.sh $(MODULES) sandbox

# The pipelines the project ships are what users copy: they stay in
# `pipectl fmt` form. It runs the pipectl that `make test` built first (no
# rebuild beside the tests that run it).
TEST_BESIDE += check-hcl-fmt
.PHONY: check-hcl-fmt

check-hcl-fmt:
	@test -x $(BIN)/pipectl || { echo "bin/pipectl is missing: make build"; exit 1; }
	@$(BIN)/pipectl fmt --check --recursive pipelines examples && echo "pipelines and examples are in pipectl fmt form"

# go test stops a test binary after 10 minutes unless told otherwise, and a
# slow CI machine reaches that on a module that passes locally (record/
# kubernetes under -race did): every `go test` of a target names
# $(TEST_TIMEOUT), the bound for a hang that test-unit uses (compile-only
# `go test -c` aside).
TEST_BESIDE += check-test-timeouts
.PHONY: check-test-timeouts

check-test-timeouts:
	@bad=$$(grep -n -E '\$$\(GO\) +test' Makefile mk/*.mk | grep -v -E '^[^:]+:[0-9]+:[[:space:]]*#' | \
	  grep -v -F -e '-timeout $$(TEST_TIMEOUT)' -e ' test -c '); \
	  [ -z "$$bad" ] || { printf 'go test without -timeout $$(TEST_TIMEOUT), so with go test'"'"'s 10 minutes:\n%s\n' "$$bad"; exit 1; }
	@echo 'every go test of a make target passes -timeout $$(TEST_TIMEOUT)'
