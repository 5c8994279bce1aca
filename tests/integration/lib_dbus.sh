# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib_dbus.sh - the stand-in systemd (peers/fake_systemd.py) for integration tests. Source it
# after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_dbus.sh"
#   mi_init
#   mi_require_fake_systemd          # exit 77 without dbus-daemon or python3-dbusmock
#   t_restart() {
#           echo '{"results": {"postfix.service": "done"}}' >systemd.json
#           mi_start_fake_systemd systemd.json  # exports DBUS_SYSTEM_BUS_ADDRESS, MI_SYSTEMD_CALL_LOG
#           mi_run run1 "$MAILINIT_BUILD_DIR/tests/tools/restart_tool" postfix.service
#           mi_assert_grep "$MI_SYSTEMD_CALL_LOG" '^[0-9.]+ RestartUnit "postfix.service" "replace"$'
#   }
#   mi_scenario restart t_restart
#
# The configuration format is described at the top of peers/fake_systemd.py. Each start gets
# its own private bus: a dbus-daemon and a dbusmock process, children of fake_systemd.py, which
# is registered for cleanup like the other peers (by PID, in MI_PIDS and $MI_TMP/.pids) and
# stops both children by PID when it is stopped.

MI_SYSTEMD_COUNT=0

# mi_require_fake_systemd - skip the test (77) when dbus-daemon, dbus-send or python3-dbusmock
# is missing.
mi_require_fake_systemd() {
	mi_require dbus-daemon dbus-send
	"$MI_PYTHON" -c 'import dbus, dbusmock, dbusmock.templates.systemd, gi.repository.GLib' \
		2>/dev/null || mi_skip "python3-dbusmock is not installed"
}

# mi_start_fake_systemd CONFIG_JSON_FILE - start a private bus with the stand-in systemd on it.
# Exports DBUS_SYSTEM_BUS_ADDRESS, MI_SYSTEMD_CALL_LOG (dbusmock's call log: one
# '<time> Method "arg" "arg"' line per call, '<time> emit PATH IFACE.Signal args' per signal),
# MI_SYSTEMD_DIR (socket, logs) and MI_SYSTEMD_PID.
mi_start_fake_systemd() {
	local config=$1 n dir i
	[[ -f $config ]] || mi_fail "mi_start_fake_systemd: no such file: $config"
	MI_SYSTEMD_COUNT=$((MI_SYSTEMD_COUNT + 1))
	n=$MI_SYSTEMD_COUNT
	dir=$MI_DIR/systemd.$n
	mkdir -p "$dir"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_systemd.py" --dir "$dir" --config "$config" \
		>"$dir/stdout" 2>"$dir/stderr" &
	MI_SYSTEMD_PID=$!
	MI_PIDS+=("$MI_SYSTEMD_PID")
	echo "$MI_SYSTEMD_PID" >>"$MI_TMP/.pids"
	# Up to 25 s: python-dbusmock alone takes seconds to start on a loaded CI machine.
	for ((i = 0; i < 500; i++)); do
		[[ -s $dir/address ]] && break
		if ! kill -0 "$MI_SYSTEMD_PID" 2>/dev/null; then
			cat "$dir/stderr" "$dir/dbusmock.log" "$dir/dbus-daemon.log" 2>/dev/null
			mi_fail "the stand-in systemd exited at start"
		fi
		sleep 0.05
	done
	if ! [[ -s $dir/address ]]; then
		cat "$dir/stderr" "$dir/dbusmock.log" 2>/dev/null
		mi_fail "the stand-in systemd wrote no bus address within 25 s"
	fi
	DBUS_SYSTEM_BUS_ADDRESS=$(<"$dir/address")
	MI_SYSTEMD_CALL_LOG=$dir/calls.log
	MI_SYSTEMD_DIR=$dir
	export DBUS_SYSTEM_BUS_ADDRESS MI_SYSTEMD_CALL_LOG MI_SYSTEMD_DIR MI_SYSTEMD_PID
}

# mi_stop_fake_systemd - stop the stand-in systemd started last (its bus goes away with it).
mi_stop_fake_systemd() {
	mi__stop_peer MI_SYSTEMD_PID
}

# mi_systemd_calls [REGEX] - print the method calls of the call log without their time stamps
# ('RestartUnit "postfix.service" "replace"'), only those matching REGEX when given; signals
# ("emit ...") and errors ("... raised: ...") are left out.
mi_systemd_calls() {
	local regex=${1:-.}
	sed -E 's/^[0-9.]+ //' "$MI_SYSTEMD_CALL_LOG" | grep -Ev '^emit |^[A-Za-z]+ raised: ' |
		grep -E -- "$regex" || true
}

# mi_assert_systemd_calls REGEX WANT... - the calls matching REGEX are exactly the WANT lines,
# in this order.
mi_assert_systemd_calls() {
	local regex=$1 got want
	shift
	got=$(mi_systemd_calls "$regex")
	want=$(printf '%s\n' "$@")
	if [[ $got != "$want" ]]; then
		echo "--- call log ($MI_SYSTEMD_CALL_LOG):"
		cat "$MI_SYSTEMD_CALL_LOG"
		echo "--- calls matching /$regex/, want:"
		echo "$want"
		mi_fail "the stand-in systemd's calls differ"
	fi
}
