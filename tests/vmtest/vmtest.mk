# QEMU kernel matrix; included by the top-level Makefile, which defines
# $(APP) (the socktrace binary) and $(TEST_BINS) (test helpers, may be empty).
#
#   make vmtest                                   # tests/vm-guest.sh on 6.1 and 6.12
#   make vmtest VMTEST_KERNELS=6.12               # one kernel
#   make vmtest VMTEST_GUEST=tests/vmtest/guest-demo.sh
#   make vmtest-clean                             # keeps the downloaded kernels
#   make vmtest-distclean                         # all of .cache/vmtest
# See tests/vmtest/README.md.

VMTEST_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
VMTEST_CACHE_DIR ?= .cache/vmtest
VMTEST_GUEST ?= tests/vm-guest.sh

.PHONY: vmtest vmtest-clean vmtest-distclean

vmtest: $(APP) $(TEST_BINS)
	VMTEST_GUEST='$(VMTEST_GUEST)' bash $(VMTEST_MK_DIR)/run.sh $(APP) $(TEST_BINS)

vmtest-clean:
	rm -rf $(addprefix $(VMTEST_CACHE_DIR)/,build initramfs logs results)

vmtest-distclean:
	rm -rf $(VMTEST_CACHE_DIR)
