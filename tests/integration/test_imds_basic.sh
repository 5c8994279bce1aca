#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `mailinit firstboot --dry-run` against the stand-in IMDSv2: a normal instance (role, tags,
# user-data, configuration file) and the token protocol (one token per run, TTL header,
# renewal after a 401, never through a proxy, AWS_EC2_METADATA_DISABLED).
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init

# The keys of the SPEC's configuration table: each appears once in the dry-run.
SPEC_KEYS=(mode secret_id region relayhost relay_tls tls_ca_file mydomain myorigin myhostname
	listen mynetworks notify_to notify_from max_send_rate message_size_limit minimal_backoff_time
	maximal_backoff_time maximal_queue_lifetime restart_units credentials_file spool_dir
	state_dir postfix_dir)

HOSTNAME_RE='ip-10-0-0-10\.eu-west-1\.compute\.internal'

# check_layout FILE - every setting line is exactly printf '%-23s = %-40s # %s (%s)'.
check_layout() {
	local file=$1 line want re n=0
	re='^([^ #]+) +=( (.*[^ ]))? +# ([a-z-]+) \((.*)\)$'
	while IFS= read -r line; do
		[[ -z $line || $line == '#'* ]] && continue
		[[ $line =~ $re ]] || mi_fail "$file: not a 'KEY = VALUE # SOURCE (ORIGIN)' line: '$line'"
		want=$(printf '%-23s = %-40s # %s (%s)' "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}" \
			"${BASH_REMATCH[4]}" "${BASH_REMATCH[5]}")
		[[ $line == "$want" ]] || mi_fail "$file: layout: got '$line', want '$want'"
		case ${BASH_REMATCH[4]} in
		default | metadata | environment | file | tag | user-data) ;;
		*) mi_fail "$file: unknown source '${BASH_REMATCH[4]}' in '$line'" ;;
		esac
		n=$((n + 1))
	done <"$file"
	((n > 0)) || mi_fail "$file: no setting lines"
}

t_normal() {
	# No secret_id anywhere in these tests: with it, the dry-run fetches the secret from
	# Secrets Manager (another test's business), and no test may leave the machine.
	printf '%s\n' '{"mailinit": {"notify_from": "mailer@example.com", "mydomain": "example.com",' \
		'  "notify_to": "ops@example.com"}}' >user-data.json
	mi_imds_config imds.json "{\"user_data_file\": \"$MI_DIR/user-data.json\",
		\"tags\": {\"Name\": \"web\", \"mailinit:mode\": \"postfix\", \"mailinit:max_send_rate\": \"14\"}}"
	mi_start_imds imds.json
	mi_write_conf $'# mailinit test configuration\nmessage_size_limit = 20480000\nmydomain = file.example\n'
	local before after key n
	before=$(mi_snapshot "$MI_DIR/root")
	mi_dry_run run
	mi_assert_rc 0
	after=$(mi_snapshot "$MI_DIR/root")
	[[ $before == "$after" ]] || mi_fail "--dry-run changed the root: before: $before after: $after"

	[[ $(head -n 1 run.out) == '# mailinit firstboot --dry-run: nothing is written, nothing is restarted' ]] ||
		mi_fail "first line: '$(head -n 1 run.out)'"
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_grep run.out '^# region: eu-west-1$'
	mi_assert_grep run.out "^# local-hostname: $HOSTNAME_RE\$"
	mi_assert_grep run.out '^# iam-role: mailinit-test-role [(]credentials expire 20[0-9-]*T[0-9:]*Z[)]$'
	mi_assert_grep run.out '^# tags: 2 mailinit:\* tag(s|\(s\))$'
	mi_assert_grep run.out '^# user-data: mailinit configuration \(JSON\)$'

	mi_assert_setting run.out mode postfix tag '^tag mailinit:mode$'
	mi_assert_setting run.out max_send_rate 14 tag '^tag mailinit:max_send_rate$'
	mi_assert_setting run.out notify_from mailer@example.com user-data '^user-data$'
	mi_assert_setting run.out mydomain example.com user-data '^user-data$'
	mi_assert_setting run.out notify_to ops@example.com user-data '^user-data$'
	mi_assert_setting run.out message_size_limit 20480000 file '(^|/)etc/mailinit/mailinit\.conf:2$'
	mi_assert_setting run.out region eu-west-1 metadata '^instance metadata$'
	mi_assert_setting run.out myhostname ip-10-0-0-10.eu-west-1.compute.internal metadata '^instance metadata$'
	mi_assert_setting run.out relay_tls starttls default '^built-in$'
	mi_assert_setting run.out spool_dir /var/spool/mailinit default '^built-in$'
	mi_assert_setting run.out state_dir /var/lib/mailinit default '^built-in$'
	mi_assert_setting run.out message_size_limit 20480000 file
	for key in "${SPEC_KEYS[@]}"; do
		n=$(grep -Ec "^$key +=" run.out || true)
		[[ $n == 1 ]] || mi_fail "run.out: $n line(s) for key '$key', want 1"
	done
	check_layout run.out
	# The role's credentials never show (the dry-run reads the role name only, or masks).
	mi_assert_no_grep run.out 'fakeSecretAccessKeyFromTheStandInImds|FakeSessionTokenFromTheStandInImds'
	mi_assert_no_grep run.err 'fakeSecretAccessKeyFromTheStandInImds|FakeSessionTokenFromTheStandInImds'
	mi_assert_no_grep run.err 'error'
}

