#!/usr/bin/env bash
# The --once snapshot against the kernel's own answers: ss, nstat and
# /proc/PID/fdinfo, for real sockets in network namespaces made here.
. "$(dirname "$0")/lib.sh"
require_root

NS=snap$$
netns_new "$NS"

# Starts snap_server in the netns with the given options; sets SRV (pid)
# and SRV_OUT (the file of its "KEY VALUE" lines).
server() {
	SRV_OUT=$TMP/server.$RANDOM
	bg ip netns exec "$NS" "$TB/snap_server" "$@"
	SRV=$BG_PID
	exec 9>"$SRV_OUT.lock"
	bg_out=$SRV_OUT
	# The server writes to a file we poll for "ready".
	wait_for 5 grep -q '^ready' "$SRV_OUT" || { fail "server start" "no ready line"; finish; }
}
server() {
	SRV_OUT=$TMP/server.$RANDOM
	ip netns exec "$NS" "$TB/snap_server" "$@" >"$SRV_OUT" &
	SRV=$!
	_pids+=("$SRV")
	wait_for 5 grep -q '^ready' "$SRV_OUT" || { fail "server start" "no ready line: $*"; finish; }
}
srv_get() { awk -v k="$1" '$1 == k && NF == 2 { print $2 }' "$SRV_OUT"; }
snap() { "$SOCKTRACE" -p "$SRV" --once --json; }
# An epoll instance's interest list as "fd mask" lines, sorted: the
# kernel's (fdinfo's tfd lines, mask in hex), and the snapshot's (JSON).
fdinfo_interest() {
	awk '/^tfd:/ { print $2, $4 }' "/proc/$SRV/fdinfo/$1" |
		while read -r fd hex; do echo "$fd $((16#$hex))"; done | sort -n
}
snap_interest() { jq -r ".epolls[] | select(.fd == $2) | .interest[] | \"\(.fd) \(.mask)\"" <<<"$1" | sort -n; }

# --- accept queue: backlog 4, never accepts, 10 clients --------------------
server --listen 127.0.0.1:8080 --backlog 4
lfd=$(srv_get listen)
ip netns exec "$NS" "$TB/snap_client" 127.0.0.1 8080 10 30 >/dev/null &
_pids+=($!)
# The accept queue holds backlog+1; SYNs past that are dropped and retried.
wait_for 5 bash -c "ip netns exec $NS ss -lnt 'sport = :8080' | awk 'NR==2 && \$2 == 5 {ok=1} END {exit !ok}'"
stable=0
for try in 1 2 3 4 5 6 7 8 9 10; do
	before=$(nstat_get "$NS" TcpExtListenDrops)
	ss_line=$(ip netns exec "$NS" ss -lnt 'sport = :8080' | awk 'NR==2 { print $2, $3 }')
	json=$(snap)
	after=$(nstat_get "$NS" TcpExtListenDrops)
	ss_after=$(ip netns exec "$NS" ss -lnt 'sport = :8080' | awk 'NR==2 { print $2, $3 }')
	if [ "$before" == "$after" ] && [ "$ss_line" == "$ss_after" ]; then stable=1; break; fi
	sleep 0.2
done
check_eq "counters stable around the snapshot" "$stable" 1
l=$(jq -c ".listeners[] | select(.fd == $lfd)" <<<"$json")
check_eq "listener found" "$(jq -r .local <<<"$l")" "127.0.0.1:8080"
check_eq "listener family" "$(jq -r .family <<<"$l")" "ipv4"
check_eq "accept_queue == ss Recv-Q" "$(jq -r .accept_queue <<<"$l")" "${ss_line% *}"
check_eq "accept_max == ss Send-Q" "$(jq -r .accept_max <<<"$l")" "${ss_line#* }"
check_eq "accept_max is the backlog" "$(jq -r .accept_max <<<"$l")" 4
# drops is the listener's sk_drops: a dropped SYN adds 1 to it and to
# TcpExtListenDrops, a dropped final ACK (a slow machine lets a few
# handshakes finish into the full queue) 2 and 1
drops=$(jq -r .drops <<<"$l")
if [ "$drops" -ge "$after" ] && [ "$drops" -le $((2 * after)) ]; then
	pass "drops between nstat TcpExtListenDrops and twice that ($drops, $after)"
