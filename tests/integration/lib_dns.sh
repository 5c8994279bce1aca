# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib_dns.sh - the DNS stand-in (peers/fake_dns.py) and a port whose connects time out
# (peers/tcp_blackhole.py). Source after lib.sh, call mi_init first:
#
#   mi_require_fake_dns                  # exit 77 without python3-dnslib
#   mi_dns_zone zone.json '{"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]}}'
#   mi_start_fake_dns zone.json          # exports MI_DNS_PORT, MI_DNS_LOG, MAILINIT_DNS_SERVER
#   mi_start_blackhole                   # exports MI_BLACKHOLE_PORT
#
# The zone file is read again by the stand-in when it changes: scenarios sharing one stand-in
# rewrite it with mi_dns_zone "$MI_DNS_ZONE" '{...}'. Peers bind 127.0.0.1 on ports the OS hands
# out and are registered like lib.sh's (MI_PIDS and $MI_TMP/.pids).

: "${MI_PYTHON:=/usr/bin/python3}"
: "${MI_PEERS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers}"

# mi_require_fake_dns - skip (77) unless python3-dnslib is importable.
mi_require_fake_dns() {
	"$MI_PYTHON" -c 'import dnslib.server' 2>/dev/null ||
		mi_skip "python3-dnslib is not installed (the DNS stand-in needs it)"
}

# mi_dns_zone FILE JSON - write the zone (atomically: the stand-in notices the new file).
mi_dns_zone() {
	"$MI_PYTHON" - "$1" "$2" <<'PY' || mi_fail "mi_dns_zone: bad JSON: $2"
import json, os, sys
path, text = sys.argv[1:]
zone = json.loads(text)
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(zone, f, indent=1)
os.replace(tmp, path)
PY
}

# mi__wait_port_file PID FILE WHAT - wait (10 s) until FILE holds a port
mi__wait_port_file() {
	local pid=$1 file=$2 what=$3 i
	for ((i = 0; i < 200; i++)); do
		[[ -s $file ]] && return 0
		kill -0 "$pid" 2>/dev/null || mi_fail "$what exited at start"
		sleep 0.05
	done
	mi_fail "$what wrote no port within 10 s"
}

# mi_start_fake_dns ZONE_FILE - start the DNS stand-in (UDP and TCP on one loopback port).
mi_start_fake_dns() {
	local zone=$1 dir=${MI_DIR:-$MI_TMP}
	case $zone in
	/*) ;;
	*) zone=$PWD/$zone ;;
	esac
	rm -f "$dir/dns.port"
	: >"$dir/dns.log"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_dns.py" --zone "$zone" --port-file "$dir/dns.port" \
		--log "$dir/dns.log" >"$dir/dns.stdout" 2>"$dir/dns.stderr" &
	MI_DNS_PID=$!
	MI_PIDS+=("$MI_DNS_PID")
	echo "$MI_DNS_PID" >>"$MI_TMP/.pids"
	mi__wait_port_file "$MI_DNS_PID" "$dir/dns.port" "the DNS stand-in"
	MI_DNS_PORT=$(<"$dir/dns.port")
	MI_DNS_LOG=$dir/dns.log
	MI_DNS_ZONE=$zone
	MAILINIT_DNS_SERVER=127.0.0.1:$MI_DNS_PORT
	export MI_DNS_PORT MI_DNS_LOG MI_DNS_ZONE MI_DNS_PID MAILINIT_DNS_SERVER
}

# mi_start_blackhole - a loopback port whose connects time out (SYNs dropped).
mi_start_blackhole() {
	local dir=${MI_DIR:-$MI_TMP}
	rm -f "$dir/blackhole.port"
	"$MI_PYTHON" "$MI_PEERS_DIR/tcp_blackhole.py" --port-file "$dir/blackhole.port" \
		>/dev/null 2>"$dir/blackhole.stderr" &
	MI_BLACKHOLE_PID=$!
	MI_PIDS+=("$MI_BLACKHOLE_PID")
	echo "$MI_BLACKHOLE_PID" >>"$MI_TMP/.pids"
	mi__wait_port_file "$MI_BLACKHOLE_PID" "$dir/blackhole.port" "the TCP black hole"
	MI_BLACKHOLE_PORT=$(<"$dir/blackhole.port")
	export MI_BLACKHOLE_PORT MI_BLACKHOLE_PID
}
