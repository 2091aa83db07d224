# nodes: 1
# dsmd speaks the service manager's readiness protocol as its unit wants
# it (Type=notify, docs/install.md): READY=1 only once enforcement is on
# (its pins and its control socket exist when the datagram arrives),
# WATCHDOG=1 every second with $WATCHDOG_USEC, RELOADING=1 then READY=1
# around a reload (`dsmctl reload`, the unit's ExecReload; SIGHUP takes
# the same path, and the example policy lets no label but PID 1's signal
# dsmd), STOPPING=1 on the way out. The example policy, as shipped, lets
# dsmd send them (to PID 1's socket; here to an unconfined listener).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

sock=/tmp/dsm-notify.sock log=/tmp/dsm-notify.log
rm -f "$sock" "$log"
python3 -u - "$sock" "$log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode().replace("\n", "|")
        pins = int(os.path.exists("/sys/fs/bpf/dsm"))
        ctl = int(os.path.exists("/run/dsm/dsmd.sock"))
        log.write(f"{msg} pins={pins} ctl={ctl}\n")
PY
listener=$!
trap 'DSM_TEST_FAILED=$?; kill $listener 2>/dev/null; dsm_cleanup' EXIT
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
[[ -S $sock ]] || fail "the listener did not bind $sock"

# wait_for PATTERN: a line of the log matching PATTERN within 15 s.
wait_for() {
	local i
	for ((i = 0; i < 150; i++)); do grep -qE "$1" "$log" 2>/dev/null && return 0; sleep 0.1; done
	cat "$log" >&2
	fail "no datagram matching '$1'"
}

sed "s|/usr/sbin/dsmd|$DSMD|" "$top/policy/example.policy" >/tmp/cluster.policy
export NOTIFY_SOCKET=$sock WATCHDOG_USEC=2000000
dsm_start /tmp/cluster.policy
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_for '^READY=1'
expect_eq "first datagram" "$(head -1 "$log")" \
	"READY=1|STATUS=enforcing policy 'example-cluster' version 3 on node node1 pins=1 ctl=1"
grep -q 'main: watchdog every 2000 ms' "$DSM_LOG" || fail "dsmd did not log the watchdog"
sleep 3
n=$(grep -c '^WATCHDOG=1 ' "$log")
((n >= 2)) || fail "$n WATCHDOG=1 in 3 s"

: >"$log"
expect_ok "$DSMCTL" reload
wait_for '^READY=1'
expect_eq "dsmctl reload" "$(grep -v '^WATCHDOG' "$log" | cut -d' ' -f1 | paste -sd' ')" \
	"RELOADING=1|STATUS=reloading READY=1|STATUS=enforcing"
grep -q 'cannot notify' "$DSM_LOG" && fail "dsmd could not notify: $(grep 'cannot notify' "$DSM_LOG")"

: >"$log"
dsm_stop
wait_for '^STOPPING=1'
exit 0
