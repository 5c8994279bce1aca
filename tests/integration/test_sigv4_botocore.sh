#!/bin/bash
# SPDX-License-Identifier: MIT
# test_sigv4_botocore - our SigV4 signer (common/sigv4.c through tests/tools/sigv4_tool) against
# botocore's SigV4Auth as an independent oracle, on randomized requests: bodies with UTF-8,
# random regions and services, with and without a session token, header values with runs of
# spaces and tabs, repeated and mixed-case headers, paths needing encoding and normalisation,
# query strings, and headers that must stay unsigned. Then make_vector.py is run again and
# must reproduce tests/data/sigv4-own byte for byte.
# Exit 77 (skip) without python3-botocore. MAILINIT_TEST_SEED=N replays a run.
set -euo pipefail

PY=/usr/bin/python3
: "${MAILINIT_SOURCE_DIR:?}" "${MAILINIT_BUILD_DIR:?}"
TOOL="$MAILINIT_BUILD_DIR/tests/tools/sigv4_tool"

if ! [ -x "$PY" ] || ! "$PY" -c 'import botocore.auth' 2>/dev/null; then
        echo "python3-botocore is not installed: skipping" >&2
        exit 77
fi
if ! [ -x "$TOOL" ]; then
        echo "FAIL: $TOOL is missing (built by tests/tools)" >&2
        exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/crosscheck.py" <<'PYEOF'
import datetime
import json
import os
import random
import string
import subprocess
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

tool = sys.argv[1]
count = int(sys.argv[2])
seed = int(os.environ.get("MAILINIT_TEST_SEED") or random.SystemRandom().randrange(2**32))
print(f"seed {seed} (MAILINIT_TEST_SEED={seed} replays this run)")
rng = random.Random(seed)

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
           "sa-east-1", "il-central-1", "us-gov-west-1", "cn-north-1"]
UTF8 = "éüßñøåçЖжλΩ中文字€😀🚀"
PATH_CHARS = string.ascii_letters + string.digits + "-._~ !$&'()*+,;=:@%" + "éЖ中😀"


class Recording(botocore.auth.SigV4Auth):
    def string_to_sign(self, request, canonical_request):
        self.creq = canonical_request
        return super().string_to_sign(request, canonical_request)


