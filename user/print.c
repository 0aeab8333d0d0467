// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <string.h>
#include "format.h"
#include "print.h"

static void json_str(FILE *f, const char *s)
{
	st_json_string(f, s, strlen(s));
}

static void json_addr(FILE *f, const char *key, const struct st_addr *a)
{
	char buf[ST_ADDR_STRLEN];

	fprintf(f, "\"%s\":", key);
	json_str(f, st_addr_format(buf, sizeof(buf), a->family, a->addr, a->port));
}

struct json_list {
	FILE *f;
	int n;
};

static void json_event_name(const char *name, void *arg)
{
	struct json_list *l = arg;

	fprintf(l->f, "%s\"%s\"", l->n++ ? "," : "", name);
}

static void json_events(FILE *f, uint32_t mask)
{
	struct json_list l = { f, 0 };

	fputc('[', f);
	st_epoll_events_each(mask, json_event_name, &l);
	fputc(']', f);
}

static void json_ep_entries(FILE *f, const struct st_ep_entry *e, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{\"fd\":%d,\"events\":", i ? "," : "", e[i].fd);
		json_events(f, e[i].events);
		fprintf(f, ",\"mask\":%u}", e[i].events);
	}
	fputc(']', f);
}

static int is_inet(const struct st_fd *fd)
{
	return fd->kind == ST_FD_TCP || fd->kind == ST_FD_TCP6 ||
	       fd->kind == ST_FD_UDP || fd->kind == ST_FD_UDP6;
}

void st_print_snapshot_json(FILE *f, const struct st_snapshot *s)
{
	fprintf(f, "{\"pid\":%u,\"comm\":", s->pid);
	json_str(f, s->comm);
	fprintf(f, ",\"time_ns\":%llu,\"listeners\":[", (unsigned long long)s->time_ns);
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct st_listener *l = &s->listeners[i];

		fprintf(f, "%s{\"fd\":%d,\"family\":\"%s\",", i ? "," : "", l->fd,
			st_family_name(l->family));
		json_addr(f, "local", &l->local);
		fprintf(f, ",\"syn_queue\":%u,\"accept_queue\":%u,\"accept_max\":%u,"
			   "\"drops\":%u,\"half_open\":[",
			l->syn_queue, l->accept_queue, l->accept_max, l->drops);
		for (size_t j = 0; j < l->n_half_open; j++) {
			fprintf(f, "%s{", j ? "," : "");
			json_addr(f, "remote", &l->half_open[j].remote);
			fprintf(f, ",\"synack_retrans\":%u}", l->half_open[j].synack_retrans);
		}
		fputs("]}", f);
	}
	fputs("],\"epolls\":[", f);
	for (size_t i = 0; i < s->n_epolls; i++) {
		const struct st_epoll *e = &s->epolls[i];

		fprintf(f, "%s{\"fd\":%d,\"interest\":", i ? "," : "", e->fd);
		json_ep_entries(f, e->interest, e->n_interest);
		fputs(",\"ready\":", f);
		json_ep_entries(f, e->ready, e->n_ready);
		fputc('}', f);
	}
	fputs("],\"fds\":[", f);
	for (size_t i = 0; i < s->n_fds; i++) {
		const struct st_fd *fd = &s->fds[i];

		fprintf(f, "%s{\"fd\":%d,\"type\":\"%s\"", i ? "," : "", fd->fd,
			st_fd_kind_name(fd->kind));
		if (is_inet(fd)) {
			fprintf(f, ",\"state\":\"%s\",", st_sock_state_name(fd->kind, fd->state));
			json_addr(f, "local", &fd->local);
			fputc(',', f);
			json_addr(f, "remote", &fd->remote);
			fprintf(f, ",\"rx_queue\":%u,\"tx_queue\":%u", fd->rx_queue, fd->tx_queue);
		} else if (fd->kind == ST_FD_UNIX) {
			fprintf(f, ",\"state\":\"%s\",\"rx_queue\":%u",
				st_sock_state_name(fd->kind, fd->state), fd->rx_queue);
		}
		if (fd->path) {
			fputs(",\"path\":", f);
			json_str(f, fd->path);
		}
		fprintf(f, ",\"ino\":%llu}", (unsigned long long)fd->ino);
	}
	fputs("]}\n", f);
}

