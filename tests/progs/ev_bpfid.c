// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * How many of the given BPF program or link IDs still exist, and what the
 * programs are called, without bpftool (the VM guests have none):
 *   ev_bpfid prog|link ID...   prints the count of IDs still present
 *   ev_bpfid names ID...       prints each present program's name, a line each
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int cmd, alive = 0, names;

	if (argc < 2 ||
	    (strcmp(argv[1], "prog") && strcmp(argv[1], "link") && strcmp(argv[1], "names"))) {
		fprintf(stderr, "usage: ev_bpfid prog|link|names ID...\n");
		return 2;
	}
	names = !strcmp(argv[1], "names");
	cmd = strcmp(argv[1], "link") ? BPF_PROG_GET_FD_BY_ID : BPF_LINK_GET_FD_BY_ID;
	for (int i = 2; i < argc; i++) {
		union bpf_attr attr;
		int fd;

		memset(&attr, 0, sizeof(attr));
		if (cmd == BPF_PROG_GET_FD_BY_ID)
			attr.prog_id = strtoul(argv[i], NULL, 10);
		else
			attr.link_id = strtoul(argv[i], NULL, 10);
		fd = syscall(__NR_bpf, cmd, &attr, sizeof(attr));
		if (fd >= 0 && names) {
			struct bpf_prog_info info;

			memset(&info, 0, sizeof(info));
			memset(&attr, 0, sizeof(attr));
			attr.info.bpf_fd = fd;
			attr.info.info_len = sizeof(info);
			attr.info.info = (unsigned long)&info;
			if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr))) {
				fprintf(stderr, "ev_bpfid: prog %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
			printf("%s\n", info.name);
			close(fd);
		} else if (fd >= 0) {
			alive++;
			close(fd);
		} else if (errno != ENOENT) {
			fprintf(stderr, "ev_bpfid: %s %s: %s\n", argv[1], argv[i], strerror(errno));
			return 1;
		}
	}
	if (!names)
		printf("%d\n", alive);
	return 0;
}
