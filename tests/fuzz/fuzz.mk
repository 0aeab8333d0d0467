# Sanitizer builds of the trace reader (issue 5), included by the Makefile:
#   tests/.output/fuzz/unit_trace_asan  tests/unit/trace.c under ASan+UBSan
#   tests/.output/fuzz/fuzz_trace       libFuzzer target (tests/fuzz/fuzz_trace.c)
# tests/test_fuzz.sh runs both; `make fuzz` runs the fuzzer for FUZZ_TIME s.
# Guarded so that `make -f Makefile -f tests/fuzz/fuzz.mk` works whether or
# not the Makefile includes this file itself.
ifndef SOCKTRACE_FUZZ_MK
SOCKTRACE_FUZZ_MK := 1

FUZZ_OUT := tests/.output/fuzz
FUZZ_CC ?= clang
FUZZ_TIME ?= 30
SAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	     -fno-sanitize-recover=all -D_GNU_SOURCE -DSOCKTRACE_VERSION='"$(VERSION)"' \
	     -I$(OUTPUT) -Ibpf -Iuser -Iui -Itests/unit
# The reader and what it links against: no BPF programs run, no ncurses.
TRACE_SAN_SRCS := user/trace.c user/snapshot.c user/util.c user/format.c
TRACE_SAN_LIBS := -lbpf -lelf -lz
FUZZ_BINS := $(FUZZ_OUT)/unit_trace_asan $(FUZZ_OUT)/fuzz_trace

$(FUZZ_OUT):
	$(Q)mkdir -p $@

$(FUZZ_OUT)/unit_trace_asan: tests/unit/trace.c $(TRACE_SAN_SRCS) user/trace.h $(BPF_SKELS) | $(FUZZ_OUT)
	$(call msg,CC-SAN,$@)
	$(Q)$(FUZZ_CC) $(SAN_FLAGS) -o $@ tests/unit/trace.c $(TRACE_SAN_SRCS) $(TRACE_SAN_LIBS)

$(FUZZ_OUT)/fuzz_trace: tests/fuzz/fuzz_trace.c $(TRACE_SAN_SRCS) user/trace.h $(BPF_SKELS) | $(FUZZ_OUT)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(SAN_FLAGS) -fsanitize=fuzzer -o $@ tests/fuzz/fuzz_trace.c \
		$(TRACE_SAN_SRCS) $(TRACE_SAN_LIBS)

.PHONY: fuzz-bins fuzz
fuzz-bins: $(FUZZ_BINS)
# Without clang, tests/test_fuzz.sh reports a skip instead of failing the build.
ifneq ($(shell command -v $(FUZZ_CC)),)
test-bins: $(FUZZ_BINS)
endif

fuzz: $(FUZZ_OUT)/fuzz_trace
	$(Q)mkdir -p $(FUZZ_OUT)/corpus
	$(Q)$(FUZZ_OUT)/fuzz_trace -max_total_time=$(FUZZ_TIME) -max_len=65536 \
		$(FUZZ_OUT)/corpus tests/fuzz/corpus/trace

endif
