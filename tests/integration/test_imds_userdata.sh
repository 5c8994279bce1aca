#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# User-data through the stand-in IMDS: mailinit JSON (plain, gzip, inside MIME multipart),
# user-data that belongs to someone else (ignored, one line on stderr), bad user-data (65),
# unknown keys and bad values (78), and size limits (50 MB answer, gzip bomb) with bounded
# time and memory.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init

# with_user_data FILE - start the normal instance serving FILE as user-data.
with_user_data() {
	mi_imds_config imds.json "{\"user_data_file\": \"$MI_DIR/$1\"}"
	mi_start_imds imds.json
}

# py CODE ARG... - run a Python snippet (the system interpreter) to make test data.
py() {
	local code=$1
	shift
	"$MI_PYTHON" -c "$code" "$@"
}

# assert_ignored - exit 0, header "ignored (...)", exactly one line on stderr saying so,
# and mode left at its default.
assert_ignored() {
	mi_assert_rc 0
	mi_assert_grep run.out '^# user-data: ignored \(.+\)$'
	mi_assert_lines run.err 1
	mi_assert_grep run.err 'ignor'
	mi_assert_grep run.err 'user-data'
	mi_assert_no_grep run.err '^mailinit: error: '
	mi_assert_setting run.out mode builtin default
}

# rss_limit_kb - peak RSS of a dry-run without metadata (the same build: plain, ASan...) plus
# 16 MiB: a reader that bounds user-data at 1 MiB stays under it, one that buffers 50 MB not.
rss_limit_kb() {
	mkdir -p "$MI_DIR/root"
	AWS_EC2_METADATA_DISABLED=true AWS_REGION=eu-west-1 \
		mi_run_rss baseline "$MAILINIT" firstboot --dry-run --root "$MI_DIR/root"
	[[ $MI_RC == 0 ]] || { mi_show_run; mi_fail "baseline dry-run (metadata disabled) failed"; } >&2
	echo $((MI_RSS_KB + 16384))
}

# assert_refused_bounded WHAT - a dry-run refuses the user-data WHAT (exit 65, the error names
# user-data) within 5 s and with a peak RSS under rss_limit_kb.
assert_refused_bounded() {
	local what=$1 limit
	limit=$(rss_limit_kb)
	mi_run_rss run "$MAILINIT" firstboot --dry-run --root "$MI_DIR/root"
	mi_assert_rc 65
	mi_assert_error 'user-data'
	mi_assert_faster 5000
	echo "($what: ${MI_ELAPSED_MS} ms, peak RSS ${MI_RSS_KB} KiB, limit ${limit} KiB)"
	((MI_RSS_KB < limit)) || mi_fail "peak RSS ${MI_RSS_KB} KiB for $what (want < ${limit} KiB)"
}

t_none() {
	mi_imds_config imds.json
	mi_start_imds imds.json
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# user-data: none$'
	mi_assert_setting run.out mode builtin default
	mi_assert_count '"path":"/latest/user-data".*"status":404' 1
}

t_json() {
	printf '{"mailinit": {"mode": "postfix", "max_send_rate": 14, "notify_to": "ops@example.com"}}\n' >ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# user-data: mailinit configuration \(JSON\)$'
	mi_assert_setting run.out mode postfix user-data '^user-data$'
	mi_assert_setting run.out max_send_rate 14 user-data '^user-data$'
	mi_assert_setting run.out notify_to ops@example.com user-data '^user-data$'
}

t_gzip_json() {
	py 'import gzip, sys; open(sys.argv[1], "wb").write(gzip.compress(b"{\"mailinit\": {\"mode\": \"postfix\"}}\n"))' ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# user-data: mailinit configuration'
	mi_assert_setting run.out mode postfix user-data
}

