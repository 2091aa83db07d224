# nodes: 1
# Socket permissions, each allowed and denied: for every permission P a
# label holding all but P fails exactly at P with EACCES, and the alarm
# names P; the label holding all of them completes the whole exchange.
# Family and type qualify rules: raw and packet sockets stay denied to a
# label allowed inet stream and dgram.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../dsm.sh"

perms="create bind listen connect accept send recv"
rules="label full = 40;
allow full self : socket inet stream { $perms };
allow full self : socket inet dgram { $perms };
"
id=41
for p in $perms; do
	rest=$(tr ' ' '\n' <<<"$perms" | grep -vx "$p" | tr '\n' ' ')
	rules+="label no_$p = $id;
allow no_$p self : socket inet { $rest };
allow unconfined no_$p : process transition;
allow world@any no_$p : peer recv;
"
	id=$((id + 1))
done
rules+="allow unconfined full : process transition;
allow world@any full : peer recv;"
dsm_policy /tmp/p.policy <<<"$rules"
dsm_start /tmp/p.policy

port=7100
expect_probe "recv OK" as full "$PROBE" tcp $port
expect_probe "recv OK" as full "$PROBE" udp $port
for p in $perms; do
	port=$((port + 1))
	expect_probe "$p EACCES" as "no_$p" "$PROBE" tcp $port
	alarm_expect subject="no_$p" target="no_$p" class=socket perm="$p" verdict=deny errno=13
	case $p in listen|accept|connect) continue ;; esac
	expect_probe "$p EACCES" as "no_$p" "$PROBE" udp $port
done

# Family and type: full may create inet stream/dgram, never raw or packet.
expect_probe "create OK" as full "$PROBE" socket inet dgram
expect_probe "create EACCES" as full "$PROBE" socket inet raw
alarm_expect subject=full class=socket perm=create verdict=deny aux=$(((2 << 8) | 3))
expect_probe "create EACCES" as full "$PROBE" socket packet raw
alarm_expect subject=full class=socket perm=create verdict=deny aux=$(((17 << 8) | 3))
