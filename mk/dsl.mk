# The pipeline language (package dsl).
#
# test-fuzz feeds random pipeline files through parse, decode, bind and
# evaluation for a while; any panic fails it. (The unit tests, the corpus of
# invalid pipelines and the golden diagnostics run with test-unit.)
# bench-dsl measures Load+Bind+decode of generated 1,000- and 10,000-step
# pipelines.

DSL_FUZZTIME ?= 20s

.PHONY: test-fuzz bench-dsl

TEST_BESIDE += test-fuzz

test-fuzz:
	$(GO) test -timeout $(TEST_TIMEOUT) -run='^$$' -fuzz=FuzzLoad -fuzztime=$(DSL_FUZZTIME) ./dsl

bench-dsl:
	$(GO) test -timeout $(TEST_TIMEOUT) -run='^$$' -bench=. -benchmem ./dsl
