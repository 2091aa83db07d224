# nodes: 1
# timeout: 420
# The dsm package as an operator meets it (README's quick start,
# debian/dsm.README.Debian): dpkg installs it and starts nothing; dsmd
# started the way dsm's unit starts it (the unit's own ExecStart line,
# EnvironmentFile, RuntimeDirectory and StateDirectory, NOTIFY_SOCKET and
# the watchdog from WatchdogSec) on the shipped example policy is ready only
# once enforcing; a denial reaches the journal with dsm's fields, the same
# as its JSON line; the metrics file says dsm is up; the unit's
# ExecReload reloads; `dsmd --unload` and a purge take it all away.
#
# The guest has no systemd: the unit's lines are read and carried out here,
# a stand-in for journald listens on the journal's socket and keeps every
# entry as the native protocol sent it. Everything installed goes to
# overlays on /usr, /etc and /var in a mount namespace of the test's own,
# gone when the test ends (what dsmd runs as and protects is bound from a
# tmpfs: see below). build/deb/ comes from `make deb`
# (tests/host/deb.sh runs it before the guest tests).
if [[ -z ${DSM_PKG_NS:-} ]]; then
	DSM_PKG_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

deb=$(ls "$build"/deb/dsm_*_amd64.deb 2>/dev/null | tail -1)
[[ -n $deb ]] || fail "no $build/deb/dsm_*_amd64.deb: run make deb first"

ov=/tmp/pkg-overlay
grep -qw overlay /proc/filesystems || "$PROBE" module "$(guest_module fs/overlayfs/overlay)" >/dev/null ||
	fail "cannot load the overlay module"
for d in usr etc var; do
	mkdir -p "$ov/$d/up" "$ov/$d/work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$ov/$d/up,workdir=$ov/$d/work" "/$d" ||
		fail "overlay on /$d"
done

echo "--- dpkg -i $(basename "$deb")"
dpkg -i "$deb" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -i failed"; }
for f in /usr/sbin/dsmd /usr/bin/dsmctl /lib/systemd/system/dsmd.service /etc/default/dsmd \
	/usr/share/man/man8/dsmd.8.gz; do
	[[ -e $f ]] || fail "$f not installed"
done
expect_eq "mode of /etc/dsm" "$(stat -c %a /etc/dsm)" 700
expect_eq "mode of the example policy" "$(stat -c %a /etc/dsm/dsm.policy.example)" 600
ls /etc/systemd/system/*.wants/dsmd.service 2>/dev/null && fail "the package enabled dsmd"
pgrep -x dsmd && fail "the package started dsmd"

# dsm keys files by the device and inode stat(2) shows, and on overlayfs
# stat shows the layer's file while the kernel's hooks see the overlay's
# inode: a file rule or a protected file there does not hold (an open
# point, docs/security.md). What dsmd runs as and protects is therefore
# bound here from the overlay's upper layer, a tmpfs, to where the package
# put it.
binds=(/usr/sbin/dsmd /usr/bin/dsmctl /etc/dsm)
for p in "${binds[@]}"; do
	top_dir=${p#/}
	up=$ov/${top_dir%%/*}/up/${top_dir#*/}
	mount --bind "$up" "$p" || fail "bind $up on $p"
done

