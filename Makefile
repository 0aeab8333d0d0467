# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# socktrace build: bpf/%.bpf.c -> .output/%.bpf.o -> .output/%.skel.h -> ./socktrace
APP := socktrace
VERSION := 0.1.0
OUTPUT := .output
CLANG ?= clang
CC ?= cc
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
PREFIX ?= /usr/local
DESTDIR ?=

ARCH := $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h
ifeq ($(wildcard $(VMLINUX)),)
ifneq ($(MAKECMDGOALS),vmlinux)
$(error no $(VMLINUX) for arch '$(ARCH)': run 'make vmlinux' on a kernel with BTF)
endif
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c) $(wildcard ui/*.c)
USER_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(USER_SRCS))
# Everything but main.o, so unit tests can link the logic without a main().
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))

INCLUDES := -I$(OUTPUT) -Ibpf -Iuser -Iui
CFLAGS ?= -g -O2
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	  -D_GNU_SOURCE -DSOCKTRACE_VERSION='"$(VERSION)"' $(INCLUDES)
LDLIBS := -lbpf -lelf -lz -lncursesw -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) -Ibpf \
	      -Wall -Wno-unused-function

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps clean test unit vmlinux install uninstall bench demo

all: deps $(APP)

deps:
	$(Q)./scripts/deps.sh build

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/ui $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c bpf/socktrace.h bpf/compat.bpf.h $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp -o $@
	$(Q)rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT)/%.o: %.c $(BPF_SKELS) $(wildcard user/*.h ui/*.h bpf/socktrace.h) | $(OUTPUT)/user $(OUTPUT)/ui $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(APP): $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The quick start's main job: a built-in server overflowing its backlog.
demo: all
	./$(APP) --demo

vmlinux:
	$(call msg,GEN,$(VMLINUX))
	$(Q)mkdir -p $(dir $(VMLINUX))
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

-include tests/tests.mk
-include tests/fuzz/fuzz.mk
-include tests/vmtest/vmtest.mk

install: $(APP)
	install -D -m 0755 $(APP) $(DESTDIR)$(PREFIX)/sbin/$(APP)
	install -D -m 0644 docs/socktrace.8 $(DESTDIR)$(PREFIX)/share/man/man8/socktrace.8

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/$(APP) $(DESTDIR)$(PREFIX)/share/man/man8/socktrace.8

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) $(APP)
