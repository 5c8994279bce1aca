#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole first boot of an EC2 instance, on local stand-ins: installs what it needs
# (Debian 12, as root), builds mailinit, then starts on 127.0.0.1
#   - a stand-in instance metadata service (IMDSv2) with an instance role,
#   - a stand-in Secrets Manager over HTTPS (private test CA) that checks every request's
#     Signature V4 with botocore, holding an IAM user's key for SES,
#   - an SES-like SMTP server that requires STARTTLS and AUTH (the "upstream"),
#   - a private Postfix instance from Debian (its own config and queue directories),
#   - a stand-in systemd on a private D-Bus, whose RestartUnit reloads that Postfix,
# runs `mailinit firstboot` against them, and shows the confirmation mail as the upstream
# received it. Nothing outside a temporary directory is touched; everything is stopped at
# the end (MI_KEEP=1 keeps the directory).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/install-deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target mailinit >/dev/null
export MAILINIT=$top/build/mailinit

. "$top/tests/integration/lib.sh"
. "$top/tests/integration/lib_smtp.sh"
. "$top/tests/integration/lib_dbus.sh"
. "$top/tests/integration/lib_secrets.sh"
mi_init
mi_require_postfix
mi_require_fake_smtp
mi_require_fake_systemd
mi_require_secretsmanager

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

SECRET_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
step "Starting the stand-ins on 127.0.0.1"
password=$(printf '%s\n' "$SECRET_KEY" | "$MAILINIT" smtp-password --region eu-west-1)
mi_start_fake_smtp "{\"users\": {\"AKIAEXAMPLE\": \"$password\"}}"
echo "SES-like upstream (STARTTLS + AUTH required): 127.0.0.1:$MI_SMTP_PORT"
mi_sm_config sm.json "{\"secrets\": {\"mailinit/ses-smtp\": {\"SecretJSON\":
	{\"access_key_id\": \"AKIAEXAMPLE\", \"secret_access_key\": \"$SECRET_KEY\"}}}}"
mi_start_secretsmanager sm.json --tls
echo "Secrets Manager (HTTPS, SigV4 checked by botocore): $MI_SM_URL"
mi_start_postfix pf
echo "Postfix (private instance): config $MI_POSTFIX_DIR, SMTP 127.0.0.1:$MI_POSTFIX_PORT"
printf '{"mailinit": {"secret_id": "mailinit/ses-smtp", "mydomain": "example.com", "notify_to": "ops@example.com"}}\n' >user-data.json
mi_imds_config imds.json "{\"tags\": {\"Name\": \"web-1\", \"mailinit:mode\": \"postfix\"},
	\"user_data_file\": \"$MI_DIR/user-data.json\"}"
mi_start_imds imds.json
echo "Instance metadata (IMDSv2): $MI_IMDS_URL"
cat >systemd.json <<EOF
{"results": {"postfix.service": "done"},
 "commands": {"postfix.service": ["postfix", "-c", "$MI_POSTFIX_DIR", "reload"]}}
EOF
mi_start_fake_systemd systemd.json
echo "systemd (D-Bus): $DBUS_SYSTEM_BUS_ADDRESS"

# What an image would carry in /etc/mailinit/mailinit.conf: here, where the stand-ins are.
cat >mailinit.conf <<EOF
relayhost = [127.0.0.1]:$MI_SMTP_PORT
tls_ca_file = $MI_TEST_CA
listen = 127.0.0.1:$MI_POSTFIX_PORT
postfix_dir = $MI_POSTFIX_DIR
state_dir = $MI_DIR/state
EOF

step "mailinit firstboot --dry-run (mode from a tag, the rest from user-data)"
"$MAILINIT" firstboot --config mailinit.conf --dry-run

step "mailinit firstboot"
"$MAILINIT" firstboot --config mailinit.conf

step "Waiting for the upstream to receive the confirmation mail"
mi_smtp_wait_count 1 30
"$MI_PYTHON" - "$MI_SMTP_MAILDIR/0001.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"received from {d['peer']} over TLS={d['tls']} ({d['tls_version']}), "
      f"AUTH {d['auth_mechanism']} as {d['auth_user']}, envelope {d['mail_from']} -> {', '.join(d['rcpt_tos'])}")
EOF
echo
cat "$MI_SMTP_MAILDIR/0001.eml"

step "Postfix's log line for it, and the first boot's record (state_dir/status.json)"
grep 'status=sent' "$MI_POSTFIX_LOG" | tail -1
cat "$MI_DIR/state/status.json"
step "Done: the confirmation mail went through Postfix to the SES-like upstream over STARTTLS with AUTH."
