#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Postfix-mode first boot (postmap, postconf, main.cf and sasl_passwd, the restart, the
# confirmation) passes with only the privileges of mailinit-firstboot.service: its
# CapabilityBoundingSet= and NoNewPrivileges= (lib_units.sh). Built-in mode:
# test_units_capabilities.sh.
# shellcheck disable=SC2317 # scenario functions run through mi_scenario
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$MI_LIB_DIR/lib_units.sh"
mi_init
mi_require setpriv
[[ $(id -u) -eq 0 ]] || mi_skip "needs root (capabilities are dropped from root's)"

t_firstboot_postfix() { run_firstboot_test test_firstboot_postfix.sh; }

mi_scenario firstboot-postfix t_firstboot_postfix
mi_finish