t_one_token() {
	mi_imds_config imds.json '{"tags": {"Name": "web", "mailinit:mode": "postfix"}, "user_data_b64": "eyJtYWlsaW5pdCI6IHt9fQ=="}'
	mi_start_imds imds.json
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_count '"method":"PUT"' 1
	mi_assert_count '"method":"PUT","path":"/latest/api/token","has_token":false,"token_ttl":21600,"x_forwarded_for":false,"status":200' 1
	mi_assert_count '"x_forwarded_for":true' 0
	mi_assert_count '"has_token":false' 1 # the PUT only
	mi_assert_count '"token_valid":false' 1 # the PUT only
	mi_assert_count '"method":"(GET|HEAD)"' "$(($(grep -c '' "$MI_IMDS_LOG") - 1))"
	mi_assert_count '"path":"/latest/meta-data/instance-id"' 1
	mi_assert_count '"path":"/latest/user-data"' 1
	# Only the optional items may be absent (autoscaling/target-lifecycle-state is not set).
	mi_assert_count '"status":(4[0-9][0-9]|5[0-9][0-9]|null)' \
		"$(mi_count_log '"path":"/latest/meta-data/autoscaling/target-lifecycle-state".*"status":404')"
	mi_assert_count '"status":(401|403|5[0-9][0-9]|null)' 0
}

t_never_proxy() {
	local dead
	dead=http://127.0.0.1:$(mi_closed_port)
	mi_imds_config imds.json
	mi_start_imds imds.json
	export http_proxy=$dead HTTP_PROXY=$dead https_proxy=$dead HTTPS_PROXY=$dead all_proxy=$dead ALL_PROXY=$dead
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_count '"method":"PUT"' 1
}

t_renew_after_401() {
	mi_imds_config imds.json '{"faults": [{"path": "/latest/meta-data/placement/region", "method": "GET",
		"times": 1, "action": "status", "status": 401}]}'
	mi_start_imds imds.json
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out region eu-west-1 metadata
	mi_assert_count '"method":"PUT"' 2
	mi_assert_count '"path":"/latest/meta-data/placement/region"' 2
	mi_assert_count '"path":"/latest/meta-data/instance-id"' 1
}

t_401_renews_once_only() {
	mi_imds_config imds.json '{"faults": [{"path": "/latest/meta-data/placement/region", "method": "GET",
		"action": "status", "status": 401}]}'
	mi_start_imds imds.json
	export AWS_METADATA_SERVICE_TIMEOUT=1 AWS_METADATA_SERVICE_NUM_ATTEMPTS=2
	mi_dry_run run
	[[ $MI_RC != 0 ]] || mi_fail "a region that answers 401 forever: exit 0"
	mi_assert_error 'region'
	mi_assert_count '"method":"PUT"' 2
	mi_assert_count '"path":"/latest/meta-data/placement/region"' 2
}

t_metadata_disabled() {
	mi_imds_config imds.json
	mi_start_imds imds.json
	export AWS_EC2_METADATA_DISABLED=true
	mi_write_conf $'region = eu-west-1\n'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance metadata: disabled by AWS_EC2_METADATA_DISABLED$'
	mi_assert_setting run.out region eu-west-1 file
	[[ ! -s $MI_IMDS_LOG ]] || mi_fail "AWS_EC2_METADATA_DISABLED=true, yet IMDS was contacted: $(cat "$MI_IMDS_LOG")"
}

t_endpoint_trailing_slash() {
	mi_imds_config imds.json
	mi_start_imds imds.json
	export AWS_EC2_METADATA_SERVICE_ENDPOINT=$MI_IMDS_URL/
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# instance-id: i-0123456789abcdef0$'
	mi_assert_count '"path":"//' 0
	mi_assert_count '"path":"/latest/api/token"' 1
}

t_no_role() {
	mi_imds_config imds.json '{"role": null}'
	mi_start_imds imds.json
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# iam-role: none$'
	echo "(no role: the run took ${MI_ELAPSED_MS} ms)"
	mi_assert_faster 30000
}

t_role_appears_late() {
	mi_imds_config imds.json '{"faults": [{"path": "/latest/meta-data/iam/security-credentials/",
		"exact": true, "times": 3, "action": "status", "status": 404}]}'
	mi_start_imds imds.json
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_count '"path":"/latest/meta-data/iam/security-credentials/?".*"status":404' 3
	mi_assert_count '"path":"/latest/meta-data/iam/security-credentials/?".*"status":200' 1
	mi_assert_grep run.out '^# iam-role: mailinit-test-role [(]credentials expire 20[0-9-]*T[0-9:]*Z[)]$'
}

mi_scenario normal-run t_normal
mi_scenario one-token-per-run t_one_token
mi_scenario never-through-a-proxy t_never_proxy
mi_scenario renew-token-after-401 t_renew_after_401
mi_scenario 401-renews-once-only t_401_renews_once_only
mi_scenario metadata-disabled t_metadata_disabled
mi_scenario endpoint-trailing-slash t_endpoint_trailing_slash
mi_scenario no-role t_no_role
mi_scenario role-appears-late t_role_appears_late
mi_finish