else
	fail "drops between nstat TcpExtListenDrops and twice that" "drops $drops, ListenDrops $after"
fi
[ "${after:-0}" -gt 0 ] && pass "overflow happened (drops $after)" || fail "overflow happened" "no drops"
check_eq "fd table has the listener" \
	"$(jq -r ".fds[] | select(.fd == $lfd) | .type + \" \" + .state" <<<"$json")" "tcp LISTEN"
check_eq "pid in json" "$(jq -r .pid <<<"$json")" "$SRV"
check_eq "comm in json" "$(jq -r .comm <<<"$json")" "snap_server"
text=$("$SOCKTRACE" -p "$SRV" --once)
check_match "text view lists the listener" "127\.0\.0\.1:8080 +[0-9]+ +5/4" "$text"
kill "$SRV"

# --- SYN queue: final ACKs dropped, request sockets stay in SYN_RECV -------
server --listen 127.0.0.1:8081 --backlog 64
hold_half_open "$NS" 8081 7 30
synrecv=$(ip netns exec "$NS" ss -Htn state syn-recv 'sport = :8081' | wc -l)
json=$(snap)
l=$(jq -c '.listeners[0]' <<<"$json")
check_eq "syn_queue == ss SYN-RECV count" "$(jq -r .syn_queue <<<"$l")" "$synrecv"
check_eq "syn_queue is the 7 held clients" "$(jq -r .syn_queue <<<"$l")" 7
check_eq "half-open list from iter/tcp" "$(jq -r '.half_open | length' <<<"$l")" "$synrecv"
check_eq "accept queue empty meanwhile" "$(jq -r .accept_queue <<<"$l")" 0
release_half_open "$NS" 8081
kill "$SRV"

# --- epoll: 6 watched fds, 2 readable and not collected --------------------
server --epoll 6:2
epfd=$(srv_get epoll)
json=$(snap)
want_interest=$(fdinfo_interest "$epfd")
got_interest=$(snap_interest "$json" "$epfd")
check_eq "interest == fdinfo tfd lines" "$got_interest" "$want_interest"
check_eq "interest has 6 fds" "$(wc -l <<<"$got_interest")" 6
want_ready=$(srv_get ready | sort -n | tr '\n' ' ')
got_ready=$(jq -r ".epolls[] | select(.fd == $epfd) | .ready[].fd" <<<"$json" | sort -n | tr '\n' ' ')
check_eq "ready == the 2 readable fds" "$got_ready" "$want_ready"
check_eq "epoll fd typed" "$(jq -r ".fds[] | select(.fd == $epfd) | .type" <<<"$json")" epoll
kill "$SRV"

# --- epoll items nothing in the fd table leads to ----------------------------
# Pipes watched and then closed here, their files held open by a child
# process only: the snapshot finds such items by walking the instance's
# interest tree, up to 256 an instance. The instance with 300 is walked
# first (its fd is lower): the second's 3 must all be there all the same.
server --epoll-orphans 300 --epoll-orphans 3
json=$(snap)
read -r ep_many ep_few <<<"$(srv_get epoll_orphans | tr '\n' ' ')"
for ep in $ep_many $ep_few; do
	want=$(fdinfo_interest "$ep")
	got=$(snap_interest "$json" "$ep")
	if [ "$ep" = "$ep_few" ]; then
		check_eq "closed watched fds: interest == fdinfo tfd lines" "$got" "$want"
		check_eq "closed watched fds: 3 items" "$(grep -c . <<<"$got")" 3
	else
		check_eq "closed watched fds: fdinfo has 300" "$(grep -c . <<<"$want")" 300
		check_eq "closed watched fds: 256 of 300 (the walk's bound)" "$(grep -c . <<<"$got")" 256
		check_eq "closed watched fds: each one fdinfo lists" \
			"$(comm -23 <(sort <<<"$got") <(sort <<<"$want") | grep -c .)" 0
	fi
done
kill "$SRV"