def rand_text(alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def rand_value():
    """A header value: printable ASCII words (some UTF-8) with runs of SP/HT around them."""
    words = [rand_text(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~\"(),/:;<=>?@[]{}",
                       1, 8) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.2:
        words.append(rand_text(UTF8, 1, 3))
    seps = [rand_text(" \t", 1, 4) for _ in words]
    value = "".join(w + s for w, s in zip(words, seps))
    return rand_text(" \t", 0, 3) + value


def rand_case(name):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def rand_request():
    region = rng.choice(REGIONS) if rng.random() < 0.7 else \
        f"{rand_text(string.ascii_lowercase, 2, 2)}-{rand_text(string.ascii_lowercase, 4, 9)}-{rng.randint(1, 9)}"
    service = "secretsmanager" if rng.random() < 0.6 else rand_text(string.ascii_lowercase, 2, 12)
    host = f"{service}.{region}.amazonaws.com"
    method = rng.choice(["POST", "POST", "GET", "PUT"])
    path = "/"
    if rng.random() < 0.4:
        segs = [rng.choice([".", "..", "", rand_text(PATH_CHARS, 1, 10)]) for _ in range(rng.randint(1, 5))]
        path = "/" + "/".join(segs) + rng.choice(["", "/"])
    query = None
    if rng.random() < 0.3:
        pairs = [(quote(rand_text(string.ascii_letters + "-_.~ é+=&", 1, 6), safe="-_.~"),
                  quote(rand_text(string.ascii_letters + string.digits + " é/+", 0, 8), safe="-_.~"))
                 for _ in range(rng.randint(1, 4))]
        query = "&".join(f"{k}={v}" for k, v in pairs)
    headers = [("Host", host)]
    if method != "GET":
        headers.append((rand_case("Content-Type"), "application/x-amz-json-1.1"))
        headers.append(("X-Amz-Target", "secretsmanager." + rng.choice(
            ["GetSecretValue", "DescribeSecret", "ListSecrets"])))
    for i in range(rng.randint(0, 4)):
        name = rand_case(f"X-Test-{rand_text(string.ascii_lowercase, 1, 5)}")
        headers.append((name, rand_value()))
        if rng.random() < 0.3:  # the same name again, maybe in another case
            headers.append((rand_case(name), rand_value()))
    if rng.random() < 0.3:
        headers.append(("User-Agent", "mailinit/0.1 " + rand_value()))
    if rng.random() < 0.2:
        headers.append(("X-Amzn-Trace-Id", "Root=1-" + rand_text(string.hexdigits, 8, 8)))
    rng.shuffle(headers)
    body = ""
    if method != "GET" or rng.random() < 0.1:
        body = rng.choice([
            "",
            json.dumps({"SecretId": rand_text(string.ascii_letters + "/_+=.@-", 1, 40)},
                       separators=(",", ":")),
            rand_text(string.printable + UTF8, 0, 300),
        ])
    token = None
    if rng.random() < 0.5:
        token = rand_text(string.ascii_letters + string.digits + "+/", 100, 400) + "=="
    creds = {
        "access_key_id": ("ASIA" if token else "AKIA") + rand_text(string.ascii_uppercase + string.digits, 16, 16),
        "secret_access_key": rand_text(string.ascii_letters + string.digits + "+/", 40, 40),
        "session_token": token,
    }
    now = rng.randint(1420070400, 2051222400)  # 2015 .. 2035
    return dict(method=method, path=path, query=query, headers=headers, body=body,
                region=region, service=service, now=now, **creds)


def sign_botocore(d):
    when = datetime.datetime.utcfromtimestamp(d["now"])

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    url = f"https://{dict((k.lower(), v) for k, v in d['headers'])['host']}{d['path']}"
    if d["query"] is not None:
        url += "?" + d["query"]
    req = AWSRequest(method=d["method"], url=url, data=d["body"].encode("utf-8"))
    for name, value in d["headers"]:
        req.headers[name] = value  # HTTPMessage: a repeated name is added, not replaced
    auth = Recording(Credentials(d["access_key_id"], d["secret_access_key"], d["session_token"]),
                     d["service"], d["region"])
    with mock.patch.object(botocore.auth.datetime, "datetime", Fixed):
        auth.add_auth(req)
    return req.headers["Authorization"], req.headers["X-Amz-Date"], auth.creq


failures = 0
for i in range(count):
    d = rand_request()
    want_auth, want_date, want_creq = sign_botocore(d)
    p = subprocess.run([tool], input=json.dumps(d), capture_output=True, text=True)
    got = dict(line.split(": ", 1) for line in p.stdout.splitlines() if ": " in line)
    if (p.returncode != 0 or got.get("Authorization") != want_auth or
            got.get("X-Amz-Date") != want_date or
            got.get("X-Amz-Security-Token") != d["session_token"]):
        failures += 1
        dbg = subprocess.run([tool, "--debug"], input=json.dumps(d), capture_output=True, text=True)
        print(f"FAIL request {i}: {json.dumps(d, ensure_ascii=False)}")
        print(f"  got  Authorization: {got.get('Authorization')} (exit {p.returncode}) {p.stderr}")
        print(f"  want Authorization: {want_auth}")
        print(f"  got  X-Amz-Date: {got.get('X-Amz-Date')}, want {want_date}")
        print(f"  our  {dbg.stderr}")
        print(f"  botocore canonical request:\n{want_creq}")
print(f"{count - failures}/{count} requests signed as botocore signs them")
sys.exit(1 if failures else 0)
PYEOF

"$PY" "$tmp/crosscheck.py" "$TOOL" 60

# The stored own vector is what botocore computes today.
"$PY" "$MAILINIT_SOURCE_DIR/tests/data/sigv4-own/make_vector.py" "$tmp/own"
if ! diff -r "$tmp/own" "$MAILINIT_SOURCE_DIR/tests/data/sigv4-own" -x make_vector.py; then
        echo "FAIL: make_vector.py no longer reproduces tests/data/sigv4-own" >&2
        exit 1
fi
echo "make_vector.py reproduces tests/data/sigv4-own"
