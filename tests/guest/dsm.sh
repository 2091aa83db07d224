# dsm.sh: start, drive and check dsm inside a guest test. Source after
# lib.sh. Every test that starts dsmd gets it unloaded again on exit.

DSMD=$build/dsmd
DSMCTL=$build/dsmctl
PROBE=$build/tests/guest/tools/probe
DSM_RUN=/run/dsm
DSM_ALARMS=$DSM_RUN/alarms.jsonl
DSM_LOG=/tmp/dsmd.log
export DSM_SOCKET=$DSM_RUN/dsmd.sock DSM_ALARMS

# Every label of the test policies; unconfined (the initial label, which
# runs the test itself) may do anything to any of them, so the test's own
# machinery never trips over the policy under test.
DSM_TEST_LABELS="unconfined dsmd dsmd_exec a b c probe_exec"
# Connections between the test's own labels (loopback included) come from
# peers that carry no dsm option unless the test gives keys: the unlabeled
# rule below names them "world", and every test label may hear the world.
# Unix connects and datagrams are peer checks too (sender@this node ->
# the receiving socket's label): every test label may reach dsmd's control
# socket, and unconfined (the runner) and dsmd (its syslog) any socket.
# What the control socket then serves is class dsm: unconfined is the
# operator (every request), dsmd itself too (`dsmd --unload` asks the
# running dsmd), every other test label may ask only for its peer's label.
DSM_TEST_PEERS="$(for l in $DSM_TEST_LABELS; do printf '%s@any ' "$l"; done)"

# dsm_policy FILE [VERSION] < RULES: a test policy: the common preamble
# (labels, dsmd's own domain, an unconfined test runner) plus RULES.
dsm_policy() {
	local file=$1 version=${2:-1}
	{
		cat <<-EOP
		policy test version $version;
		mode enforcing;
		label unconfined = 1;
		label dsmd = 2;
		label dsmd_exec = 3;
		label a = 10;
		label b = 11;
		label c = 12;
		label probe_exec = 20;
		initial unconfined;
		file $DSMD : dsmd_exec;
		transition unconfined dsmd_exec -> dsmd;
		allow unconfined { $DSM_TEST_LABELS } : process *;
		allow unconfined { $DSM_TEST_LABELS } : file *;
		allow unconfined unconfined : socket *;
		allow unconfined unconfined : system *;
		allow dsmd { $DSM_TEST_LABELS } : process *;
		allow dsmd { $DSM_TEST_LABELS } : file *;
		allow dsmd dsmd : socket *;
		allow dsmd dsmd : system *;
		label world = 99;
		unlabeled 0.0.0.0/0 -> world;
		allow world@any { $DSM_TEST_LABELS } : peer recv;
		allow { $DSM_TEST_PEERS} dsmd : peer recv;
		allow { unconfined@any dsmd@any } { $DSM_TEST_LABELS } : peer recv;
		allow { unconfined dsmd } dsmd : dsm *;
		allow { $DSM_TEST_LABELS } dsmd : dsm peerlabel;
		EOP
		cat
	} >"$file"
}

