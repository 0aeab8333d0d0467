/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Pure formatting helpers shared by every view: no I/O, unit-tested. */
#ifndef SOCKTRACE_FORMAT_H
#define SOCKTRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "[ffff:...]:65535" fits, with room to spare. */
#define ST_ADDR_STRLEN 64

/* Formats addr (network order, 4 or 16 bytes) and port as "1.2.3.4:80" or
 * "[::1]:80". An IPv4-mapped IPv6 address prints as "[::ffff:1.2.3.4]:80". */
const char *st_addr_format(char *buf, size_t len, int family,
			   const uint8_t addr[16], uint16_t port);

const char *st_fd_kind_name(unsigned int kind);
const char *st_tcp_state_name(unsigned int state);
/* Socket state name: TCP states for TCP and UNIX sockets, "" when none. */
const char *st_sock_state_name(unsigned int kind, unsigned int state);
const char *st_family_name(int family);
const char *st_event_type_name(unsigned int type);
/* Inverse of st_event_type_name(); 0 when unknown. */
unsigned int st_event_type_parse(const char *name);
const char *st_tier_name(unsigned int tier);

/* Calls fn for each EPOLL* flag set in mask, in bit order; bits without a
 * name are reported once as a hex string. Returns the number of calls. */
int st_epoll_events_each(uint32_t mask, void (*fn)(const char *name, void *arg),
			 void *arg);
/* "EPOLLIN|EPOLLET" into buf; "0" when mask is 0. */
const char *st_epoll_events_format(char *buf, size_t len, uint32_t mask);

/* Writes s as a JSON string literal, quotes included, escaping per RFC 8259;
 * bytes that are not valid UTF-8 become \u00XX of the byte. */
void st_json_string(FILE *f, const char *s, size_t len);

/* Copies untrusted bytes (process names, paths) for a terminal: control
 * characters, DEL and bytes >= 0x80 become \xNN, backslash becomes \\.
 * Always NUL-terminates; returns dst. */
char *st_term_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

/* "1.23 ms", "45 us", "2.0 s" */
const char *st_duration_format(char *buf, size_t len, uint64_t ns);

#endif
