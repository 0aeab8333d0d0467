// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "format.h"
#include "socktrace.h"
#include "util.h"

int st_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "socktrace: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void st_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void st_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

uint64_t st_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *st_btf_path(void)
{
	const char *p = getenv("SOCKTRACE_BTF");

	return p && *p ? p : NULL;
}

/* Effective capability bits from /proc/self/status. */
static uint64_t cap_effective(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps;
}

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

int st_check_bpf_env(void)
{
	uint64_t caps = cap_effective();
	const char *btf = st_btf_path();

	if (!(caps & (1ull << CAP_SYS_ADMIN_BIT)) &&
	    !((caps & (1ull << CAP_BPF_BIT)) && (caps & (1ull << CAP_PERFMON_BIT)))) {
		st_err("permission denied: loading BPF programs needs root "
		       "(or CAP_BPF and CAP_PERFMON); run with sudo");
		return -EPERM;
	}
	if (!btf)
		btf = "/sys/kernel/btf/vmlinux";
	if (access(btf, R_OK)) {
		st_err("no kernel BTF at %s: socktrace needs a kernel built with "
		       "CONFIG_DEBUG_INFO_BTF=y (Linux 5.17 or newer)", btf);
		return -ENOENT;
	}
	return 0;
}

int st_resolve_pid(uint32_t id, uint32_t *tgid)
{
	char path[64], line[256];
	unsigned int t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", id);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &t) == 1)
			break;
	fclose(f);
	if (!t)
		return -ESRCH;
	*tgid = t;
	return 0;
}

int st_pid_alive(uint32_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The state follows the last ')' (the name may contain parentheses). */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

int st_read_small(const char *path, char *buf, size_t len)
{
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = len > 1 ? read(fd, buf, len - 1) : 0;
	close(fd);
	if (r <= 0)
		return -EIO;
	buf[r] = '\0';
	return (int)r;
}

int st_event_filter_parse(const char *filter, uint64_t *mask)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	*mask = ~0ull;
	if (!filter)
		return 0;
	copy = strdup(filter);
	if (!copy)
		return -ENOMEM;
	*mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned int t = st_event_type_parse(tok);

		if (!t) {
			char names[512] = "";

			for (t = 1; t < ST_EV_TYPE_COUNT; t++) {
				strncat(names, st_event_type_name(t), sizeof(names) - strlen(names) - 3);
				if (t + 1 < ST_EV_TYPE_COUNT)
					strcat(names, ", ");
			}
			st_err("unknown event type '%s' in --filter (types: %s)", tok, names);
			err = -EINVAL;
			break;
		}
		*mask |= 1ull << t;
	}
	free(copy);
	if (!err && !*mask) {
		st_err("--filter needs at least one event type");
		err = -EINVAL;
	}
	return err;
}

void st_stdout_buffer(void)
{
	/* glibc ignores the size when setvbuf() is given no buffer */
	static char buf[256 << 10];

	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
}

int st_ksym_range(FILE *f, const char *name, uint64_t *start, uint64_t *end)
{
	char line[512], sym[256], type;
	unsigned long long addr, lo = 0;
	int found = 0;

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3)
			continue;
		/* module symbols ("name\t[mod]") come after vmlinux's */
		if (strchr(line, '['))
			break;
		if (!found) {
			found = (type == 'T' || type == 't') && !strcmp(sym, name);
			lo = addr;
			continue;
		}
		/* vmlinux's symbols are listed in address order: the next one
		 * up ends it (aliases at the same address do not) */
		if (addr > lo) {
			*start = lo;
			*end = addr;
			return 0;
		}
	}
	/* kptr_restrict shows every address as 0 */
	return -ENOENT;
}

int st_release_at_least(const char *release, unsigned int major, unsigned int minor)
{
	unsigned int ma, mi;
	char *end;

	if (!release)
		return 0;
	errno = 0;
	ma = (unsigned int)strtoul(release, &end, 10);
	if (end == release || *end != '.' || errno)
		return 0;
	release = end + 1;
	mi = (unsigned int)strtoul(release, &end, 10);
	if (end == release || errno)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

int st_kprobe_skips_counted(const char *release)
{
	return st_release_at_least(release, 6, 7);
}
