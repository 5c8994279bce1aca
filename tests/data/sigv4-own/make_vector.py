#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate mailinit's own SigV4 golden vector with botocore (an independent signer).

Neither AWS test suite has an AWS JSON 1.1 POST with X-Amz-Target and a JSON body, which is
the only request mailinit signs (Secrets Manager GetSecretValue with the instance role's
temporary credentials). This script signs that request with botocore.auth.SigV4Auth at a
fixed time and writes the case in the aws-c-auth layout, next to this script:

  secretsmanager-get-secret-value/{request.txt, context.json, header-canonical-request.txt,
  header-string-to-sign.txt, header-signature.txt, header-signed-request.txt}

Usage: /usr/bin/python3 make_vector.py [OUTPUT_DIR]   (needs python3-botocore)
The output is deterministic: running it again must leave the files unchanged.
"""
import datetime
import json
import os
import sys
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CASE = "secretsmanager-get-secret-value"
REGION = "eu-west-1"
SERVICE = "secretsmanager"
HOST = f"secretsmanager.{REGION}.amazonaws.com"
WHEN = datetime.datetime(2026, 11, 28, 12, 0, 0)
ACCESS_KEY_ID = "ASIAEXAMPLEMAILINIT7"
SECRET_ACCESS_KEY = "mAiLiNiTeXaMpLe/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = (
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCWV1LXdlc3QtMSJHMEUCIQDmailinitEXAMPLEtoken"
    "+aGVsbG8vd29ybGQ=EXAMPLE"
)
HEADERS = [
    ("Content-Type", "application/x-amz-json-1.1"),
    ("Host", HOST),
    ("X-Amz-Target", "secretsmanager.GetSecretValue"),
]
BODY = b'{"SecretId":"mailinit/ses-smtp"}'


class FixedDatetime(datetime.datetime):
    """datetime whose utcnow() is WHEN, so SigV4Auth.add_auth signs at a fixed time."""

    @classmethod
    def utcnow(cls):
        return cls(WHEN.year, WHEN.month, WHEN.day, WHEN.hour, WHEN.minute, WHEN.second)


class RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4Auth that keeps the intermediate strings it computes."""

    def string_to_sign(self, request, canonical_request):
        self.canonical_request_text = canonical_request
        self.string_to_sign_text = super().string_to_sign(request, canonical_request)
        return self.string_to_sign_text

    def signature(self, string_to_sign, request):
        self.signature_text = super().signature(string_to_sign, request)
        return self.signature_text


def sign():
    creds = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN)
    auth = RecordingSigV4Auth(creds, SERVICE, REGION)
    request = AWSRequest(method="POST", url=f"https://{HOST}/", data=BODY, headers=dict(HEADERS))
    with mock.patch.object(botocore.auth.datetime, "datetime", FixedDatetime):
        auth.add_auth(request)
    return auth, request


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(base, CASE)
    os.makedirs(out, exist_ok=True)
    auth, request = sign()

    head = "".join(f"{name}:{value}\n" for name, value in HEADERS)
    write(os.path.join(out, "request.txt"), f"POST / HTTP/1.1\n{head}\n".encode() + BODY)
    context = {
        "credentials": {
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
            "token": SESSION_TOKEN,
        },
        "normalize": True,
        "region": REGION,
        "service": SERVICE,
        "sign_body": False,
        "timestamp": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": "make_vector.py (botocore.auth.SigV4Auth)",
    }
    write(os.path.join(out, "context.json"), json.dumps(context, indent=4, sort_keys=True) + "\n")
    write(os.path.join(out, "header-canonical-request.txt"), auth.canonical_request_text)
    write(os.path.join(out, "header-string-to-sign.txt"), auth.string_to_sign_text)
    write(os.path.join(out, "header-signature.txt"), auth.signature_text)
    signed = "".join(f"{name}:{value}\n" for name, value in request.headers.items())
    write(os.path.join(out, "header-signed-request.txt"),
          f"POST / HTTP/1.1\n{signed}\n".encode() + BODY)


if __name__ == "__main__":
    main()