# dsm_running: dsmd still runs (it is neither gone nor a zombie). Not by
# kill -0: a policy may deny the runner's label signals to dsmd.
dsm_running() {
	local s
	[[ -n ${DSMD_PID:-} ]] || return 1
	{ read -r s <"/proc/$DSMD_PID/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[[ ${s%% *} != Z ]]
}

# dsm_start POLICY [DSMD ARGS...]: start dsmd, wait until it serves.
dsm_start() {
	local policy=$1 i
	shift
	"$DSMD" --policy "$policy" "$@" >>"$DSM_LOG" 2>&1 &
	DSMD_PID=$!
	for ((i = 0; i < 600; i++)); do
		[[ -S $DSM_RUN/dsmd.sock ]] && vm_file_has "$DSM_LOG" "main: ready: .*, pid $DSMD_PID\b" && return 0
		dsm_running || { cat "$DSM_LOG" >&2; fail "dsmd exited while starting"; }
		sleep 0.1
	done
	cat "$DSM_LOG" >&2
	fail "dsmd did not get ready in 60s"
}

# dsm_stop: remove dsm from the kernel and stop dsmd (runs on exit too).
dsm_stop() {
	"$DSMD" --unload >>"$DSM_LOG" 2>&1
	if dsm_running; then
		kill -TERM "$DSMD_PID" 2>/dev/null
		wait "$DSMD_PID" 2>/dev/null
	fi
	DSMD_PID=
	rm -rf "$DSM_RUN"
}

dsm_cleanup() {
	[[ -e /sys/fs/bpf/dsm || -n ${DSMD_PID:-} ]] && dsm_stop
	if [[ ${DSM_TEST_FAILED:-0} != 0 && -s $DSM_LOG ]]; then
		echo "--- dsmd log"
		cat "$DSM_LOG"
	fi
	rm -f "$DSM_LOG"
}
trap 'DSM_TEST_FAILED=$?; dsm_cleanup' EXIT

# dsm_keyfile FILE [SEND_ID [ID...]]: a cluster key file, the same on every
# node (keys are derived from their ids: test keys, never secret).
dsm_keyfile() {
	local file=$1 send=${2:-1} id
	shift 2 2>/dev/null || shift $#
	(($#)) || set -- "$send"
	: >"$file"
	chmod 600 "$file"
	for id in "$@"; do
		printf 'key %d %s\n' "$id" "$(printf 'dsm-test-key-%03d' "$id" | od -An -tx1 | tr -d ' \n')" >>"$file"
	done
	echo "send $send" >>"$file"
}

# label_of PID: the label dsmctl ps shows for PID (empty if it lists none).
label_of() { "$DSMCTL" ps --json | jq -r ".processes[] | select(.pid == $1) | .label"; }

# as LABEL CMD...: run CMD under LABEL (the policy must allow the transition).
as() {
	local label=$1
	shift
	"$DSMCTL" exec --label "$label" -- "$@"
}

# alarm_stream: the alarm log's lines. Read directly where the runner's
# label may read dsm's files (system dsm_read), else through dsmd, which
# serves them to class dsm query (a runner in a confined initial label).
alarm_stream() {
	cat "$DSM_ALARMS" 2>/dev/null || "$DSMCTL" alarms --json 2>/dev/null
}

# alarm_find KEY=VALUE...: the first alarm (JSON line) matching every pair,
# waiting up to 30 s for it to arrive.
alarm_find() {
	local filter='.' kv i line
	for kv in "$@"; do
		filter+=" | select((.${kv%%=*} | tostring) == \"${kv#*=}\")"
	done
	ALARMS_SEEN=
	for ((i = 0; i < 300; i++)); do
		if alarms_changed; then
			line=$(alarm_stream | jq -c "$filter" 2>/dev/null | head -1)
			[[ -n $line ]] && { echo "$line"; return 0; }
		fi
		sleep 0.1
	done
	return 1
}

# alarms_changed: whether the alarm log differs (line count, last line)
# from what it was when this shell last asked (always yes without a log
# file, and after ALARMS_SEEN= ), so that a wait runs jq only when there
# is something new to look at.
alarms_changed() {
	local lines now
	mapfile -t lines 2>/dev/null <"$DSM_ALARMS" || return 0
	now=${#lines[@]}
	((now == 0)) || now+=":${lines[now - 1]}"
	[[ ${ALARMS_SEEN:-} != "$now" ]] || return 1
	ALARMS_SEEN=$now
}

# alarm_expect KEY=VALUE...: fail unless such an alarm arrives.
alarm_expect() {
	alarm_find "$@" >/dev/null || {
		echo "alarms so far:" >&2
		alarm_stream >&2
		fail "no alarm with $*"
	}
}

# alarm_count KEY=VALUE...: how many alarms match now. A record of what
# the rate limit held back ("suppressed": N, written at the next tick)
# counts N.
alarm_count() {
	local filter='.' kv
	for kv in "$@"; do
		filter+=" | select((.${kv%%=*} | tostring) == \"${kv#*=}\")"
	done
	alarm_stream | jq -n "[inputs | $filter | (.suppressed // 1)] | add // 0"
}

# alarm_lines KEY=VALUE...: how many lines of the alarm log match (a
# record of what was held back is one line).
alarm_lines() {
	local filter='.' kv
	for kv in "$@"; do
		filter+=" | select((.${kv%%=*} | tostring) == \"${kv#*=}\")"
	done
	alarm_stream | jq -c "$filter" | wc -l
}

# expect_probe WANT CMD...: run CMD, compare its last output line to WANT.
expect_probe() {
	local want=$1 got
	shift
	got=$("$@" 2>&1 | tail -1)
	[[ $got == "$want" ]] || fail "$*: got '$got', want '$want'"
}

# expect_alarmed WANT KEY=VALUE... -- CMD...: run CMD, compare its last
# output line to WANT, and fail unless CMD raised an alarm matching every
# pair (one more than there were before it ran; waits up to 30 s).
expect_alarmed() {
	local want=$1 kv=() before got i
	shift
	while [[ $1 != -- ]]; do kv+=("$1"); shift; done
	shift
	before=$(alarm_count "${kv[@]}")
	got=$("$@" 2>&1 | tail -1)
	[[ $got == "$want" ]] || fail "$*: got '$got', want '$want'"
	ALARMS_SEEN=
	for ((i = 0; i < 300; i++)); do
		alarms_changed && (($(alarm_count "${kv[@]}") > before)) && return 0
		sleep 0.1
	done
	echo "alarms so far:" >&2
	alarm_stream >&2
	fail "$*: no new alarm with ${kv[*]}"
}