static const char *fd_desc(char *buf, size_t len, const struct st_snapshot *s, int32_t fd)
{
	const struct st_fd *f = st_snapshot__find_fd(s, fd);
	char a[ST_ADDR_STRLEN], b[ST_ADDR_STRLEN];

	if (!f)
		snprintf(buf, len, "(not in fd table)");
	else if (is_inet(f))
		snprintf(buf, len, "%s %s %s -> %s", st_fd_kind_name(f->kind),
			 st_sock_state_name(f->kind, f->state),
			 st_addr_format(a, sizeof(a), f->local.family, f->local.addr, f->local.port),
			 st_addr_format(b, sizeof(b), f->remote.family, f->remote.addr,
					f->remote.port));
	else
		snprintf(buf, len, "%s", st_fd_kind_name(f->kind));
	return buf;
}

void st_print_snapshot_text(FILE *f, const struct st_snapshot *s)
{
	char comm[4 * ST_COMM_LEN + 1], a[ST_ADDR_STRLEN], b[ST_ADDR_STRLEN];
	char ev[256], desc[256], path[4 * 256 + 1];

	st_term_escape(comm, sizeof(comm), s->comm, sizeof(s->comm));
	fprintf(f, "process %u (%s): %zu fds, %zu listening, %zu epoll\n\n", s->pid,
		comm, s->n_fds, s->n_listeners, s->n_epolls);

	fprintf(f, "LISTENERS\n");
	if (!s->n_listeners)
		fprintf(f, "  (none)\n");
	else
		fprintf(f, "  %-4s %-26s %9s %14s %8s\n", "FD", "LOCAL", "SYN-QUEUE",
			"ACCEPT-QUEUE", "DROPS");
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct st_listener *l = &s->listeners[i];
		char q[32];

		snprintf(q, sizeof(q), "%u/%u", l->accept_queue, l->accept_max);
		fprintf(f, "  %-4d %-26s %9u %14s %8u%s\n", l->fd,
			st_addr_format(a, sizeof(a), l->local.family, l->local.addr, l->local.port),
			l->syn_queue, q, l->drops,
			l->accept_max && l->accept_queue >= l->accept_max ? "  FULL" : "");
		for (size_t j = 0; j < l->n_half_open; j++)
			fprintf(f, "       half-open from %s (%u SYN-ACK retransmits)\n",
				st_addr_format(b, sizeof(b), l->half_open[j].remote.family,
					       l->half_open[j].remote.addr,
					       l->half_open[j].remote.port),
				l->half_open[j].synack_retrans);
	}

	fprintf(f, "\nEPOLL\n");
	if (!s->n_epolls)
		fprintf(f, "  (none)\n");
	for (size_t i = 0; i < s->n_epolls; i++) {
		const struct st_epoll *e = &s->epolls[i];

		fprintf(f, "  epoll fd %d: %zu watched, %zu ready\n", e->fd, e->n_interest,
			e->n_ready);
		for (size_t j = 0; j < e->n_interest; j++) {
			int ready = 0;

			for (size_t k = 0; k < e->n_ready; k++)
				ready |= e->ready[k].fd == e->interest[j].fd;
			fprintf(f, "    %s fd %-5d %-28s %s\n", ready ? "READY" : "     ",
				e->interest[j].fd,
				st_epoll_events_format(ev, sizeof(ev), e->interest[j].events),
				fd_desc(desc, sizeof(desc), s, e->interest[j].fd));
		}
	}

	fprintf(f, "\nFDS\n  %-5s %-8s %-12s %-26s %-26s %8s %8s\n", "FD", "TYPE", "STATE",
		"LOCAL", "REMOTE/PATH", "RX-Q", "TX-Q");
	for (size_t i = 0; i < s->n_fds; i++) {
		const struct st_fd *fd = &s->fds[i];

		if (is_inet(fd)) {
			fprintf(f, "  %-5d %-8s %-12s %-26s %-26s %8u %8u\n", fd->fd,
				st_fd_kind_name(fd->kind), st_sock_state_name(fd->kind, fd->state),
				st_addr_format(a, sizeof(a), fd->local.family, fd->local.addr,
					       fd->local.port),
				st_addr_format(b, sizeof(b), fd->remote.family, fd->remote.addr,
					       fd->remote.port),
				fd->rx_queue, fd->tx_queue);
		} else {
			path[0] = '\0';
			if (fd->path)
				st_term_escape(path, sizeof(path), fd->path, strlen(fd->path));
			fprintf(f, "  %-5d %-8s %-12s %-26s %s\n", fd->fd, st_fd_kind_name(fd->kind),
				st_sock_state_name(fd->kind, fd->state), "", path);
		}
	}
}
