#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate the user-data fixtures read by tests/unit/test_userdata.c.

The MIME documents are built with Python's email package, the way cloud-init's
`cloud-init devel make-mime` builds them (MIMEMultipart holding MIMEText parts with
charset utf-8, hence base64, and a Content-Disposition naming each file), so the C parser
is checked against data it did not produce. Boundaries and gzip timestamps are fixed so
that running this again gives byte-identical files.

Usage: /usr/bin/python3 make_fixtures.py [OUTPUT_DIR]   (default: this script's directory)
"""

import email.charset
import email.policy
import gzip
import json
import os
import sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

SCRIPT = "#!/bin/sh\necho 'hello from user-data' > /tmp/hello\n"
CLOUD_CONFIG = "#cloud-config\npackages:\n  - postfix\nruncmd:\n  - [systemctl, enable, --now, postfix]\n"


def mailinit_json(secret_id, **extra):
    body = {"mode": "builtin", "secret_id": secret_id, "region": "eu-west-1"}
    body.update(extra)
    return json.dumps({"mailinit": body}, indent=2, ensure_ascii=False) + "\n"


def attachment(part, filename):
    part.add_header("Content-Disposition", 'attachment; filename="%s"' % filename)
    return part


def make_mime_part(text, subtype, filename):
    # What make-mime does with "-a FILE:SUBTYPE": text/SUBTYPE, utf-8, base64.
    return attachment(MIMEText(text, subtype, "utf-8"), filename)


def multipart(boundary, parts, subtype="mixed"):
    outer = MIMEMultipart(subtype, boundary=boundary)
    for part in parts:
        outer.attach(part)
    return outer


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    files = {}

    # 1. make-mime shape: shell script, cloud-config, then text/x-mailinit (all base64).
    doc = multipart(
        "===============1111111111111111111==",
        [
            make_mime_part(SCRIPT, "x-shellscript", "hello.sh"),
            make_mime_part(CLOUD_CONFIG, "cloud-config", "cloud.yaml"),
            make_mime_part(mailinit_json("fixture-make-mime"), "x-mailinit", "mailinit.json"),
        ],
    )
    files["mime-make-mime.txt"] = doc.as_bytes()
    files["mime-make-mime.txt.gz"] = gz(files["mime-make-mime.txt"])

    # 2. A text/plain JSON part without "mailinit" in quoted-printable (skipped), then
    #    application/json in base64 (MIMEApplication's default encoder).
    qp = email.charset.Charset("utf-8")
    qp.body_encoding = email.charset.QP
    other = json.dumps({"someone-else": {"note": "caf\u00e9 " + "x" * 90}}, ensure_ascii=False)
    doc = multipart(
        "boundary-application-json",
        [
            attachment(MIMEText(other, "plain", qp), "other.json"),
            attachment(
                MIMEApplication(mailinit_json("fixture-application-json").encode(), "json"),
                "mailinit.json",
            ),
        ],
    )
    files["mime-application-json.txt"] = doc.as_bytes()

    # 3. Quoted-printable text/plain JSON with non-ASCII text and a line longer than 76
    #    characters (soft line breaks).
    doc = multipart(
        "qp-boundary",
        [
            make_mime_part(SCRIPT, "x-shellscript", "hello.sh"),
            attachment(
                MIMEText(
                    mailinit_json("fixture-qp", notify_from="postmaster@r\u00e9seau.example",
                                  notify_to="ops-" + "n" * 80 + "@example.com"),
                    "plain",
                    qp,
                ),
                "mailinit.json",
            ),
        ],
    )
    files["mime-qp.txt"] = doc.as_bytes()

    # 4. Nested multipart with CRLF line endings (policy SMTP), the JSON gzip-compressed in
    #    an application/x-gzip part inside multipart/alternative.
    inner = multipart(
        "inner-boundary",
        [
            make_mime_part(CLOUD_CONFIG, "cloud-config", "cloud.yaml"),
            attachment(
                MIMEApplication(gz(mailinit_json("fixture-nested-crlf").encode()), "x-gzip"),
                "mailinit.json.gz",
            ),
        ],
        subtype="alternative",
    )
    ascii_script = MIMEText(SCRIPT, "x-shellscript", "us-ascii")  # 7bit
    doc = multipart("outer-boundary", [ascii_script, inner])
    files["mime-nested-crlf.eml"] = doc.as_bytes(policy=email.policy.SMTP)

    # 5. make-mime output with no mailinit part at all.
    doc = multipart(
        "===============2222222222222222222==",
        [
            make_mime_part(SCRIPT, "x-shellscript", "hello.sh"),
            make_mime_part(CLOUD_CONFIG, "cloud-config", "cloud.yaml"),
        ],
    )
    files["mime-no-mailinit.txt"] = doc.as_bytes()

    # 6. Plain JSON user-data, gzip-compressed (EC2 accepts compressed user-data as is).
    files["userdata.json.gz"] = gz(mailinit_json("fixture-json-gz").encode())

    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
