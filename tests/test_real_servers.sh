#!/usr/bin/env bash
# Real servers nobody here wrote (nginx and redis from Debian), on loopback in
# a netns made here: socktrace's snapshot against ss and /proc/PID/fdinfo, and
# its epoll wake-ups across two nginx workers against nginx's access log.
. "$(dirname "$0")/lib.sh"
require_root

NS=real$$
netns_new "$NS"

# interest_matches NAME PID JSON : every epoll's interest list == its fdinfo
interest_matches() {
	local name=$1 pid=$2 json=$3 epfd want got ok=1 n=0
	for epfd in $(jq -r '.epolls[].fd' <<<"$json"); do
		n=$((n + 1))
		want=$(awk '/^tfd:/ { print $2, $4 }' "/proc/$pid/fdinfo/$epfd" |
			while read -r fd hex; do echo "$fd $((16#$hex))"; done | sort -n)
		got=$(jq -r ".epolls[] | select(.fd == $epfd) | .interest[] | \"\(.fd) \(.mask)\"" <<<"$json" | sort -n)
		[ "$want" == "$got" ] || { ok=0; echo "epoll $epfd: want [$want] got [$got]"; }
	done
	[ $n -gt 0 ] && [ $ok -eq 1 ] && pass "$name: $n epoll interest lists == fdinfo" ||
		fail "$name: epoll interest lists" "$n epolls, mismatch above"
}

# nginx's temporary files, all in DIR (its defaults are under /var)
nginx_temp_paths() {
	local t
	for t in client_body proxy fastcgi uwsgi scgi; do printf '\t%s_temp_path %s;\n' "$t" "$1"; done
}

