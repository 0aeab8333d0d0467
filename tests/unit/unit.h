/* Minimal unit-test macros in the BPF selftests' style: each ASSERT returns
 * whether it held, counts, and reports file:line on failure. */
#ifndef UNIT_H
#define UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define ASSERT_TRUE(cond, name) ({                                              \
	int __ok = !!(cond);                                                    \
	if (__ok) unit_passed++;                                                \
	else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, name); } \
	__ok; })
#define ASSERT_EQ(a, b, name) ({                                                \
	long long __a = (long long)(a), __b = (long long)(b);                   \
	int __ok = __a == __b;                                                  \
	if (__ok) unit_passed++;                                                \
	else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s: %lld != %lld\n", __FILE__, __LINE__, name, __a, __b); } \
	__ok; })
#define ASSERT_STREQ(a, b, name) ({                                             \
	const char *__a = (a), *__b = (b);                                      \
	int __ok = __a && __b && !strcmp(__a, __b);                             \
	if (__ok) unit_passed++;                                                \
	else { unit_failed++; fprintf(stderr, "FAIL %s:%d: %s: '%s' != '%s'\n", __FILE__, __LINE__, name, __a ? __a : "(null)", __b ? __b : "(null)"); } \
	__ok; })
/* The last line of every unit binary, counted by tests/run.sh. */
#define UNIT_DONE(suite) ({                                                     \
	printf("unit %s: %d passed, %d failed\n", suite, unit_passed, unit_failed); \
	unit_failed ? 1 : 0; })
#endif
