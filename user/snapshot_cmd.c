// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --once: one snapshot, printed as text or JSON. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "print.h"
#include "snapshot.h"
#include "util.h"

int snapshot_cmd(const struct st_env *env)
{
	struct snapshot_taker *taker = NULL;
	struct st_snapshot snap;
	int err;

	if (st_check_bpf_env())
		return ST_EXIT_FAIL;
	err = snapshot_taker__open(&taker, env->pid);
	if (err)
		return ST_EXIT_FAIL;
	err = snapshot_taker__take(taker, &snap);
	snapshot_taker__close(taker);
	if (err == -ESRCH) {
		st_err("process %u exited before the snapshot finished", env->pid);
		return ST_EXIT_FAIL;
	}
	if (err) {
		st_err("failed to take snapshot of process %u: %s", env->pid, strerror(-err));
		return ST_EXIT_FAIL;
	}
	if (env->json)
		st_print_snapshot_json(stdout, &snap);
	else
		st_print_snapshot_text(stdout, &snap);
	st_snapshot__free(&snap);
	if (fflush(stdout) || ferror(stdout)) {
		st_err("failed to write output: %s", strerror(errno));
		return ST_EXIT_FAIL;
	}
	return ST_EXIT_OK;
}