# --- nginx: master + one worker, listen backlog 16 --------------------------
if command -v nginx >/dev/null; then
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; use epoll; }
http {
	access_log off;
$(nginx_temp_paths "$TMP/nginx")
	server { listen 127.0.0.1:8088 backlog=16; location / { return 200 "hi\n"; } }
}
CONF
	bg ip netns exec "$NS" nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log"
	if wait_for 10 bash -c "ip netns exec $NS ss -Hlnt 'sport = :8088' | grep -q 8088" &&
		wait_for 5 pgrep -f "nginx: worker process" -P "$(cat "$TMP/nginx/nginx.pid" 2>/dev/null || echo 0)"; then
		master=$(cat "$TMP/nginx/nginx.pid")
		worker=$(pgrep -P "$master" -f "nginx: worker" | head -1)
		json=$("$SOCKTRACE" -p "$worker" --once --json)
		ss_q=$(ip netns exec "$NS" ss -Hlnt 'sport = :8088' | awk '{ print $2, $3 }')
		l=$(jq -c '.listeners[] | select(.local == "127.0.0.1:8088")' <<<"$json")
		check_eq "nginx worker: listener accept_max == ss Send-Q" "$(jq -r .accept_max <<<"$l")" "${ss_q#* }"
		check_eq "nginx worker: backlog=16 from the config" "$(jq -r .accept_max <<<"$l")" 16
		check_eq "nginx worker: comm" "$(jq -r .comm <<<"$json")" nginx
		interest_matches "nginx worker" "$worker" "$json"
		lfd=$(jq -r .fd <<<"$l")
		check_eq "nginx worker: epoll watches the listener" \
			"$(jq -r "[.epolls[].interest[] | select(.fd == $lfd)] | length" <<<"$json")" 1
		check_eq "nginx: fd set == /proc/PID/fd" "$(jq -r '.fds[].fd' <<<"$json" | sort -n | tr '\n' ' ')" \
			"$(ls "/proc/$worker/fd" | sort -n | tr '\n' ' ')"
		# A request on a kept-alive connection: the worker's fd table
		# shows the accepted connection as ESTABLISHED.
		exec 7> >(ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8088; printf "GET / HTTP/1.1\r\nHost: x\r\n\r\n" >&3; sleep 5')
		wait_for 5 bash -c "ip netns exec $NS ss -Htn state established 'sport = :8088' | grep -q ."
		json=$("$SOCKTRACE" -p "$worker" --once --json)
		check_eq "nginx worker: accepted connection in fd table" \
			"$(jq -r '[.fds[] | select(.type == "tcp" and .state == "ESTABLISHED" and (.local | endswith(":8088")))] | length' <<<"$json")" \
			"$(ip netns exec "$NS" ss -Htn state established 'sport = :8088' | wc -l)"
		exec 7>&-
	else
		fail "nginx start" "$(cat "$TMP/nginx/error.log" 2>/dev/null | tail -2)"
	fi
else
	skip "nginx" "nginx not installed"
fi

# --- nginx, two workers: EPOLLEXCLUSIVE on the shared listener ---------------
# Each worker's epoll watches the listener with EPOLLEXCLUSIVE, so the kernel
# wakes one worker's instance per connection, the first in the socket's wait
# queue with a thread in epoll_wait. One tracer per worker: each one's
# wake-ups for the listener == the requests that worker served, as nginx's
# own access log ($pid) tells. Requests are spaced so that every worker is
# back in epoll_wait before the next (a busy one's instance is called too,
# and then the next one's). A build that gave every instance a wake-up
# reported 20 for each worker.
if ! command -v nginx >/dev/null; then
	skip "nginx, two workers" "nginx not installed"
elif ! kernel_at_least 6 6; then
	skip "nginx, two workers" "no sock:sk_data_ready before 6.6: no ep_wakeup on the tracepoint tier"
else
	mkdir -p "$TMP/nginx2"
	cat >"$TMP/nginx2/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $TMP/nginx2/nginx.pid;
error_log $TMP/nginx2/error.log;
events { worker_connections 64; use epoll; }
http {
	log_format bypid '\$pid';
	access_log $TMP/nginx2/access.log bypid;
$(nginx_temp_paths "$TMP/nginx2")
	server { listen 127.0.0.1:8087; location / { return 200 "hi\n"; } }
}
CONF
	bg ip netns exec "$NS" nginx -c "$TMP/nginx2/nginx.conf" -e "$TMP/nginx2/error.log"
	workers=()
	if wait_for 10 bash -c "ip netns exec $NS ss -Hlnt 'sport = :8087' | grep -q 8087" &&
		wait_for 5 bash -c "[ \$(pgrep -P \$(cat '$TMP/nginx2/nginx.pid' 2>/dev/null || echo 0) -f 'nginx: worker' | wc -l) -eq 2 ]"; then
		mapfile -t workers < <(pgrep -P "$(cat "$TMP/nginx2/nginx.pid")" -f "nginx: worker")
	fi
	if [ ${#workers[@]} -ne 2 ]; then
		fail "nginx, two workers: start" "$(tail -2 "$TMP/nginx2/error.log" 2>/dev/null)"
	else
		tracers=() lfds=()
		for w in "${workers[@]}"; do
			lfds+=("$("$SOCKTRACE" -p "$w" --once --json |
				jq -r '.listeners[] | select(.local == "127.0.0.1:8087") | .fd')")
			mask=$(grep -h "^tfd:[[:space:]]*${lfds[-1]:--1} " /proc/"$w"/fdinfo/* 2>/dev/null | awk '{ print $4; exit }')
			check_eq "nginx worker $w: watches the listener with EPOLLEXCLUSIVE (fdinfo)" \
				"$(( (16#${mask:-0} >> 28) & 1 ))" 1
			bg "$SOCKTRACE" -p "$w" --events --json >"$TMP/ngx_$w.json" 2>"$TMP/ngx_$w.err"
			tracers+=("$BG_PID")
		done
		for w in "${workers[@]}"; do
			wait_for 60 grep -q 'tracing pid' "$TMP/ngx_$w.err" ||
				fail "nginx worker $w: tracer attached" "$(cat "$TMP/ngx_$w.err")"
		done
		ip netns exec "$NS" bash -c 'for i in $(seq 20); do
			exec 3<>/dev/tcp/127.0.0.1/8087 && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3 >/dev/null
			exec 3>&-; sleep 0.1; done'
		sleep 0.3
		kill -INT "${tracers[@]}"
		for t in "${tracers[@]}"; do wait "$t" 2>/dev/null; done
		check_eq "nginx, two workers: 20 requests in the access log" "$(wc -l <"$TMP/nginx2/access.log")" 20
		for i in 0 1; do
			w=${workers[$i]}
			check_eq "nginx worker $w: wake-ups for the listener == requests it served (access log)" \
				"$(jq -r "select(.type == \"ep_wakeup\" and .fd == ${lfds[$i]:--1}) | 1" "$TMP/ngx_$w.json" | wc -l)" \
				"$(grep -cx "$w" "$TMP/nginx2/access.log")"
		done
	fi
fi

# --- redis: tcp-backlog 64, clients connected --------------------------------
if command -v redis-server >/dev/null; then
	bg ip netns exec "$NS" redis-server --port 6390 --bind 127.0.0.1 --tcp-backlog 64 \
		--save '' --appendonly no --dir "$TMP" --daemonize no --loglevel warning --logfile "$TMP/redis.log"
	redis=$BG_PID
	if wait_for 10 bash -c "ip netns exec $NS ss -Hlnt 'sport = :6390' | grep -q 6390"; then
		rpid=$redis # ip netns exec execs: the pid is redis itself
		for i in 1 2 3; do
			ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/6390; printf "PING\r\n" >&3; sleep 6' &
			_pids+=($!)
		done
		wait_for 5 bash -c "[ \$(ip netns exec $NS ss -Htn state established 'sport = :6390' | wc -l) -eq 3 ]"
		json=$("$SOCKTRACE" -p "$rpid" --once --json)
		ss_q=$(ip netns exec "$NS" ss -Hlnt 'sport = :6390' | awk '{ print $2, $3 }')
		l=$(jq -c '.listeners[] | select(.local == "127.0.0.1:6390")' <<<"$json")
		check_eq "redis: accept_max == ss Send-Q" "$(jq -r .accept_max <<<"$l")" "${ss_q#* }"
		check_eq "redis: accept_queue == ss Recv-Q" "$(jq -r .accept_queue <<<"$l")" "${ss_q% *}"
		check_eq "redis: comm" "$(jq -r .comm <<<"$json")" redis-server
		check_eq "redis: 3 client connections" \
			"$(jq -r '[.fds[] | select(.state == "ESTABLISHED" and (.local | endswith(":6390")))] | length' <<<"$json")" 3
		interest_matches "redis" "$rpid" "$json"
	else
		fail "redis start" "not listening"
	fi
else
	skip "redis" "redis-server not installed"
fi

finish
