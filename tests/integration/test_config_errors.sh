#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mailinit.conf (--root, --config) and the region's sources with `mailinit firstboot --dry-run`
# against the stand-in IMDS: configuration errors name file:line and key (exit 78), nothing
# is printed on stdout on failure; AWS_REGION / AWS_DEFAULT_REGION override the metadata region
# but not the file.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init

start_imds() {
	mi_imds_config imds.json
	mi_start_imds imds.json
}

t_malformed_line() {
	start_imds
	mi_write_conf $'# mailinit test\nmode = postfix\nthis line has no equals sign\n'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'mailinit\.conf:3'
}

t_unknown_key() {
	start_imds
	mi_write_conf $'mode = postfix\nbogus_key = 1\n'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'mailinit\.conf:2'
	mi_assert_error 'bogus_key'
}

t_bad_duration() {
	start_imds
	mi_write_conf $'mode = postfix\n\n# retry spacing\nminimal_backoff_time = 5 fortnights\n'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'mailinit\.conf:4'
	mi_assert_error 'minimal_backoff_time'
}

t_bad_duration_unit() {
	start_imds
	mi_write_conf $'maximal_queue_lifetime = 5y\n'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'mailinit\.conf:1'
	mi_assert_error 'maximal_queue_lifetime'
}

t_bad_value() {
	start_imds
	mi_write_conf $'mode = sendmail\n'
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'mailinit\.conf:1'
	mi_assert_error '\bmode\b'
}

t_good_durations() {
	start_imds
	mi_write_conf $'minimal_backoff_time = 10m\nmaximal_backoff_time = 2h\nmaximal_queue_lifetime = 1w\n'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out minimal_backoff_time 10m file 'mailinit\.conf:1$'
	mi_assert_setting run.out maximal_backoff_time 2h file 'mailinit\.conf:2$'
	mi_assert_setting run.out maximal_queue_lifetime 1w file 'mailinit\.conf:3$'
}

t_syntax() {
	# Postfix main.cf syntax: comments, blank lines, continuation lines, $name expansion.
	start_imds
	mi_write_conf $'# mailinit test\n\nmydomain = example.com\nmynetworks = 127.0.0.0/8,\n    10.0.0.0/8\nnotify_from = mailer@$mydomain\n'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out mydomain example.com file '(^|/)etc/mailinit/mailinit\.conf:3$'
	mi_assert_setting run.out mynetworks '127.0.0.0/8, 10.0.0.0/8' file 'mailinit\.conf:4$'
	mi_assert_setting run.out notify_from mailer@example.com file 'mailinit\.conf:6$'
}

t_aws_region() {
	start_imds
	export AWS_REGION=us-east-2
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out region us-east-2 environment
}

t_aws_default_region() {
	start_imds
	export AWS_DEFAULT_REGION=us-west-2
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out region us-west-2 environment
	export AWS_REGION=ap-southeast-2
	mi_dry_run run2
	mi_assert_rc 0
	mi_assert_setting run2.out region ap-southeast-2 environment
}

t_file_region_over_env() {
	start_imds
	export AWS_REGION=us-east-2
	mi_write_conf $'region = eu-central-1\n'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out region eu-central-1 file 'mailinit\.conf:1$'
}

t_missing_config_option() {
	start_imds
	mi_dry_run run --config "$MI_DIR/nonexistent.conf"
	mi_assert_rc 78
	mi_assert_error 'nonexistent\.conf'
}

t_config_option() {
	start_imds
	printf 'mode = postfix\n' >other.conf
	mi_write_conf $'mode = builtin\nmydomain = root.example\n'
	mi_dry_run run --config "$MI_DIR/other.conf"
	mi_assert_rc 0
	mi_assert_setting run.out mode postfix file 'other\.conf:1$'
	mi_assert_setting run.out mydomain '' default
}

t_config_option_error() {
	start_imds
	printf 'mode = postfix\nnot a setting\n' >other.conf
	mi_dry_run run --config "$MI_DIR/other.conf"
	mi_assert_rc 78
	mi_assert_error 'other\.conf:2'
}

t_root() {
	start_imds
	mi_write_conf $'# under --root\nmode = postfix\nmydomain = example.com\n'
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out mode postfix file '(^|/)etc/mailinit/mailinit\.conf:2$'
	mi_assert_setting run.out mydomain example.com file '(^|/)etc/mailinit/mailinit\.conf:3$'
}

t_root_without_file() {
	start_imds
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_setting run.out mode builtin default '^built-in$'
	mi_assert_setting run.out region eu-west-1 metadata
}

t_usage() {
	start_imds
	mi_dry_run run --no-such-option
	mi_assert_rc 64
	[[ ! -s run.out ]] || mi_fail "usage error printed on stdout"
	# "Every error is one clear line on stderr starting with 'mailinit: error: '"; a usage
	# summary after that line is tolerated.
	[[ $(head -n 1 run.err) == 'mailinit: error: '*--no-such-option* ]] || {
		mi_show_run
		mi_fail "usage error: the first stderr line is not 'mailinit: error: ...--no-such-option...'"
	}
	mi_assert_count '"method"' 0
}

mi_scenario malformed-line t_malformed_line
mi_scenario unknown-key t_unknown_key
mi_scenario bad-duration t_bad_duration
mi_scenario bad-duration-unit t_bad_duration_unit
mi_scenario bad-value t_bad_value
mi_scenario good-durations t_good_durations
mi_scenario main-cf-syntax t_syntax
mi_scenario aws-region-env t_aws_region
mi_scenario aws-default-region-env t_aws_default_region
mi_scenario file-region-over-aws-region t_file_region_over_env
mi_scenario missing-config-option t_missing_config_option
mi_scenario config-option t_config_option
mi_scenario config-option-error t_config_option_error
mi_scenario root-config t_root
mi_scenario root-without-file t_root_without_file
mi_scenario usage t_usage
mi_finish
