#!/usr/bin/env bash
# Real servers nobody here wrote (nginx and redis from Debian), on loopback in
# a netns made here: socktrace's snapshot against ss and /proc/PID/fdinfo.
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
	client_body_temp_path $TMP/nginx;
	proxy_temp_path $TMP/nginx;
	fastcgi_temp_path $TMP/nginx;
	uwsgi_temp_path $TMP/nginx;
	scgi_temp_path $TMP/nginx;
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