t_mime_multipart() {
	py '
import json, sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
doc = MIMEMultipart()
doc.attach(MIMEText("#!/bin/sh\necho hello from the shell part\n", "x-shellscript"))
doc.attach(MIMEText("#cloud-config\npackages: [htop]\n", "cloud-config"))
part = MIMEApplication(json.dumps({"mailinit": {"mode": "postfix", "mydomain": "example.com"}}).encode(), "json")
assert part["Content-Transfer-Encoding"] == "base64"
doc.attach(part)
open(sys.argv[1], "w").write(doc.as_string())
' ud
	grep -q '^Content-Transfer-Encoding: base64' ud || mi_fail "the MIME document has no base64 part"
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 0
	mi_assert_grep run.out '^# user-data: mailinit configuration'
	mi_assert_setting run.out mode postfix user-data
	mi_assert_setting run.out mydomain example.com user-data
}

t_shell_script() {
	printf '#!/bin/bash\nyum -y install httpd\nsystemctl enable --now httpd\n' >ud
	with_user_data ud
	mi_dry_run run
	assert_ignored
}

t_cloud_config() {
	printf '#cloud-config\npackages:\n  - postfix\n' >ud
	with_user_data ud
	mi_dry_run run
	assert_ignored
}

t_json_without_mailinit() {
	printf '{"app": {"port": 8080}, "mode": "postfix"}\n' >ud
	with_user_data ud
	mi_dry_run run
	assert_ignored
}

t_invalid_json() {
	printf '{"mailinit": {\n  "mode": "postfix",\n  "notify_to" "ops@example.com"\n}}\n' >ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 65
	mi_assert_error 'user-data'
	mi_assert_error '(line 3\b.*col)|(\b3:[0-9]+)'
}

t_mailinit_not_object() {
	printf '{"mailinit": "postfix"}\n' >ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 65
	mi_assert_error 'user-data'
}

t_corrupt_gzip() {
	py '
import gzip, sys
data = bytearray(gzip.compress(b"{\"mailinit\": {\"mode\": \"postfix\"}}\n" * 20))
data[12:20] = b"\xff" * 8   # damage the deflate stream after the header
open(sys.argv[1], "wb").write(bytes(data[:-6]))   # and cut the trailer
' ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 65
	mi_assert_error 'user-data'
}

t_unknown_key() {
	printf '{"mailinit": {"mode": "postfix", "bogus_key": "x"}}\n' >ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'user-data'
	mi_assert_error 'bogus_key'
}

t_bad_value() {
	printf '{"mailinit": {"relay_tls": "sometimes"}}\n' >ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 78
	mi_assert_error 'user-data'
	mi_assert_error 'relay_tls'
}

t_just_over_1mib() {
	py '
import json, sys
pad = "x" * (1024 * 1024)
open(sys.argv[1], "w").write(json.dumps({"mailinit": {"mode": "postfix"}, "padding": pad}))
' ud
	with_user_data ud
	mi_dry_run run
	mi_assert_rc 65
	mi_assert_error 'user-data'
}

t_50mb() {
	# Blanks only: a reader that truncated at the limit would see "empty" user-data and exit 0;
	# only the size check gives 65.
	mi_imds_config imds.json '{"faults": [{"path": "/latest/user-data", "action": "big",
		"size": 52428800, "fill": " "}]}'
	mi_start_imds imds.json
	assert_refused_bounded "a 50 MB user-data"
}

t_gzip_bomb() {
	py '
import gzip, sys
body = b"{\"mailinit\": {\"mode\": \"" + b"a" * (50 * 1024 * 1024) + b"\"}}"
open(sys.argv[1], "wb").write(gzip.compress(body, 9))
' ud
	with_user_data ud
	assert_refused_bounded "a gzip bomb of $(stat -c %s ud) bytes"
}

mi_scenario none t_none
mi_scenario json t_json
mi_scenario gzip-json t_gzip_json
mi_scenario mime-multipart-base64-json t_mime_multipart
mi_scenario shell-script-ignored t_shell_script
mi_scenario cloud-config-ignored t_cloud_config
mi_scenario json-without-mailinit-ignored t_json_without_mailinit
mi_scenario invalid-json t_invalid_json
mi_scenario mailinit-not-an-object t_mailinit_not_object
mi_scenario corrupt-gzip t_corrupt_gzip
mi_scenario unknown-key t_unknown_key
mi_scenario bad-value t_bad_value
mi_scenario just-over-1mib t_just_over_1mib
mi_scenario big-50mb t_50mb
mi_scenario gzip-bomb t_gzip_bomb
mi_finish
