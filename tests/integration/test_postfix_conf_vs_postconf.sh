#!/bin/bash
# SPDX-License-Identifier: MIT
# test_postfix_conf_vs_postconf - our main.cf editor (firstboot/postfix_conf.c through
# tests/tools/postconf_edit_tool) against the real `postconf -c DIR -e`, on every fixture of
# tests/data/postfix (Debian's main.cf files, the SES manual's settings, duplicates,
# continuation lines, CRLF, no final newline, odd names) with three edit lists (the settings
# firstboot owns; one setting; hostile values: a name twice, empty, white space, CR, UTF-8).
# For each pair:
#   1. one `postconf -e` call with all the edits: byte-identical to ours (cmp), except that
#      Postfix 3.7 appends the names it did not find in random order (a seeded hash table);
#      then the common part must be identical and the appended lines the same set, and
#   2. one `postconf -e` call per edit in name order: byte-identical to ours, so the order we
#      append in (sorted) is also checked byte for byte;
#   3. `postconf -e` of the same edits on our result changes nothing (a second run is
#      byte-identical), and neither does our editor;
#   4. `postconf -h NAME` reads each edited name in our result as our lookup reads it.
# A fixture without a final newline is given to postconf with one: Postfix 3.7 glues the first
# appended setting onto such a last line (newer Postfix, and we, terminate it first).
# Exit 77 (skip) without postconf. Touches only a private temporary directory, never
# /etc/postfix. main.cf is backdated before each postconf call: Postfix's tools wait ~2 s for
# a main.cf younger than a second.
set -euo pipefail

PY=/usr/bin/python3
: "${MAILINIT_SOURCE_DIR:?}" "${MAILINIT_BUILD_DIR:?}"
TOOL="$MAILINIT_BUILD_DIR/tests/tools/postconf_edit_tool"
DATA="$MAILINIT_SOURCE_DIR/tests/data/postfix"
PATH=$PATH:/usr/sbin:/sbin

if ! command -v postconf >/dev/null 2>&1; then
        echo "postconf (Postfix) is not installed: skipping" >&2
        exit 77
fi
if ! [ -x "$TOOL" ]; then
        echo "FAIL: $TOOL is missing (built by tests/tools)" >&2
        exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pcdir="$tmp/postfix"
mkdir "$pcdir"

# The edit lists, one name=value an element, as postconf -e takes them.
mailinit=(
        'relayhost = [email-smtp.eu-west-1.amazonaws.com]:587'
        'smtp_sasl_auth_enable = yes'
        'smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd'
        'smtp_sasl_security_options = noanonymous'
        'smtp_tls_security_level = encrypt'
        'smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt'
        'mydomain = example.com'
        'myorigin = $mydomain'
        'myhostname = ip-10-0-1-23.eu-west-1.compute.internal'
        'inet_interfaces = loopback-only'
        'mynetworks = 127.0.0.0/8 [::1]/128'
)
single=('relayhost = [email-smtp.eu-west-1.amazonaws.com]:587')
hostile=(
        '  mynetworks  =  127.0.0.0/8   [::1]/128  '
        'relayhost=first'
        'relayhost=[second.example.com]:587'
        'mydomain='
        'myorigin = $mydomain # not a comment'
        $'smtp_tls_CAfile = /tmp/a\rb'
        $'myhostname=\xe4\xbe\x8b\xe3\x81\x88.jp'
        $'inet_interfaces =\tloopback-only\t'
)
lists=(mailinit single hostile)

cat >"$tmp/same_but_append_order.py" <<'PYEOF'
"""Exit 0 when THEIRS equals OURS except for the order of the lines appended at the end,
which must be "name = value" lines of the given edits (the last value of a name)."""
import os
import sys


