#!/bin/bash
# SPDX-License-Identifier: MIT
# make_test_ca.sh DIR [HOSTNAME...] - a throw-away CA and server certificates for tests.
#
# Writes (EC P-256 keys, SHA-256, valid for 2 days from now):
#   DIR/ca.pem, DIR/ca.key                  the CA (CN "mailinit test CA <random>")
#   DIR/server.pem, DIR/server.key          SAN DNS:localhost, IP:127.0.0.1 and each HOSTNAME
#                                           (an IPv4/IPv6 address becomes an IP: entry)
#   DIR/wrong-host.pem, DIR/wrong-host.key  SAN DNS:wrong.example only (host-name mismatch)
# Server certificates are leaf certificates (CA:FALSE, serverAuth) with key identifiers, as
# strict verifiers (OpenSSL 3, Python 3.13 VERIFY_X509_STRICT) want. Keys are mode 0600.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
	echo "usage: $0 DIR [HOSTNAME...]" >&2
	exit 64
fi
command -v openssl >/dev/null 2>&1 || {
	echo "$0: openssl is not installed" >&2
	exit 69
}
dir=$1
shift
mkdir -p "$dir"
work=$(mktemp -d "$dir/.make_test_ca.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
umask 077

days=2
san="DNS:localhost,IP:127.0.0.1"
for name in "$@"; do
	if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then
		san+=",IP:$name"
	else
		san+=",DNS:$name"
	fi
done

cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

serial() {
	echo "0x$(openssl rand -hex 16)"
}

# leaf NAME CN SAN - DIR/NAME.key and DIR/NAME.pem, signed by the CA.
leaf() {
	local name=$1 cn=$2 alt=$3
	key "$work/$name.key"
	cat >"$work/$name.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $alt
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	openssl req -new -config "$work/openssl.cnf" -key "$work/$name.key" -subj "/CN=$cn" \
		-out "$work/$name.csr"
	openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
		-set_serial "$(serial)" -days "$days" -sha256 -extfile "$work/$name.ext" \
		-out "$work/$name.pem" 2>/dev/null
}

key "$work/ca.key"
openssl req -x509 -new -config "$work/openssl.cnf" -extensions v3_ca -key "$work/ca.key" \
	-subj "/CN=mailinit test CA $(openssl rand -hex 4)" -days "$days" -sha256 \
	-set_serial "$(serial)" -out "$work/ca.pem"
leaf server localhost "$san"
leaf wrong-host wrong.example "DNS:wrong.example"

openssl verify -CAfile "$work/ca.pem" "$work/server.pem" "$work/wrong-host.pem" >/dev/null

chmod 0644 "$work"/*.pem
for f in ca server wrong-host; do
	mv -f "$work/$f.pem" "$dir/$f.pem"
	mv -f "$work/$f.key" "$dir/$f.key"
done
