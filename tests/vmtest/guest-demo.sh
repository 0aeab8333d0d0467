#!/bin/bash
# Stand-in guest script for the QEMU matrix (the real one is tests/vm-guest.sh).
# Runs inside the VM and prints MATRIX <kernel> <tier> <test> <result> <reason>:
#   - each BPF attach tier (fentry, kprobe, tracepoint, tp_btf) loads a
#     program on tcp_v4_connect / inet_sock_set_state and sees a connect()
#     (tierprobe, built by run.sh and put on PATH);
#   - tier "env": what the socktrace tests need from the guest: a netns with
#     a veth pair, an nft rule that drops the client's final ACK so the
#     server holds the connections in SYN_RECV, ss and nstat.
# No -e: every check reports its own MATRIX line and the script goes on.
set -uo pipefail

kernel=${VMTEST_KERNEL:-$(uname -r)}
matrix() { echo "MATRIX $kernel $1 $2 $3 ${4:-}"; }

for tier in fentry kprobe tracepoint tp_btf; do
	if ! command -v tierprobe >/dev/null; then
		matrix "$tier" tcp_v4_connect fail "tierprobe not in the initramfs"
		continue
	fi
	out=$(tierprobe "$tier" 2>&1)
	case $? in
	0) matrix "$tier" tcp_v4_connect pass "${out#*: }" ;;
	*) matrix "$tier" tcp_v4_connect fail "${out#*: }" ;;
	esac
done

# --- env: netns + veth, nft drop of the final ACK, ss/nstat ground truth ---
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	ip netns del srv 2>/dev/null
	ip netns del cli 2>/dev/null
	[[ -n ${listener:-} ]] && kill "$listener" 2>/dev/null
}
trap cleanup EXIT

if ip netns add srv && ip netns add cli &&
	ip link add veth-srv netns srv type veth peer name veth-cli netns cli &&
	ip -n srv addr add 192.0.2.1/24 dev veth-srv && ip -n srv link set veth-srv up &&
	ip -n cli addr add 192.0.2.2/24 dev veth-cli && ip -n cli link set veth-cli up &&
	ip -n srv link set lo up && ip -n cli link set lo up; then
	matrix env netns-veth pass "two netns joined by a veth pair"
else
	matrix env netns-veth fail "ip netns / veth setup failed"
fi

# non-SYN packets with ACK from the client: the handshake's last ACK (and any
# later FIN) never reaches the server, which keeps the request in SYN_RECV
if ip netns exec cli nft -f - <<'EOF'
table inet vmtest {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport 8080 tcp flags & (syn | ack) == ack drop
	}
}
EOF
then
	matrix env nft-rule pass "inet filter output rule loaded"
else
	matrix env nft-rule fail "nft could not load the drop rule"
fi

ip netns exec srv nc -l -p 8080 >/dev/null 2>&1 &
listener=$!
for _ in $(seq 50); do
	[[ -n $(ip netns exec srv ss -Hltn 'sport = :8080') ]] && break
	sleep 0.1
done
for _ in 1 2 3; do
	ip netns exec cli timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.1/8080' 2>/dev/null
done
sleep 0.5
syn_recv=$(ip netns exec srv ss -Htn state syn-recv 'sport = :8080' | wc -l)
# busybox nc listens with backlog 1: once its SYN queue is full the kernel
# answers with syncookies instead of queueing, so not all 3 are held
if ((syn_recv >= 1)); then
	matrix env syn-recv-held pass "$syn_recv of 3 connections held in SYN_RECV (backlog 1)"
else
	matrix env syn-recv-held fail "ss shows no connection in SYN_RECV"
fi

if ip netns exec srv nstat -az TcpExtListenOverflows | grep -q TcpExtListenOverflows; then
	matrix env nstat pass "per-netns TcpExt counters readable"
else
	matrix env nstat fail "nstat -az TcpExtListenOverflows printed nothing"
fi
exit 0
