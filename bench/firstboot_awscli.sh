#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# firstboot_awscli.sh POSTFIX_CONFIG_DIR SECRET_ID RELAYHOST - the first boot people script
# today, the peer of `mailinit firstboot` in bench/run.sh: instance metadata with curl
# (IMDSv2), the SES SMTP credentials with the aws CLI, jq, then Postfix's sasl_passwd
# (postmap) and main.cf (postconf -e). No restart, no test mail (mailinit runs with
# --no-restart --no-mail alike).
#
# Environment: AWS_EC2_METADATA_SERVICE_ENDPOINT (the IMDS; the aws CLI takes the instance
# role's credentials from it too), SM_ENDPOINT (for --endpoint-url), AWS_CA_BUNDLE, AWS_CLI.
set -euo pipefail
conf=$1 secret_id=$2 relayhost=$3
imds=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
imds=${imds%/}

token=$(curl -sf -X PUT "$imds/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
metadata() {
	curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/$1"
}
region=$(metadata placement/region)
hostname=$(metadata local-hostname)

# (botocore appends "latest/api/token" to the endpoint: it wants the trailing slash)
secret=$(AWS_EC2_METADATA_SERVICE_ENDPOINT=$imds/ "${AWS_CLI:-aws}" secretsmanager get-secret-value --region "$region" \
	--endpoint-url "$SM_ENDPOINT" --secret-id "$secret_id" --query SecretString --output text)
user=$(jq -r .smtp_username <<<"$secret")
password=$(jq -r .smtp_password <<<"$secret")

# Postfix's tools wait ~2 s when main.cf is younger than a second: postmap before postconf -e.
(
	umask 077
	printf '%s %s:%s\n' "$relayhost" "$user" "$password" >"$conf/sasl_passwd.new"
	mv -f "$conf/sasl_passwd.new" "$conf/sasl_passwd"
)
postmap -c "$conf" "hash:$conf/sasl_passwd"
postconf -c "$conf" -e "relayhost = $relayhost" "smtp_sasl_auth_enable = yes" \
	"smtp_sasl_password_maps = hash:$conf/sasl_passwd" "smtp_sasl_security_options = noanonymous" \
	"smtp_tls_security_level = encrypt" "smtp_tls_CAfile = ${AWS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" \
	"myhostname = $hostname" "inet_interfaces = loopback-only"
