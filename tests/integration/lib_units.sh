# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib_units.sh - run integration tests with the privileges a systemd unit of units/ gives
# (test_units_capabilities*.sh): its CapabilityBoundingSet= and NoNewPrivileges=, applied
# with setpriv(1) to every mailinit process of the test. Needs lib.sh (mi_init) first.

UNITS=$MAILINIT_SOURCE_DIR/units

# unit_setting UNIT KEY - the value of KEY= in UNIT (the last one wins, as in systemd)
unit_setting() {
	sed -n "s/^$2=//p" "$UNITS/$1" | tail -n 1
}

# sandboxed_mailinit UNIT - a wrapper running $MAILINIT with UNIT's capability bounding set
# and no_new_privs; prints its path.
sandboxed_mailinit() {
	local unit=$1 caps bounding=-all cap nnp=() wrapper
	caps=$(unit_setting "$unit" CapabilityBoundingSet)
	for cap in $caps; do
		cap=${cap#CAP_}
		bounding+=",+${cap,,}"
	done
	[[ $(unit_setting "$unit" NoNewPrivileges) == yes ]] && nnp=(--no-new-privs)
	wrapper=$MI_TMP/mailinit-as-${unit%.*}
	printf '#!/bin/sh\nexec setpriv --bounding-set=%s %s -- %q "$@"\n' \
		"$bounding" "${nnp[*]}" "$MAILINIT" >"$wrapper"
	chmod +x "$wrapper"
	echo "$wrapper"
}

# run_under UNIT TEST - TEST (an integration script) with mailinit sandboxed like UNIT.
run_under() {
	local wrapper
	wrapper=$(sandboxed_mailinit "$1")
	grep -q -- '--no-new-privs' "$wrapper" || mi_fail "$1: NoNewPrivileges=yes expected"
	MAILINIT=$wrapper bash "$MI_LIB_DIR/$2" >"$2.log" 2>&1 || {
		tail -n 40 "$2.log"
		mi_fail "$2 fails with the privileges of $1 ($(head -n 2 "$wrapper" | tail -n 1))"
	}
	mi_assert_grep "$2.log" '^=== [1-9][0-9]* passed, 0 failed'
}
