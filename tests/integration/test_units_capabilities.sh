#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mailinit-firstboot.service's privileges are enough for the job: the built-in mode's first
# boot passes with only the capabilities of its CapabilityBoundingSet= (CAP_CHOWN for the
# credentials file, CAP_DAC_READ_SEARCH for the relay's spool) and with no_new_privs, applied
# with setpriv(1) (lib_units.sh); Postfix mode: test_units_capabilities_postfix.sh. (The rest
# of the sandbox, ProtectSystem= and the system call filter, and the relay's unit, which runs
# as its own user with no capability at all, need systemd as PID 1: `systemd-analyze verify`
# and `security` check them in scripts/check-packages.sh.)
# shellcheck disable=SC2317 # scenario functions run through mi_scenario
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init
mi_require setpriv
. "$MI_LIB_DIR/lib_units.sh"
[[ $(id -u) -eq 0 ]] || mi_skip "needs root (capabilities are dropped from root's)"

t_the_wrapper_drops_capabilities() {
	local wrapper
	wrapper=$(sandboxed_mailinit mailinit-firstboot.service firstboot)
	# The bounding set reaches the process: the same setpriv line, running grep instead.
	grep setpriv "$wrapper" | sed -e 's/^firstboot) //' -e 's/ ;;$//' \
		-e "s|-- .*|-- grep -E '^Cap(Bnd\|Eff):' /proc/self/status|" >caps.sh
	sh caps.sh >caps.out
	# CAP_CHOWN (bit 0) and CAP_DAC_READ_SEARCH (bit 2): 0x5, nothing else.
	mi_assert_grep caps.out '^CapBnd:[[:space:]]+0+5$'
	mi_assert_grep caps.out '^CapEff:[[:space:]]+0+5$'
}

t_firstboot_builtin() { run_firstboot_test test_firstboot_builtin_relay.sh; }

mi_scenario the-wrapper-drops-capabilities t_the_wrapper_drops_capabilities
mi_scenario firstboot-builtin t_firstboot_builtin
mi_finish
