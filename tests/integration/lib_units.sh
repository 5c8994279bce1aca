# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib_units.sh - run integration tests with the privileges mailinit-firstboot.service gives
# (test_units_capabilities*.sh): its CapabilityBoundingSet= and NoNewPrivileges=, read from
# units/ and applied with setpriv(1) to every `mailinit firstboot` process of the test (the
# other commands, such as the relay a test starts, run as the test runs them). Needs lib.sh
# (mi_init) first.

UNITS=$MAILINIT_SOURCE_DIR/units

# unit_setting UNIT KEY - the value of KEY= in UNIT (the last one wins, as in systemd)
unit_setting() {
	sed -n "s/^$2=//p" "$UNITS/$1" | tail -n 1
}

# sandboxed_mailinit UNIT COMMAND - a wrapper running `$MAILINIT COMMAND ...` with UNIT's
# capability bounding set and no_new_privs, and any other command as it is; prints its path.
sandboxed_mailinit() {
	local unit=$1 command=$2 caps bounding=-all cap nnp= wrapper
	caps=$(unit_setting "$unit" CapabilityBoundingSet)
	for cap in $caps; do
		cap=${cap#CAP_}
		bounding+=",+${cap,,}"
	done
	[[ $(unit_setting "$unit" NoNewPrivileges) == yes ]] && nnp=--no-new-privs
	wrapper=$MI_TMP/mailinit-as-${unit%.*}
	{
		echo '#!/bin/sh'
		echo "case \${1:-} in"
		printf '%s) exec setpriv --bounding-set=%s %s -- %q "$@" ;;\n' \
			"$command" "$bounding" "$nnp" "$MAILINIT"
		printf '*) exec %q "$@" ;;\n' "$MAILINIT"
		echo esac
	} >"$wrapper"
	chmod +x "$wrapper"
	echo "$wrapper"
}

# run_firstboot_test TEST - TEST (an integration script) with `mailinit firstboot` sandboxed
# like mailinit-firstboot.service; it must pass.
run_firstboot_test() {
	local wrapper
	wrapper=$(sandboxed_mailinit mailinit-firstboot.service firstboot)
	grep -q -- '--no-new-privs' "$wrapper" ||
		mi_fail "mailinit-firstboot.service: NoNewPrivileges=yes expected"
	MAILINIT=$wrapper bash "$MI_LIB_DIR/$1" >"$1.log" 2>&1 || {
		tail -n 40 "$1.log"
		mi_fail "$1 fails with the privileges of mailinit-firstboot.service ($(grep setpriv "$wrapper"))"
	}
	mi_assert_grep "$1.log" '^=== [1-9][0-9]* passed, 0 failed'
}
