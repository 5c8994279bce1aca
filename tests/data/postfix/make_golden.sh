#!/bin/bash
# SPDX-License-Identifier: MIT
# make_golden.sh - regenerate the files in this directory that are made by the real Postfix
# (Debian 12: postfix 3.7), never by mailinit's code, so tests/unit/test_postfix_conf.c checks
# firstboot/postfix_conf.c against data it did not make:
#   debian-internet-site.main.cf   what Debian's postinst writes for "Internet Site"
#   golden/NAME.want               each fixture after `postconf -e` of the edits in
#                                  golden/mailinit.edits (one name=value a line)
# postconf -e appends new names in random order (a seeded hash table), so the golden files
# apply the edits one postconf call at a time, in name order: the order mailinit appends in.
# A fixture without a final newline gets one first (Postfix 3.7 would glue the first appended
# setting onto its last line; newer Postfix and mailinit terminate it).
# Usage: tests/data/postfix/make_golden.sh   (needs postconf; works in a temporary directory)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
command -v postconf >/dev/null || { echo "make_golden.sh: postconf is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# pc ARGS... - postconf -c $tmp; main.cf is backdated first, or postconf waits ~2 s for it to age
pc() {
        touch -d '-1 min' "$tmp/main.cf"
        postconf -c "$tmp" "$@"
}

# Debian's postinst (postfix 3.7.11-0+deb12u1, "Internet Site", host debian.example.org).
cp /usr/share/postfix/main.cf.debian "$tmp/main.cf"
cat /usr/share/postfix/main.cf.tls >>"$tmp/main.cf"
pc -e "smtpd_relay_restrictions=permit_mynetworks permit_sasl_authenticated \
defer_unauth_destination"
pc -e "myhostname=debian.example.org"
pc -e "alias_maps=hash:/etc/aliases"
pc -e "alias_database=hash:/etc/aliases"
pc -e "myorigin=/etc/mailname"
pc -e "mydestination=\$myhostname, debian.example.org, localhost.example.org, , localhost"
pc -e "relayhost="
pc -e "mynetworks=127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"
pc -e "mailbox_size_limit=0"
pc -e "recipient_delimiter=+"
pc -e "inet_interfaces=all"
pc -e "inet_protocols=all"
cp "$tmp/main.cf" "$here/debian-internet-site.main.cf"

mapfile -t edits < <(grep -v '^#' "$here/golden/mailinit.edits" | LC_ALL=C sort -t= -k1,1)
for f in "$here"/*main.cf* "$here"/hostile/*.cf; do
        case $f in */hostile/*) name=hostile-$(basename "$f") ;; *) name=$(basename "$f") ;; esac
        cp "$f" "$tmp/main.cf"
        if [[ -s $f && $(tail -c 1 "$f" | od -An -c | tr -d ' ') != '\n' ]]; then
                printf '\n' >>"$tmp/main.cf"
        fi
        for e in "${edits[@]}"; do
                pc -e "$e" 2>/dev/null
        done
        cp "$tmp/main.cf" "$here/golden/$name.want"
done
n=$(ls "$here"/golden/*.want | wc -l)
echo "make_golden.sh: wrote debian-internet-site.main.cf and $n golden files"
