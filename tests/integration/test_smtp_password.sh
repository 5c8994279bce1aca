#!/bin/bash
# SPDX-License-Identifier: MIT
# test_smtp_password - `mailinit smtp-password --region R` against an independent Python
# implementation (hmac, hashlib, base64) of the SES SMTP password algorithm, for random
# 40-character keys in several regions, plus the SES documentation example and the error
# cases: no --region (64), bad region (64), empty stdin (65), a key with white space or on
# several lines (65), a key over 128 bytes (65); and on a terminal, a prompt without echo.
# The key must never appear in any output.
set -euo pipefail

PY=/usr/bin/python3
: "${MAILINIT:?path to the mailinit binary}"
if ! [ -x "$PY" ]; then
        echo "$PY is not installed: skipping" >&2
        exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# oracle.py N REGION... - N random 40-character keys; prints "key region password" for each
# key and region, computed here with hmac/hashlib/base64 only.
cat >"$tmp/oracle.py" <<'PYEOF'
import base64
import hashlib
import hmac
import secrets
import string
import sys


def sign(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def ses_smtp_password(secret, region):
    k = sign(("AWS4" + secret).encode("utf-8"), "11111111")
    for part in (region, "ses", "aws4_request", "SendRawEmail"):
        k = sign(k, part)
    return base64.b64encode(b"\x04" + k).decode("ascii")


alphabet = string.ascii_letters + string.digits + "+/"
for _ in range(int(sys.argv[1])):
    key = "".join(secrets.choice(alphabet) for _ in range(40))
    for region in sys.argv[2:]:
        print(key, region, ses_smtp_password(key, region))
PYEOF

# check NAME WANT_EXIT STDIN ARGS... - run the command, check its exit code and that the key
# never shows in its output (the password is left in $tmp/out)
check() {
        local name=$1 want_rc=$2 input=$3 rc=0
        shift 3
        printf '%s' "$input" | "$MAILINIT" smtp-password "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
        if [ "$rc" != "$want_rc" ]; then
                echo "FAIL $name: got exit $rc, want $want_rc; stderr: $(cat "$tmp/err")" >&2
                fail=1
                return
        fi
        local key=${input%$'\n'}
        key=${key%$'\r'}
        if [ ${#key} -ge 8 ] && grep -qF -- "$key" "$tmp/out" "$tmp/err"; then
                echo "FAIL $name: the secret key appears in the output" >&2
                fail=1
        fi
}

# The SES developer guide's example key (values also in tests/unit/test_ses_smtp_password.c).
doc=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
check doc 0 "$doc"$'\n' --region us-east-1
if [ "$(cat "$tmp/out")" != "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9" ]; then
        echo "FAIL doc: got '$(cat "$tmp/out")'" >&2
        fail=1
fi

regions=(us-east-1 us-west-2 eu-west-1 eu-central-1 ap-southeast-2 sa-east-1 il-central-1
        us-gov-west-1 cn-northwest-1)
"$PY" "$tmp/oracle.py" 10 "${regions[@]}" >"$tmp/cases"
n=0
while read -r key region want; do
        # alternate line endings: LF, CRLF, none
        case $((n % 3)) in
        0) input="$key"$'\n' ;;
        1) input="$key"$'\r\n' ;;
        2) input="$key" ;;
        esac
        n=$((n + 1))
        check "key $n $region" 0 "$input" --region "$region"
        got=$(cat "$tmp/out")
        if [ "$got" != "$want" ] || [ "$(wc -c <"$tmp/out")" != 45 ]; then
                echo "FAIL key $n $region: got '$got', want '$want'" >&2
                fail=1
        fi
done <"$tmp/cases"
if [ "$n" != $((10 * ${#regions[@]})) ]; then
        echo "FAIL: the oracle produced $n cases" >&2
        fail=1
fi
echo "$n key/region pairs checked against the Python implementation"

long=$(head -c 129 /dev/zero | tr '\0' a)
check "no --region" 64 "$doc"$'\n'
check "--region without value" 64 "$doc"$'\n' --region
check "bad region" 64 "$doc"$'\n' --region EU_WEST_1
check "extra argument" 64 "$doc"$'\n' --region eu-west-1 extra
check "unknown option" 64 "$doc"$'\n' --region eu-west-1 --bogus
check "empty stdin" 65 "" --region eu-west-1
check "empty line" 65 $'\n' --region eu-west-1
check "space in key" 65 "wJalrXUtnFEMI K7MDENG"$'\n' --region eu-west-1
check "two lines" 65 "$doc"$'\n'"$doc"$'\n' --region eu-west-1
check "tab in key" 65 "wJalrXUtnFEMI"$'\t'"K7MDENG"$'\n' --region eu-west-1
check "key over 128 bytes" 65 "$long"$'\n' --region eu-west-1
check "key of 128 bytes" 0 "${long:1}"$'\n' --region eu-west-1
check "128 bytes, then more" 65 "${long:1}"$'\r\nx' --region eu-west-1

# On a terminal: a prompt on stderr, no echo, and the first line is enough (no EOF needed).
"$PY" - "$MAILINIT" "$doc" >"$tmp/tty" 2>&1 <<'PYEOF' || { echo "FAIL terminal: $(cat "$tmp/tty")" >&2; fail=1; }
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "smtp-password", "--region", "us-east-1"])
out = b""
while b"Secret access key: " not in out:
    if not select.select([fd], [], [], 10)[0]:
        sys.exit("no prompt: %r" % out)
    out += os.read(fd, 1024)
os.write(fd, sys.argv[2].encode() + b"\n")
while True:
    if not select.select([fd], [], [], 10)[0]:
        sys.exit("no answer after one line: %r" % out)
    try:
        d = os.read(fd, 1024)
    except OSError:
        break
    if not d:
        break
    out += d
_, status = os.waitpid(pid, 0)
text = out.decode()
if os.waitstatus_to_exitcode(status) != 0 or sys.argv[2] in text or \
        "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9" not in text:
    sys.exit("exit %d, output %r" % (os.waitstatus_to_exitcode(status), text))
PYEOF
check "--help" 0 "" --help
if ! grep -q -- "--region" "$tmp/out"; then
        echo "FAIL --help: no usage on stdout" >&2
        fail=1
fi

[ "$fail" = 0 ] && echo "smtp-password: all checks passed"
exit "$fail"
