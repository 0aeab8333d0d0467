// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* st_ksym_range() (user/util.c) over kallsyms listings: where the SYN filter
 * of tp_consume_skb_at takes tcp_rcv_state_process()'s text from; and
 * st_release_at_least(), which tells kernels by release. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "../../user/util.h"
#include "unit.h"

/* st_ksym_range over text: its return, *lo and *end (0 when not set) */
static int range_of(const char *text, const char *name, uint64_t *lo, uint64_t *end)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	*lo = *end = 0;
	if (!f)
		return -errno;
	err = st_ksym_range(f, name, lo, end);
	fclose(f);
	return err;
}

int main(void)
{
	uint64_t lo, end;

	/* as 6.18 lists it: padding symbols (__pfx_) between functions */
	static const char kernel[] =
		"ffffffff8207f970 T __pfx_tcp_rcv_state_process\n"
		"ffffffff8207f980 T tcp_rcv_state_process\n"
		"ffffffff82080f30 T __pfx_tcp_get_syncookie_mss\n"
		"ffffffff82080f40 T tcp_get_syncookie_mss\n";
	ASSERT_EQ(range_of(kernel, "tcp_rcv_state_process", &lo, &end), 0, "found");
	ASSERT_EQ(lo, 0xffffffff8207f980ull, "start: its own address");
	ASSERT_EQ(end, 0xffffffff82080f30ull, "end: the next symbol's address");

	/* a name that only starts like it, and one in a data section, are
	 * not it; an alias at the same address does not end it */
	static const char aliases[] =
		"ffffffff81000000 D tcp_rcv_state_process\n"
		"ffffffff81000100 T tcp_rcv_state_process_x\n"
		"ffffffff81000200 t tcp_rcv_state_process\n"
		"ffffffff81000200 t an_alias\n"
		"ffffffff81000280 t next_one\n";
	ASSERT_EQ(range_of(aliases, "tcp_rcv_state_process", &lo, &end), 0, "found (t)");
	ASSERT_EQ(lo, 0xffffffff81000200ull, "the text symbol, not the data one");
	ASSERT_EQ(end, 0xffffffff81000280ull, "past the alias");

	/* kptr_restrict: every address 0 */
	static const char hidden[] =
		"0000000000000000 T tcp_rcv_state_process\n"
		"0000000000000000 T tcp_get_syncookie_mss\n";
	ASSERT_EQ(range_of(hidden, "tcp_rcv_state_process", &lo, &end), -ENOENT,
		  "hidden addresses: not found");

	/* the last vmlinux symbol: no end before the modules' */
	static const char last[] =
		"ffffffff81000000 T tcp_rcv_state_process\n"
		"ffffffffc0000000 t mod_func\t[some_mod]\n";
	ASSERT_EQ(range_of(last, "tcp_rcv_state_process", &lo, &end), -ENOENT,
		  "no end: not found");

	/* absent, malformed lines, an empty listing */
	static const char junk[] = "garbage\n\nffffffff81000000\nffffffff81000000 T other\n";
	ASSERT_EQ(range_of(junk, "tcp_rcv_state_process", &lo, &end), -ENOENT, "absent");
	ASSERT_EQ(range_of("", "tcp_rcv_state_process", &lo, &end), -ENOENT, "empty");
	ASSERT_EQ(lo, 0, "nothing set when not found");

	/* st_release_at_least: Debian's and upstream's releases */
	ASSERT_EQ(st_release_at_least("6.1.0-57-cloud-amd64", 6, 7), 0, "6.1 < 6.7");
	ASSERT_EQ(st_release_at_least("6.12.118+deb12-cloud-amd64", 6, 7), 1, "6.12 >= 6.7 (not 6.1.2)");
	ASSERT_EQ(st_release_at_least("6.7", 6, 7), 1, "6.7 itself");
	ASSERT_EQ(st_release_at_least("6.6.99", 6, 7), 0, "6.6.99");
	ASSERT_EQ(st_release_at_least("7.0-rc1", 6, 7), 1, "a later major");
	ASSERT_EQ(st_release_at_least("5.15.0-91-generic", 6, 7), 0, "an older major");
	ASSERT_EQ(st_release_at_least("6", 6, 0), 0, "no minor");
	ASSERT_EQ(st_release_at_least("6.", 6, 0), 0, "empty minor");
	ASSERT_EQ(st_release_at_least("", 6, 0), 0, "empty");
	ASSERT_EQ(st_release_at_least("x6.7", 6, 0), 0, "not a number");
	ASSERT_EQ(st_release_at_least(NULL, 6, 0), 0, "none");
	/* kprobe skips counted from 6.7 */
	ASSERT_EQ(st_kprobe_skips_counted("6.6.30"), 0, "6.6 drops kprobe skips uncounted");
	ASSERT_EQ(st_kprobe_skips_counted("6.7.0"), 1, "6.7 counts them");
	return UNIT_DONE("ksym");
}
