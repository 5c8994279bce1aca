#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instance tags named mailinit:<key> through the stand-in IMDS: applied with source "tag",
# above the configuration file and below user-data; unknown keys and bad values are
# configuration errors naming the tag; tags not exposed in metadata (404) are no error.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init

# start_with_tags TAGS-JSON [USER-DATA-FILE] - the normal instance with these tags.
start_with_tags() {
	if [[ -n ${2:-} ]]; then
		mi_imds_config imds.json "{\"tags\": $1, \"user_data_file\": \"$MI_DIR/$2\"}"
	else
		mi_imds_config imds.json "{\"tags\": $1}"
	fi
	mi_start_imds imds.json
}

t_tag_applied() {
	start_with_tags '{"Name": "web", "mailinit:mode": "postfix", "mailinit:notify_to": "ops@example.com"}'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# tags: 2 mailinit:\* tag(s|\(s\))$'
	mi_assert_setting run.out mode postfix tag '^tag mailinit:mode$'
	mi_assert_setting run.out notify_to ops@example.com tag '^tag mailinit:notify_to$'
	mi_assert_setting run.out relay_tls starttls default
}

t_user_data_over_tag() {
	printf '{"mailinit": {"mode": "builtin"}}\n' >ud
	start_with_tags '{"mailinit:mode": "postfix", "mailinit:max_send_rate": "5"}' ud
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out mode builtin user-data '^user-data$'
	mi_assert_setting run.out max_send_rate 5 tag '^tag mailinit:max_send_rate$'
}

t_tag_over_file() {
	start_with_tags '{"mailinit:mode": "postfix"}'
	mi_write_conf $'mode = builtin\nmydomain = example.com\n'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# tags: 1 mailinit:\* tag(\(s\))?$'
	mi_assert_setting run.out mode postfix tag '^tag mailinit:mode$'
	mi_assert_setting run.out mydomain example.com file 'mailinit\.conf:2$'
}

t_unknown_tag_key() {
	start_with_tags '{"Name": "web", "mailinit:mode": "postfix", "mailinit:bogus": "1"}'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'tag mailinit:bogus'
}

t_bad_tag_value() {
	start_with_tags '{"mailinit:relay_tls": "sometimes"}'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'tag mailinit:relay_tls'
}

t_tags_not_exposed() {
	start_with_tags null
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# tags: not exposed in instance metadata$'
	mi_assert_setting run.out mode builtin default
	mi_assert_count '"path":"/latest/meta-data/tags/instance/' 0
}

t_no_mailinit_tags() {
	start_with_tags '{"Name": "web", "team": "mail", "aws:autoscaling:groupName": "web-asg"}'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# tags: 0 mailinit:\* tag(s|\(s\))$'
	mi_assert_setting run.out mode builtin default
}

mi_scenario tag-applied t_tag_applied
mi_scenario user-data-overrides-tag t_user_data_over_tag
mi_scenario tag-overrides-file t_tag_over_file
mi_scenario unknown-tag-key t_unknown_tag_key
mi_scenario bad-tag-value t_bad_tag_value
mi_scenario tags-not-exposed t_tags_not_exposed
mi_scenario no-mailinit-tags t_no_mailinit_tags
mi_finish
