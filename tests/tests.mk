# Test binaries: tests/progs/*.c are helper programs the shell tests run
# (servers, clients, load); tests/unit/*.c are unit tests linked with the
# project's logic (everything but main.o).
TEST_OUT := tests/.output
TEST_PROGS := $(patsubst tests/progs/%.c,$(TEST_OUT)/%,$(wildcard tests/progs/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(TEST_OUT)/unit_%,$(wildcard tests/unit/*.c))
TEST_BINS := $(TEST_PROGS)

$(TEST_OUT):
	$(Q)mkdir -p $@

$(TEST_OUT)/%: tests/progs/%.c tests/progs/testlib.h | $(TEST_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -D_GNU_SOURCE -Ibpf -Iuser -o $@ $< -lpthread

$(TEST_OUT)/unit_%: tests/unit/%.c tests/unit/unit.h $(LIB_OBJS) | $(TEST_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(LDLIBS)

.PHONY: test test-deps test-bins unit
test-deps:
	$(Q)./scripts/deps.sh test

test-bins: $(APP) $(TEST_PROGS) $(UNIT_TESTS)

unit: $(UNIT_TESTS)
	$(Q)for t in $(UNIT_TESTS); do $$t || exit 1; done

# The README's test command. T=name runs only tests/test_name.sh.
test: test-deps
	$(Q)$(MAKE) --no-print-directory test-bins
	$(Q)tests/run.sh $(T)

# Benchmarks: tests/bench/*.c link the project's logic like unit tests.
BENCH_BINS := $(patsubst tests/bench/%.c,$(TEST_OUT)/bench_%,$(wildcard tests/bench/*.c))
$(TEST_OUT)/bench_%: tests/bench/%.c $(LIB_OBJS) | $(TEST_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

.PHONY: bench
# Every tests/bench/bench_*.sh; B=name runs one.
bench: test-deps
	$(Q)$(MAKE) --no-print-directory test-bins $(BENCH_BINS)
	$(Q)for b in $(if $(B),tests/bench/bench_$(B).sh,tests/bench/bench_*.sh); do echo "== $$b"; bash $$b || exit 1; done
