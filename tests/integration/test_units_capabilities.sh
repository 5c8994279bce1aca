#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The units' privileges are enough for the job: the built-in mode's first-boot scenarios pass
# with only the capabilities of mailinit-firstboot.service's CapabilityBoundingSet= and its
# NoNewPrivileges=, and the relay's operations (socket activation, SIGHUP, queue, sd_notify)
# with the relay unit's (none). Postfix mode: test_units_capabilities_postfix.sh. Each unit's
# settings are read from units/ and applied with setpriv(1) to every mailinit process of
# those tests (lib_units.sh). (The rest of the sandbox, ProtectSystem= and the system
# call filter, needs systemd as PID 1: `systemd-analyze verify` and `security` check it in
# scripts/check-packages.sh.)
# shellcheck disable=SC2317 # scenario functions run through mi_scenario
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init
mi_require setpriv
. "$(dirname "$0")/lib_units.sh"
[[ $(id -u) -eq 0 ]] || mi_skip "needs root (capabilities are dropped from root's)"

t_the_wrapper_drops_capabilities() {
	local wrapper
	wrapper=$(sandboxed_mailinit mailinit-relay.service)
	# The wrapper's bounding set reaches the process: run a shell through the same setpriv.
	sed "s|-- .*|-- grep -E '^Cap(Bnd\|Eff):' /proc/self/status|" "$wrapper" >caps.sh
	sh caps.sh >caps.out
	mi_assert_grep caps.out '^CapBnd:[[:space:]]+0+$'
	mi_assert_grep caps.out '^CapEff:[[:space:]]+0+$'
}

t_firstboot_builtin() { run_under mailinit-firstboot.service test_firstboot_builtin_relay.sh; }
t_relay_operations() { run_under mailinit-relay.service test_relay_ops.sh; }

mi_scenario the-wrapper-drops-capabilities t_the_wrapper_drops_capabilities
mi_scenario firstboot-builtin t_firstboot_builtin
mi_scenario relay-operations t_relay_operations
mi_finish