unit=/lib/systemd/system/dsmd.service
# unit_value KEY: the last KEY= line of the unit's (its effective value).
unit_value() { sed -n "s/^$1=//p" "$unit" | tail -1; }
# seconds VALUE: a systemd time span of the forms the unit uses (30s, 2min).
seconds() {
	case $1 in
	*min) echo $((${1%min} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}
expect_eq "Type" "$(unit_value Type)" notify

echo "--- the operator's steps: a policy from the example, options in /etc/default/dsmd"
cp /etc/dsm/dsm.policy.example /etc/dsm/dsm.policy
/usr/bin/dsmctl policy check /etc/dsm/dsm.policy || fail "the shipped example policy does not check"
prom=/var/lib/prometheus/node-exporter/dsm.prom
mkdir -p "${prom%/*}"
sed -i "s|^DSMD_OPTS=.*|DSMD_OPTS=\"--metrics-file $prom\"|" /etc/default/dsmd

echo "--- a journal stand-in and the service manager's notify socket"
jsock=/run/systemd/journal/socket jlog=/tmp/journal.jsonl
nsock=/tmp/pkg-notify.sock nlog=/tmp/pkg-notify.log
mkdir -p /run/systemd/journal
rm -f "$jsock" "$nsock" "$jlog" "$nlog"
python3 -u - "$jsock" "$jlog" "$nsock" "$nlog" <<'PY' &
import json, os, select, socket, struct, sys
jsock, jlog, nsock, nlog = sys.argv[1:5]
def bind(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    return s
j, n = bind(jsock), bind(nsock)
def entry(data):
    # journald's native protocol: KEY=VALUE\n, or KEY\n + le64 length +
    # VALUE + \n for values that hold a newline.
    out, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            size = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        out[k.decode()] = v.decode(errors="replace")
    return out
with open(jlog, "a", buffering=1) as jl, open(nlog, "a", buffering=1) as nl:
    while True:
        for s in select.select([j, n], [], [])[0]:
            data = s.recv(65536)
            if s is j:
                jl.write(json.dumps(entry(data)) + "\n")
            else:
                pins = int(os.path.exists("/sys/fs/bpf/dsm/links"))
                ctl = int(os.path.exists("/run/dsm/dsmd.sock"))
                nl.write(data.decode().replace("\n", "|") + f" pins={pins} ctl={ctl}\n")
PY
listener=$!
trap 'DSM_TEST_FAILED=$?; kill $listener 2>/dev/null; dsm_cleanup' EXIT
for _ in $(seq 100); do [[ -S $jsock && -S $nsock ]] && break; sleep 0.1; done
[[ -S $jsock && -S $nsock ]] || fail "the listener did not bind its sockets"

# wait_for FILE PATTERN SECONDS: a line of FILE matching PATTERN in time
# (by the clock: a loop of checks takes its own time in a guest), while
# dsmd runs if it was started.
wait_for() {
	local end=$((SECONDS + $3))
	while ((SECONDS < end)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		[[ -n ${DSMD_PID:-} ]] && ! dsm_running && { cat "$1" >&2; fail "dsmd exited"; }
		sleep 0.2
	done
	cat "$1" >&2
	fail "nothing matching '$2' in $1 within $3 s"
}

echo "--- dsmd as the unit starts it"
# The unit's directories, as systemd makes them before ExecStart.
install -d -m "$(unit_value RuntimeDirectoryMode)" "/run/$(unit_value RuntimeDirectory)"
install -d -m "$(unit_value StateDirectoryMode)" "/var/lib/$(unit_value StateDirectory)"
env_file=$(unit_value EnvironmentFile)
env_file=${env_file#-}
# ExecStart's words as systemd expands them: $VAR splits into words,
# ${VAR} stays one word, the rest is literal.
read -ra words <<<"$(unit_value ExecStart)"
argv=()
while IFS= read -r line; do
	[[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=\"?(.*[^\"])?\"?$ ]] && declare "ENV_${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
done <<<"$(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$env_file" 2>/dev/null)"
for w in "${words[@]}"; do
	if [[ $w =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
		v=ENV_${BASH_REMATCH[1]}
		read -ra split <<<"${!v:-}"
		argv+=("${split[@]}")
	elif [[ $w =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]]; then
		v=ENV_${BASH_REMATCH[1]}
		argv+=("${!v:-}")
	else
		argv+=("$w")
	fi
done
echo "ExecStart: ${argv[*]}"
expect_eq "ExecStart's program" "${argv[0]}" /usr/sbin/dsmd
expect_eq "options from $env_file" "${argv[*]: -2}" "--metrics-file $prom"
watchdog=$(seconds "$(unit_value WatchdogSec)")
start_limit=$(seconds "$(unit_value TimeoutStartSec)")
(
	cd /
	export NOTIFY_SOCKET=$nsock WATCHDOG_USEC=$((watchdog * 1000000)) WATCHDOG_PID=$BASHPID
	exec "${argv[@]}"
) >>"$DSM_LOG" 2>&1 </dev/null &
DSMD_PID=$!
DSMD=/usr/sbin/dsmd DSMCTL=/usr/bin/dsmctl
wait_for "$nlog" '^READY=1' "$start_limit"
expect_eq "first notification" "$(head -1 "$nlog")" \
	"READY=1|STATUS=enforcing policy 'example-cluster' version 3 on node node1 pins=1 ctl=1"
grep -q "main: watchdog every $((watchdog * 1000)) ms" "$DSM_LOG" ||
	fail "dsmd did not take WatchdogSec=$(unit_value WatchdogSec)"
expect_eq "dsmctl status" "$("$DSMCTL" status --json | jq -r '"\(.mode) \(.policy.name) \(.policy.version)"')" \
	"enforcing example-cluster 3"

echo "--- a denial: unconfined may not signal dsmd"
/usr/bin/kill -0 "$DSMD_PID" 2>/dev/null && fail "unconfined signalled dsmd"
wait_for "$jlog" '"DSM_TARGET": "dsmd"' 10
jent=$(jq -c 'select(.DSM_TARGET == "dsmd" and .DSM_PERMISSION == "signal")' "$jlog" | head -1)
echo "journal: $jent"
[[ -n $jent ]] || fail "no journal entry for the denied signal"
for _ in $(seq 50); do
	alarm=$("$DSMCTL" alarms --json | jq -c 'select(.target == "dsmd" and .perm == "signal")' | head -1)
	[[ -n $alarm ]] && break
	sleep 0.1
done
echo "JSON line: $alarm"
[[ -n $alarm ]] || fail "no JSON alarm for the denied signal"
expect_eq "journal fields = the JSON line" \
	"$(jq -r '[.DSM_SUBJECT, .DSM_TARGET, .DSM_CLASS, .DSM_PERMISSION, .DSM_VERDICT, .DSM_NODE, .DSM_PID, .DSM_COMM] | join(" ")' <<<"$jent")" \
	"$(jq -r '[.subject, .target, .class, .perm, .verdict, .node, (.pid | tostring), .comm] | join(" ")' <<<"$alarm")"
expect_eq "the denial" "$(jq -r '"\(.DSM_SUBJECT) \(.DSM_CLASS) \(.DSM_PERMISSION) \(.DSM_VERDICT) \(.DSM_COMM)"' <<<"$jent")" \
	"unconfined process signal deny kill"
expect_eq "identity" "$(jq -r '"\(.SYSLOG_IDENTIFIER) \(.MESSAGE_ID) \(.PRIORITY)"' <<<"$jent")" \
	"dsmd d5e0b26d5a0c44d980c2e4a6b9343921 4"
[[ $(jq -r .MESSAGE <<<"$jent") == *unconfined*dsmd* ]] || fail "MESSAGE: $(jq -r .MESSAGE <<<"$jent")"

echo "--- the metrics file"
for _ in $(seq 100); do grep -q '^dsm_up 1$' "$prom" 2>/dev/null && break; sleep 0.1; done
grep -q '^dsm_up 1$' "$prom" || { cat "$prom" >&2; fail "no dsm_up 1 in $prom"; }
grep -q '^dsm_policy_version 3$' "$prom" || fail "no dsm_policy_version 3 in $prom"

echo "--- systemctl reload: the unit's ExecReload"
read -ra reload <<<"$(unit_value ExecReload)"
: >"$nlog"
"${reload[@]}" || fail "ExecReload (${reload[*]}) failed"
wait_for "$nlog" '^READY=1' 30
expect_eq "around the reload" "$(grep -v '^WATCHDOG' "$nlog" | cut -d'|' -f1 | paste -sd' ')" \
	"RELOADING=1 READY=1"

echo "--- taking it away: dsmd --unload, then dpkg -P"
: >"$nlog"
/usr/sbin/dsmd --unload >>"$DSM_LOG" 2>&1 || fail "dsmd --unload failed"
for _ in $(seq 300); do dsm_running || break; sleep 0.1; done
dsm_running && fail "dsmd runs after --unload"
DSMD_PID=
grep -q '^STOPPING=1' "$nlog" || fail "no STOPPING=1"
[[ -e /sys/fs/bpf/dsm ]] && fail "dsm's pins are still there"
for p in "${binds[@]}"; do umount "$p" || fail "umount $p"; done
dpkg -P dsm >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -P failed"; }
for f in /usr/sbin/dsmd /usr/bin/dsmctl /lib/systemd/system/dsmd.service /etc/default/dsmd \
	/etc/dsm/dsm.policy.example; do
	[[ -e $f ]] && fail "$f left after the purge"
done
[[ -e /etc/dsm/dsm.policy ]] || fail "the purge removed the operator's policy"
exit 0
