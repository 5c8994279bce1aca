#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mailinit firstboot --dry-run` against a misbehaving stand-in IMDS: 5xx, IMDS disabled (403 on
# the token), the hop limit (token PUT hangs), connection refused, a GET that hangs, dropped
# connections, NUL bytes and empty answers, and the retry knobs AWS_METADATA_SERVICE_TIMEOUT /
# AWS_METADATA_SERVICE_NUM_ATTEMPTS.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init

ID=/latest/meta-data/instance-id

# start_with_faults JSON-LIST - the normal instance with these fault rules.
start_with_faults() {
	mi_imds_config imds.json "{\"faults\": $1}"
	mi_start_imds imds.json
}

# fast_knobs - small retry knobs so that hangs and drops end within seconds.
fast_knobs() {
	export AWS_METADATA_SERVICE_TIMEOUT=1 AWS_METADATA_SERVICE_NUM_ATTEMPTS=2
}

t_503_twice() {
	start_with_faults "[{\"path\": \"$ID\", \"times\": 2, \"action\": \"status\", \"status\": 503}]"
	export AWS_METADATA_SERVICE_NUM_ATTEMPTS=3
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_count "\"path\":\"$ID\"" 3
	mi_assert_count '"method":"PUT"' 1
	mi_assert_faster 10000
}

t_503_twice_default_knobs() {
	start_with_faults "[{\"path\": \"$ID\", \"times\": 2, \"action\": \"status\", \"status\": 503}]"
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_count "\"path\":\"$ID\"" 3
	mi_assert_faster 15000
}

t_num_attempts_honoured() {
	start_with_faults "[{\"path\": \"$ID\", \"action\": \"status\", \"status\": 503}]"
	fast_knobs
	mi_dry_run run
	[[ $MI_RC == 69 || $MI_RC == 75 ]] || { mi_show_run; mi_fail "503 forever: exit $MI_RC, want 69 or 75"; }
	mi_assert_error 'instance-id'
	mi_assert_count "\"path\":\"$ID\"" 2
	mi_assert_faster 15000
}

t_token_403_disabled() {
	start_with_faults '[{"path": "token", "action": "status", "status": 403}]'
	mi_dry_run run
	mi_assert_rc 69
	mi_assert_error 'disabled'
	mi_assert_count '"method":"PUT"' 1
	mi_assert_count '"method":"GET"' 0
	mi_assert_faster 3000
}

t_token_hangs_hop_limit() {
	start_with_faults '[{"path": "token", "action": "hang"}]'
	fast_knobs
	mi_dry_run run
	mi_assert_rc 75
	mi_assert_error 'hop.limit'
	mi_assert_count '"method":"PUT"' 2
	mi_assert_count '"method":"GET"' 0
	mi_assert_faster 12000
}

t_connection_refused() {
	local port
	port=$(mi_closed_port)
	export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$port
	fast_knobs
	mi_dry_run run
	mi_assert_rc 69
	mi_assert_error 'unreachable|refused|connect'
	mi_assert_faster 12000
}

t_get_hangs() {
	start_with_faults "[{\"path\": \"$ID\", \"action\": \"hang\"}]"
	fast_knobs
	mi_dry_run run
	mi_assert_rc 75
	mi_assert_error 'instance-id'
	mi_assert_count "\"path\":\"$ID\"" 2
	mi_assert_faster 12000
}

t_drop_then_success() {
	start_with_faults "[{\"path\": \"$ID\", \"times\": 2, \"action\": \"drop\"}]"
	export AWS_METADATA_SERVICE_TIMEOUT=1 AWS_METADATA_SERVICE_NUM_ATTEMPTS=3
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_count "\"path\":\"$ID\"" 3
	mi_assert_faster 10000
}

t_slow_under_timeout() {
	start_with_faults "[{\"path\": \"$ID\", \"action\": \"slow\", \"delay_ms\": 300}]"
	export AWS_METADATA_SERVICE_TIMEOUT=2 AWS_METADATA_SERVICE_NUM_ATTEMPTS=1
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_count "\"path\":\"$ID\"" 1
}

t_nul_in_instance_id() {
	start_with_faults "[{\"path\": \"$ID\", \"action\": \"nul\"}]"
	fast_knobs
	mi_dry_run run
	mi_assert_rc 69
	mi_assert_error 'instance-id'
}

t_empty_region() {
	start_with_faults '[{"path": "/latest/meta-data/placement/region", "action": "empty"}]'
	fast_knobs
	mi_dry_run run
	mi_assert_rc 69
	mi_assert_error 'region'
}

t_no_v1_fallback() {
	# An IMDSv1-only service (token PUT unsupported): mailinit is IMDSv2-only by default and
	# must not read metadata without a token.
	mi_imds_config imds.json '{"allow_v1": true, "faults": [{"path": "token", "action": "status", "status": 404}]}'
	mi_start_imds imds.json
	fast_knobs
	mi_dry_run run
	[[ $MI_RC != 0 ]] || { mi_show_run; mi_fail "token PUT 404: exit 0 (IMDSv1 fallback?)"; }
	mi_assert_error '.'
	mi_assert_count '"method":"GET"' 0
}

t_credentials_code_not_success() {
	# IMDS answers 200 with a JSON error when EC2 cannot assume the role (SPEC: an error).
	mi_imds_config imds.json '{"credentials": {"code": "AssumeRoleUnauthorizedAccess"}}'
	mi_start_imds imds.json
	mi_dry_run run
	[[ $MI_RC != 0 ]] || { mi_show_run; mi_fail "credentials with Code AssumeRoleUnauthorizedAccess: exit 0"; }
	mi_assert_error 'AssumeRoleUnauthorizedAccess'
	mi_assert_error 'mailinit-test-role'
}

mi_scenario 503-twice-then-success t_503_twice
mi_scenario 503-twice-default-knobs t_503_twice_default_knobs
mi_scenario num-attempts-honoured t_num_attempts_honoured
mi_scenario token-403-imds-disabled t_token_403_disabled
mi_scenario token-hangs-hop-limit t_token_hangs_hop_limit
mi_scenario connection-refused t_connection_refused
mi_scenario get-hangs t_get_hangs
mi_scenario drop-then-success t_drop_then_success
mi_scenario slow-under-timeout t_slow_under_timeout
mi_scenario nul-in-instance-id t_nul_in_instance_id
mi_scenario empty-region t_empty_region
mi_scenario no-imdsv1-fallback t_no_v1_fallback
mi_scenario credentials-code-not-success t_credentials_code_not_success
mi_finish
