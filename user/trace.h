/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The trace file (docs/trace-format.md): a header, then length-prefixed
 * records (events, snapshots) compressed with zlib in chunks that each end
 * at a sync point, so a file cut short still reads up to its last chunk.
 */
#ifndef SOCKTRACE_TRACE_H
#define SOCKTRACE_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "events.h"
#include "snapshot.h"

/* Format version this build writes and reads (docs/trace-format.md). */
#define TRACE_VERSION 1

struct trace_header {
	uint32_t version;
	char socktrace_version[32];
	char kernel_release[65];
	char hostname[65];
	uint32_t pid;
	char comm[ST_COMM_LEN + 1];
	uint8_t hook_tier[ST_HOOK_COUNT]; /* enum st_tier per enum st_hook */
	uint64_t start_realtime_ns;	  /* CLOCK_REALTIME at start */
	uint64_t start_mono_ns;		  /* CLOCK_MONOTONIC at start: event times
					   * are on this clock */
};

/* Short name of a hook as the trace header, --text and --json name it:
 * "connect", "accept", "syn_queue", "accept_queue", "epoll", "state". */
const char *trace_hook_name(unsigned int hook);

/* 1 when the recording had a hook on kprobes on a kernel that does not
 * count their skipped runs (st_kprobe_skips_counted()): losses of those
 * are in none of its lost counts. */
int trace_header__kprobe_gap(const struct trace_header *hdr);

/* Fills the fields a recorder does not know itself: version, socktrace
 * version, kernel release, hostname and both start times. The caller sets
 * pid, comm and hook_tier. */
void trace_header__init(struct trace_header *hdr);

struct trace_writer;

/* Creates path (mode 0600, O_NOFOLLOW; refuses to overwrite unless force)
 * and writes the header. Returns 0 or -errno with a message printed. */
int trace_writer__open(struct trace_writer **out, const char *path, int force,
		       const struct trace_header *hdr);
/* Append records. Return 0 or -errno (e.g. -ENOSPC) with a message printed;
 * after an error the writer refuses further records and what was written
 * stays readable. */
int trace_writer__event(struct trace_writer *w, const struct st_event *e);
int trace_writer__snapshot(struct trace_writer *w, const struct st_snapshot *s);
/* Ends the current chunk if it is older than 0.5 s (call on every idle tick,
 * at least every 100 ms, so a chunk never waits much longer). */
int trace_writer__tick(struct trace_writer *w);
/* Ends the current chunk now: what was appended so far is on disk and reads
 * back even if the process dies next. */
int trace_writer__flush(struct trace_writer *w);
uint64_t trace_writer__events(const struct trace_writer *w);
uint64_t trace_writer__snapshots(const struct trace_writer *w);
uint64_t trace_writer__bytes(const struct trace_writer *w); /* on disk */
/* Flushes the last chunk and closes; accepts NULL. Returns 0 or -errno. */
int trace_writer__close(struct trace_writer *w);

/* 1 when the snapshots hold the same state (time_ns aside): the recorder
 * skips a snapshot that repeats the last one it wrote. */
int trace_snapshot_same(const struct st_snapshot *a, const struct st_snapshot *b);

enum trace_rec_kind {
	TRACE_REC_EVENT = 1,
	TRACE_REC_SNAPSHOT = 2,
};

struct trace_record {
	enum trace_rec_kind kind;
	uint64_t time_ns; /* monotonic, same clock as the header's start_mono_ns */
	struct st_event event;	     /* kind == TRACE_REC_EVENT */
	struct st_snapshot snapshot; /* kind == TRACE_REC_SNAPSHOT; owned by the
				      * reader until the next call */
};

struct trace_reader;

/* Opens and validates the header. Returns 0 or -errno with a message that
 * names the file and the byte offset of the problem. */
int trace_reader__open(struct trace_reader **out, const char *path);
const struct trace_header *trace_reader__header(const struct trace_reader *r);
/* 1: a record in *rec; 0: clean end; -EBADMSG: corrupt or truncated (message
 * with byte offset printed; records before it were good); other -errno: I/O. */
int trace_reader__next(struct trace_reader *r, struct trace_record *rec);
void trace_reader__close(struct trace_reader *r);

/* Reads a trace held in memory (tests, the fuzzer); name is used in
 * messages. buf must outlive the reader. */
#define TRACE_READER_QUIET 0x1 /* keep messages for trace_reader__error() only */
int trace_reader__open_mem(struct trace_reader **out, const char *name,
			   const void *buf, size_t len, unsigned int flags);

/* After trace_reader__next() returned -EBADMSG: what went wrong and where. */
enum trace_damage {
	TRACE_DAMAGE_NONE = 0,
	TRACE_DAMAGE_TRUNCATED, /* cut short (crash, kill, full disk): the records
				 * before it are all there is */
	TRACE_DAMAGE_CORRUPT,	/* bad checksum, bad encoding, hostile length */
};
enum trace_damage trace_reader__damage(const struct trace_reader *r, uint64_t *offset);
/* The last message the reader printed (or would have printed), "" if none. */
const char *trace_reader__error(const struct trace_reader *r);

/* -r FILE --export perfetto: Chrome Trace Event JSON (user/perfetto.c).
 * Returns 0, -EBADMSG when the trace was damaged (what came before it is
 * exported), or another -errno. */
int trace_export_perfetto(struct trace_reader *r, FILE *out);

#endif
