#!/usr/bin/env bash
# The bash completion of dsmctl (packaging/bash-completion/dsmctl) offers
# what dsmctl's own parser takes: the commands of its command table
# (dsmctl/main.c) and each command's options (its dsmctl_opt table). The
# two helpers it needs from bash-completion are stood in for here.
. "$(dirname "$0")/lib"

_init_completion() {
	words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	cur=${words[cword]} prev=${words[cword - 1]:-}
}
_filedir() { COMPREPLY=(FILES); }
# shellcheck source=/dev/null
. "$top/packaging/bash-completion/dsmctl"

# complete WORD...: what dsmctl WORD... offers, sorted, on one line.
complete_line() {
	COMP_WORDS=(dsmctl "$@") COMP_CWORD=$#
	COMPREPLY=()
	_dsmctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
}
# opts_of FILE: the option names of a command's dsmctl_opt table, and --help.
opts_of() {
	{ sed -nE 's/.*\.name = "(--[a-z-]+)".*/\1/p' "$top/dsmctl/$1"; echo --help; } |
		sort -u | paste -sd' '
}

want=$(sed -nE 's/^\t\{ "([a-z]+)", +[a-z_]+ \},$/\1/p' "$top/dsmctl/main.c" | sort | paste -sd' ')
got=$(complete_line "")
[[ -n $want && $got == "$want" ]] && pass completion-commands ||
	fail completion-commands "offers '$got', the command table has '$want'"

bad=""
for c in status:cmd_status.c stats:cmd_stats.c ps:cmd_ps.c exec:cmd_exec.c doctor:cmd_doctor.c alarms:cmd_alarms.c; do
	want=$(opts_of "${c#*:}")
	got=$(complete_line "${c%%:*}" --)
	[[ $got == "$want" ]] || bad+="${bad:+; }${c%%:*}: offers '$got', parser takes '$want'"
done
[[ -z $bad ]] && pass completion-options || fail completion-options "$bad"

# policy's subcommands, as its usage line lists them (dsmctl/cmd_policy.c)
want=$(sed -nE 's/^#define SUBCOMMANDS "(.*)"$/\1/p' "$top/dsmctl/cmd_policy.c" | tr -d ',' |
	tr ' ' '\n' | sort | paste -sd' ')
got=$(complete_line policy "")
[[ -n $want && $got == "$want" ]] && pass completion-policy ||
	fail completion-policy "policy offers '$got', its usage lists '$want'"
got=$(complete_line --socket /run/x keys rotate --)
[[ $got == "--json --now" ]] && pass completion-after-global ||
	fail completion-after-global "keys rotate after --socket PATH offers '$got'"
got=$(complete_line doctor --policy "")
[[ $got == FILES ]] && pass completion-files || fail completion-files "doctor --policy offers '$got'"
exit 0
