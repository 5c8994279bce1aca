#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mailinit(8) and --help agree: every command and option `mailinit --help` and
# `mailinit COMMAND --help` print is in the page (a command's options in its own section),
# every command the page documents is one --help lists, and so are the environment variables,
# the exit codes, the configuration keys and the version. The page itself is clean for groff
# and man. The comparisons are in manpage_check.py.
# shellcheck disable=SC2317 # scenario functions run through mi_scenario
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init
mi_require groff man

PAGE=$MAILINIT_SOURCE_DIR/docs/mailinit.8
CHECK=$MI_LIB_DIR/manpage_check.py

# check NAME - one comparison of manpage_check.py; its lines are the disagreements.
check() {
	mi_run "$1" "$MI_PYTHON" "$CHECK" "$1" "$PAGE" "$MAILINIT" "$MAILINIT_SOURCE_DIR"
	[[ $MI_RC -eq 0 ]] || mi_fail "mailinit(8) and --help disagree: $(cat "$1.out" "$1.err")"
}

t_page_is_clean() {
	groff -man -ww -z "$PAGE" >groff.out 2>&1 || mi_fail "groff failed: $(cat groff.out)"
	mi_assert_empty groff.out
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$PAGE" >man.out 2>man.err ||
		mi_fail "man failed: $(cat man.err)"
	mi_assert_empty man.err
	mi_assert_grep man.out '^EXIT STATUS'
}

t_help_points_to_the_page() {
	"$MAILINIT" --help >help.out
	mi_assert_grep help.out 'See mailinit\(8\)\.'
}

t_commands() { check commands; }
t_options() { check options; }
t_environment() { check environ; }
t_exit_codes() { check exits; }
t_keys() { check keys; }
t_version() { check version; }

# The check finds what it is meant to: a page without firstboot's --force, or without the
# relay command, is refused (on a copy of the page).
t_check_can_fail() {
	sed '/^\.B \\-\\-force$/d' "$PAGE" >no-force.8
	mi_run no_force "$MI_PYTHON" "$CHECK" options no-force.8 "$MAILINIT" "$MAILINIT_SOURCE_DIR"
	mi_assert_rc 1
	mi_assert_grep no_force.out 'mailinit firstboot --help: option --force is not in'
	sed 's/^\.SS mailinit relay$/.SS mailinit relays/' "$PAGE" >no-relay.8
	mi_run no_relay "$MI_PYTHON" "$CHECK" commands no-relay.8 "$MAILINIT" "$MAILINIT_SOURCE_DIR"
	mi_assert_rc 1
	mi_assert_grep no_relay.out "--help lists 'relay': the page has no '.SS mailinit relay'"
	mi_assert_grep no_relay.out "documents 'mailinit relays', which --help does not list"
	sed '/^\.B smtpd_sasl_path$/d' "$PAGE" >no-key.8
	mi_run no_key "$MI_PYTHON" "$CHECK" keys no-key.8 "$MAILINIT" "$MAILINIT_SOURCE_DIR"
	mi_assert_rc 1
	mi_assert_grep no_key.out 'key smtpd_sasl_path \(common/settings.c\) is not in'
}

mi_scenario page_is_clean t_page_is_clean
mi_scenario help_points_to_the_page t_help_points_to_the_page
mi_scenario commands t_commands
mi_scenario options t_options
mi_scenario environment t_environment
mi_scenario exit_codes t_exit_codes
mi_scenario keys t_keys
mi_scenario version t_version
mi_scenario check_can_fail t_check_can_fail
mi_finish