def lines(path):
    """the lines of a file, each with its LF; a CR is part of its line"""
    parts = open(path, "rb").read().split(b"\n")
    return [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


ours, theirs = lines(sys.argv[1]), lines(sys.argv[2])
final = {}
for arg in map(os.fsencode, sys.argv[3:]):
    name, value = arg.split(b"=", 1)
    final[name.strip()] = value.strip(b" \t\r\v\f")
allowed = {n + b" = " + v + b"\n" for n, v in final.items()}
i = 0
while i < min(len(ours), len(theirs)) and ours[i] == theirs[i]:
    i += 1
tail_o, tail_t = ours[i:], theirs[i:]
ok = (sorted(tail_o) == sorted(tail_t) and all(line in allowed for line in tail_o)
      and len(set(tail_o)) == len(tail_o))
sys.exit(0 if ok else 1)
PYEOF

cat >"$tmp/same_values.py" <<'PYEOF'
"""TOOL OURS PC_OUT NAME...: PC_OUT holds `postconf -h NAME...` of OURS, one value a line, with
runs of white space folded to one space as postconf prints them; each must equal our lookup of
NAME in OURS, folded the same way. Prints the differences; exit 1 if any."""
import subprocess
import sys

tool, ours, pc_out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
theirs = open(pc_out, "rb").read().split(b"\n")
bad = 0
for i, name in enumerate(names):
    p = subprocess.run([tool, "--lookup", ours, name], capture_output=True)
    got = p.stdout[:-1] if p.stdout.endswith(b"\n") else p.stdout
    if p.returncode != 0 or i >= len(theirs) or got.split() != theirs[i].split():
        print(f"  {name}: ours {got!r} (exit {p.returncode}), postconf -h "
              f"{theirs[i] if i < len(theirs) else None!r}")
        bad += 1
sys.exit(1 if bad else 0)
PYEOF

n_pairs=0
failures=0

# fail WHAT WANT GOT - count a failure and show both files (cat -A: tabs, CRs, line ends)
fail() {
        failures=$((failures + 1))
        echo "FAIL: $1"
        diff -u --label "want ($2)" --label "got ($3)" <(cat -A "$2") <(cat -A "$3") |
                head -40 || true
}

# pc ARGS... - the real postconf on $pcdir/main.cf, backdated first
pc() {
        touch -d '-1 min' "$pcdir/main.cf"
        postconf -c "$pcdir" "$@"
}

# put_fixture FILE - $pcdir/main.cf = FILE, with a final newline
put_fixture() {
        cp "$1" "$pcdir/main.cf"
        if [[ -s $1 && $(tail -c 1 "$1" | od -An -tx1 | tr -d ' ') != 0a ]]; then
                printf '\n' >>"$pcdir/main.cf"
        fi
}

# sorted_edits EDIT... - the edits in name order (stable: a later edit of a name stays later)
sorted_edits() {
        local i=0 e name
        for e in "$@"; do
                name=${e%%=*}
                name=${name//[[:space:]]/}
                printf '%s\t%06d\t%s\0' "$name" "$i" "$e"
                i=$((i + 1))
        done | LC_ALL=C sort -z -t $'\t' -k1,1 -k2,2n | cut -z -f3-
}

# edit_names EDIT... - the distinct names
edit_names() {
        local e name
        for e in "$@"; do
                name=${e%%=*}
                printf '%s\n' "${name//[[:space:]]/}"
        done | LC_ALL=C sort -u
}

check() {
        local fixture=$1 list=$2 label=$3
        local -n edits=$list
        local ours="$tmp/ours" e name
        local -a names

        n_pairs=$((n_pairs + 1))
        if ! "$TOOL" "$fixture" "${edits[@]}" >"$ours"; then
                failures=$((failures + 1))
                echo "FAIL: $label: postconf_edit_tool failed"
                return
        fi

        # 1. all edits in one postconf -e call
        put_fixture "$fixture"
        pc -e "${edits[@]}" 2>/dev/null
        cp "$pcdir/main.cf" "$tmp/batch"
        if ! cmp -s "$tmp/batch" "$ours"; then
                if "$PY" "$tmp/same_but_append_order.py" "$ours" "$tmp/batch" "${edits[@]}"; then
                        echo "ok: $label: batch (same apart from postconf's random append order)"
                else
                        fail "$label: one postconf -e call" "$tmp/batch" "$ours"
                fi
                # 2. one call per edit, in name order: appends in our order
                put_fixture "$fixture"
                while IFS= read -r -d '' e; do
                        pc -e "$e" 2>/dev/null
                done < <(sorted_edits "${edits[@]}")
                cp "$pcdir/main.cf" "$tmp/seq"
                if cmp -s "$tmp/seq" "$ours"; then
                        echo "ok: $label: postconf -e one edit at a time, in name order"
                else
                        fail "$label: postconf -e one edit at a time" "$tmp/seq" "$ours"
                fi
        else
                echo "ok: $label: byte-identical to one postconf -e call"
        fi

        # 3. a second run changes nothing, with postconf and with us
        cp "$ours" "$pcdir/main.cf"
        pc -e "${edits[@]}" 2>/dev/null
        if ! cmp -s "$pcdir/main.cf" "$ours"; then
                fail "$label: postconf -e on our result" "$pcdir/main.cf" "$ours"
        fi
        "$TOOL" "$ours" "${edits[@]}" >"$tmp/again"
        if ! cmp -s "$tmp/again" "$ours"; then
                fail "$label: our editor on our result" "$ours" "$tmp/again"
        fi

        # 4. postconf -h reads each edited name as our lookup does
        mapfile -t names < <(edit_names "${edits[@]}")
        cp "$ours" "$pcdir/main.cf"
        if ! pc -h "${names[@]}" >"$tmp/pc.values" 2>"$tmp/pc.err"; then
                # postconf refuses a main.cf with a line without '='; we skip such lines
                echo "ok: $label: lookup not compared, postconf -h refuses the file:" \
                        "$(grep -o 'fatal: .*' "$tmp/pc.err" | head -1)"
        elif ! "$PY" "$tmp/same_values.py" "$TOOL" "$ours" "$tmp/pc.values" "${names[@]}"; then
                failures=$((failures + 1))
                echo "FAIL: $label: postconf -h and our lookup differ"
        fi
}

fixtures=("$DATA"/*main.cf* "$DATA"/hostile/*.cf)
for fixture in "${fixtures[@]}"; do
        for list in "${lists[@]}"; do
                check "$fixture" "$list" "${fixture#"$DATA"/} + $list"
        done
done

echo "$n_pairs fixture/edit-list pairs compared with postconf -e: $failures failed comparisons"
[ "$failures" -eq 0 ]
