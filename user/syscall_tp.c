// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The per-syscall exit tracepoints' ids, from tracefs (see syscall_tp.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "syscall_tp.h"
#include "util.h"

/* where tracefs usually is: its own mount point, or debugfs' automount */
static const char *const tracefs_dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

static int read_id(const char *dir, const char *name)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), "%s/events/syscalls/sys_exit_%s/id", dir, name);
	return st_read_small(path, buf, sizeof(buf)) > 0 ? atoi(buf) : -1;
}

static int read_ids(const char *dir, const char *const *names, int n, int *ids)
{
	int found = 0;

	for (int i = 0; i < n; i++) {
		ids[i] = read_id(dir, names[i]);
		found += ids[i] > 0;
	}
	return found;
}

static int has_syscall_events(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/syscalls", dir);
	return access(path, X_OK) == 0;
}

int syscall_exit_tp_ids(const char *const *names, int n, int *ids, char *why, size_t len)
{
	char dir[] = "/tmp/socktrace-tracefs-XXXXXX";
	int found, err;

	for (size_t i = 0; i < sizeof(tracefs_dirs) / sizeof(tracefs_dirs[0]); i++) {
		if (!has_syscall_events(tracefs_dirs[i]))
			continue;
		found = read_ids(tracefs_dirs[i], names, n, ids);
		if (found)
			return found;
	}
	/* not mounted (as on this project's test machine): mount it where
	 * nobody else looks, for as long as the ids take to read */
	if (!mkdtemp(dir)) {
		err = -errno;
		snprintf(why, len, "tracefs not mounted, and no directory for it (%s)",
			 strerror(-err));
		return err;
	}
	if (mount("tracefs", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		err = -errno;
		rmdir(dir);
		snprintf(why, len, "tracefs not mounted, and mounting it failed (%s)",
			 strerror(-err));
		return err;
	}
	found = has_syscall_events(dir) ? read_ids(dir, names, n, ids) : 0;
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	if (!found) {
		snprintf(why, len, "no syscall tracepoints (CONFIG_FTRACE_SYSCALLS off)");
		return -ENOENT;
	}
	return found;
}
