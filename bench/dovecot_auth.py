# SPDX-License-Identifier: MIT
"""dovecot_auth - a minimal Dovecot authentication server (the auth protocol 1.x that
Postfix's smtpd speaks with smtpd_sasl_type = dovecot), for the bench's STARTTLS + AUTH sink.

    dovecot_auth.py --socket PATH --user NAME --password-file FILE

Accepts PLAIN and LOGIN for that one user. Debian's Postfix reads Cyrus SASL's smtpd.conf only
from /etc/postfix/sasl, which the bench never touches; this needs no system file.
"""
import argparse
import asyncio
import base64
import os
import sys


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Session:
    def __init__(self, user, password):
        self.user, self.password = user, password
        self.pending = {}  # id -> (mech, state)

    def check(self, name, password):
        return name.split("@")[0] == self.user and password == self.password

    def auth(self, rid, mech, params):
        resp = params.get("resp")
        mech = mech.upper()
        if mech == "PLAIN":
            if resp is None:
                self.pending[rid] = ("PLAIN", None)
                return "CONT\t%s\t" % rid
            return self.plain(rid, resp)
        if mech == "LOGIN":
            self.pending[rid] = ("LOGIN", None)
            return "CONT\t%s\t%s" % (rid, b64("Username:"))
        return "FAIL\t%s\treason=unsupported mechanism" % rid

    def plain(self, rid, resp):
        try:
            _, name, password = base64.b64decode(resp).decode().split("\0")
        except ValueError:
            return "FAIL\t%s\treason=bad PLAIN response" % rid
        if self.check(name, password):
            return "OK\t%s\tuser=%s" % (rid, name)
        return "FAIL\t%s\tuser=%s" % (rid, name)

    def cont(self, rid, data):
        mech, state = self.pending.pop(rid, (None, None))
        if mech == "PLAIN":
            return self.plain(rid, data)
        if mech == "LOGIN" and state is None:
            self.pending[rid] = ("LOGIN", base64.b64decode(data).decode())
            return "CONT\t%s\t%s" % (rid, b64("Password:"))
        if mech == "LOGIN":
            password = base64.b64decode(data).decode()
            if self.check(state, password):
                return "OK\t%s\tuser=%s" % (rid, state)
            return "FAIL\t%s\tuser=%s" % (rid, state)
        return "FAIL\t%s\treason=unknown request" % rid


async def serve(reader, writer, user, password):
    writer.write(("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
                  "SPID\t%d\nCUID\t1\nCOOKIE\t%s\nDONE\n" % (os.getpid(), "0" * 32)).encode())
    session = Session(user, password)
    while True:
        line = await reader.readline()
        if not line:
            break
        fields = line.decode().rstrip("\n").split("\t")
        reply = None
        if fields[0] == "AUTH" and len(fields) >= 3:
            params = dict(f.partition("=")[::2] for f in fields[3:])
            reply = session.auth(fields[1], fields[2], params)
        elif fields[0] == "CONT" and len(fields) >= 2:
            reply = session.cont(fields[1], fields[2] if len(fields) > 2 else "")
        if reply:
            writer.write((reply + "\n").encode())
            await writer.drain()
    writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    args = ap.parse_args()
    with open(args.password_file) as f:
        password = f.read()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    server = await asyncio.start_unix_server(
        lambda r, w: serve(r, w, args.user, password), path=args.socket)
    os.chmod(args.socket, 0o666)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
