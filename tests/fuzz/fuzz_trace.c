// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the trace reader. The first byte picks what the
 * rest is:
 *   even: a whole trace file, as read from disk (header, chunk framing,
 *         checksums, zlib);
 *   odd:  the decompressed content of one chunk, which this harness frames
 *         with a real header, a valid zlib stream and correct checksums, so
 *         the fuzzer reaches the record decoder instead of stopping at a CRC.
 *         The second byte is the chunk's record count minus one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "trace.h"

static uint8_t *header;
static size_t header_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/socktrace-fuzz-hdr.XXXXXX";
	struct trace_header h = {};
	struct trace_writer *w;
	FILE *f;
	long n;
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	close(fd);
	trace_header__init(&h);
	h.pid = 1;
	if (trace_writer__open(&w, path, 1, &h) || trace_writer__close(w))
		abort();
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	header_len = (size_t)n - 28; /* without the end marker */
	header = malloc(n);
	if (fread(header, 1, n, f) != (size_t)n)
		abort();
	fclose(f);
	unlink(path);
	return 0;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* header + one data chunk holding raw + end marker */
static uint8_t *frame(const uint8_t *raw, size_t raw_len, uint32_t n_records, size_t *len)
{
	uLongf comp_len = compressBound(raw_len);
	uint8_t *out = malloc(header_len + 28 + comp_len + 28), *c;

	memcpy(out, header, header_len);
	c = out + header_len;
	compress(c + 28, &comp_len, raw, raw_len);
	memcpy(c, "STCK\x01\0\0\0", 8);
	le32(c + 8, (uint32_t)comp_len);
	le32(c + 12, (uint32_t)raw_len);
	le32(c + 16, n_records);
	le32(c + 20, (uint32_t)crc32(0, c + 28, comp_len));
	le32(c + 24, (uint32_t)crc32(0, c, 24));
	c += 28 + comp_len;
	memcpy(c, "STCK\x02\0\0\0", 8);
	memset(c + 8, 0, 16);
	le32(c + 16, n_records);
	le32(c + 24, (uint32_t)crc32(0, c, 24));
	*len = (size_t)(c + 28 - out);
	return out;
}

/* Reads every field so the sanitizers see any bad pointer or length. */
static uint64_t touch(const struct trace_record *rec)
{
	const struct st_snapshot *s = &rec->snapshot;
	uint64_t sum = rec->time_ns;

	if (rec->kind == TRACE_REC_EVENT)
		return sum + rec->event.sk_id + strnlen(rec->event.comm, ST_COMM_LEN);
	sum += strlen(s->comm);
	for (size_t i = 0; i < s->n_fds; i++)
		sum += s->fds[i].ino + (s->fds[i].path ? strlen(s->fds[i].path) : 0);
	for (size_t i = 0; i < s->n_listeners; i++)
		for (size_t j = 0; j < s->listeners[i].n_half_open; j++)
			sum += s->listeners[i].half_open[j].synack_retrans;
	for (size_t i = 0; i < s->n_epolls; i++) {
		for (size_t j = 0; j < s->epolls[i].n_interest; j++)
			sum += s->epolls[i].interest[j].events;
		for (size_t j = 0; j < s->epolls[i].n_ready; j++)
			sum += s->epolls[i].ready[j].events;
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r;
	struct trace_record rec;
	uint8_t *framed = NULL;
	const uint8_t *buf;
	size_t len;
	volatile uint64_t sink = 0;
	int ret;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (size < 3)
			return 0;
		framed = frame(data + 2, size - 2, (uint32_t)data[1] + 1, &len);
		buf = framed;
	} else {
		buf = data + 1;
		len = size - 1;
	}
	if (!trace_reader__open_mem(&r, "fuzz", buf, len, TRACE_READER_QUIET)) {
		while ((ret = trace_reader__next(r, &rec)) == 1)
			sink += touch(&rec);
		if (ret != 0 && ret != -EBADMSG)
			abort();
		if (ret == -EBADMSG && trace_reader__damage(r, NULL) == TRACE_DAMAGE_NONE)
			abort();
		trace_reader__close(r);
	}
	free(framed);
	return 0;
}