# --- other kinds: IPv6 listener, UDP with queued datagrams, unix, pipe, file
echo data >"$TMP/regular file"
server --listen6 8082 --udp 9000:3 --unix "$TMP/sock" --pipe x --file "$TMP/regular file"
json=$(snap)
fd6=$(srv_get listen6)
check_eq "ipv6 listener" "$(jq -r ".listeners[] | select(.fd == $fd6) | .family + \" \" + .local" <<<"$json")" "ipv6 [::1]:8082"
check_eq "ipv6 fd type" "$(jq -r ".fds[] | select(.fd == $fd6) | .type" <<<"$json")" tcp6
ufd=$(srv_get udp)
ss_udp=$(ip netns exec "$NS" ss -Hunl 'sport = :9000' | awk '{ print $2 }')
check_eq "udp fd" "$(jq -r ".fds[] | select(.fd == $ufd) | .type + \" \" + .local" <<<"$json")" "udp 127.0.0.1:9000"
check_eq "udp rx_queue == ss Recv-Q" "$(jq -r ".fds[] | select(.fd == $ufd) | .rx_queue" <<<"$json")" "$ss_udp"
[ "${ss_udp:-0}" -gt 0 ] && pass "udp datagrams queued ($ss_udp bytes)" || fail "udp queued" "ss shows $ss_udp"
check_eq "unix fd" "$(jq -r ".fds[] | select(.fd == $(srv_get unix)) | .type + \" \" + .state" <<<"$json")" "unix LISTEN"
check_eq "pipe fd" "$(jq -r ".fds[] | select(.fd == $(srv_get pipe)) | .type" <<<"$json")" pipe
check_eq "file fd with path" "$(jq -r ".fds[] | select(.fd == $(srv_get file)) | .type + \" \" + .path" <<<"$json")" "file $TMP/regular file"
# Every fd in /proc/PID/fd is in the table, no more, no less.
check_eq "fd set == /proc/PID/fd" "$(jq -r '.fds[].fd' <<<"$json" | sort -n | tr '\n' ' ')" \
	"$(ls "/proc/$SRV/fd" | sort -n | tr '\n' ' ')"
kill "$SRV"

# --- a connected TCP socket's queues: tcp_sock's sequence numbers ----------
server --tcp-pair 8084:1234
afd=$(srv_get tcp_accepted) cfd=$(srv_get tcp_client)
wait_for 5 bash -c "ip netns exec $NS ss -Htn 'sport = :8084' | awk '\$2 == 1234 {ok=1} END {exit !ok}'"
json=$(snap)
ss_q=$(ip netns exec "$NS" ss -Htn 'sport = :8084' | awk '{ print $2, $3 }')
check_eq "accepted tcp fd" "$(jq -r ".fds[] | select(.fd == $afd) | .type + \" \" + .state" <<<"$json")" "tcp ESTABLISHED"
check_eq "tcp rx_queue tx_queue == ss Recv-Q Send-Q" \
	"$(jq -r ".fds[] | select(.fd == $afd) | \"\\(.rx_queue) \\(.tx_queue)\"" <<<"$json")" "$ss_q"
check_eq "tcp rx_queue is the unread bytes" "$(jq -r ".fds[] | select(.fd == $afd) | .rx_queue" <<<"$json")" 1234
check_eq "client end's queues" "$(jq -r ".fds[] | select(.fd == $cfd) | \"\\(.rx_queue) \\(.tx_queue)\"" <<<"$json")" "0 0"
kill "$SRV"

# --- a thread id resolves to its process -----------------------------------
server --threads 2 --listen 127.0.0.1:8083
tid=$(srv_get tid | head -1)
json=$("$SOCKTRACE" -p "$tid" --once --json)
check_eq "tid $tid resolves to pid" "$(jq -r .pid <<<"$json")" "$SRV"
check_eq "tid sees the process's listener" "$(jq -r '.listeners | length' <<<"$json")" 1
kill "$SRV"

# --- a process name with an escape sequence stays text ---------------------
server --name $'\e[31mevil' --pipe x
out=$("$SOCKTRACE" -p "$SRV" --once)
if grep -q $'\e' <<<"$out"; then fail "escape in text view" "raw ESC reached the output"; else pass "escape in text view"; fi
check_match "name shown escaped" '\\x1b\[31mevil' "$out"
check_eq "json comm escaped" "$("$SOCKTRACE" -p "$SRV" --once --json | jq -r .comm)" $'\e[31mevil'
kill "$SRV"

finish
