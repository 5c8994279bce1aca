#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_smtp.py - a stand-in for the Amazon SES SMTP interface (the relayhost), on aiosmtpd.

    fake_smtp.py --port-file FILE --maildir DIR [--config CONFIG.json]
                 [--tls-cert PEM --tls-key KEY] [--implicit-tls] [--log FILE]
                 [--bind 127.0.0.1] [--port 0]

Behaves like email-smtp.<region>.amazonaws.com (see /work/shared/reference/aws-smtp-facts.md
section 2.5): the SES banner, EHLO with 8BITMIME, SIZE, STARTTLS (before TLS) and AUTH PLAIN
LOGIN (after TLS), SES's reply texts, "250 Ok <SES message id>" after DATA, faults injected by
rule. Every accepted message is written to --maildir as NNNN.eml (the raw message) and then
NNNN.json (its envelope and session facts). Tests count the .json files. See peers/README.md.

Written for python3-aiosmtpd 1.4.3 (Debian 12). aiosmtpd's Controller is not used: with
port 0 its start-up probe connects to port 0, and the probe would show up as a session in
the log; this script runs the asyncio server itself.
"""

import argparse
import asyncio
import hmac
import json
import logging
import os
import random
import re
import signal
import ssl
import string
import sys
import time
import uuid
import warnings

try:
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult
except ImportError:  # the test scripts skip (77) before this happens
    sys.stderr.write("fake_smtp.py: python3-aiosmtpd is not installed\n")
    sys.exit(69)

SES_HOSTNAME = "email-smtp.amazonaws.com"
STAGES = ("connect", "ehlo", "auth", "mail", "rcpt", "data", "data_end")
MATCH_STAGES = ("mail", "rcpt", "data_end")

DEFAULTS = {
    "users": {},
    "auth_mechanisms": ["PLAIN", "LOGIN"],
    "require_tls": True,
    "require_auth": None,  # None: true when users are configured
    "max_size": 10485760,
    "max_recipients": 50,
    "recipient_limit_stage": "data_end",
    "recipient_limit_reply": "554 Transaction failed: Recipient count exceeds 50.",
    "idle_timeout": 10,
    "hostname": SES_HOSTNAME,
    "faults": [],
}

# SES's replies (troubleshoot-smtp.md and captured transcripts).
R_AUTH_OK = "235 Authentication successful."
R_AUTH_BAD = "535 Authentication Credentials Invalid"
R_AUTH_NEEDED = "530 Authentication required"
R_TOO_LONG = "552 Message is too long."
R_TIMEOUT = "451 Timeout waiting for data from client"
R_TEMP = "451 Temporary service failure"
R_OK = "250 Ok"


class ConfigError(Exception):
    pass


class NullSender(str):
    """The null reverse-path <>: an empty string that aiosmtpd's checks see as given."""

    def __bool__(self):
        return True


class Fault:
    def __init__(self, index, rule):
        if not isinstance(rule, dict):
            raise ConfigError("faults[%d]: not an object" % index)
        unknown = set(rule) - {"stage", "times", "match", "reply", "delay_ms"}
        if unknown:
            raise ConfigError("faults[%d]: unknown keys: %s" % (index, ", ".join(sorted(unknown))))
        self.stage = rule.get("stage")
        if self.stage not in STAGES:
            raise ConfigError("faults[%d]: stage must be one of %s" % (index, ", ".join(STAGES)))
        self.times = rule.get("times")
        if self.times is not None and (not isinstance(self.times, int) or isinstance(self.times, bool)
                                       or self.times < 1):
            raise ConfigError("faults[%d]: times must be a positive integer" % index)
        self.match = rule.get("match")
        if self.match is not None:
            if not isinstance(self.match, str) or self.stage not in MATCH_STAGES:
                raise ConfigError("faults[%d]: match is a string, for the stages %s"
                                  % (index, ", ".join(MATCH_STAGES)))
        self.reply = rule.get("reply")
        if not isinstance(self.reply, str) or not (
                self.reply == "drop" or re.match(r"^[2-5][0-9][0-9]([ -]|$)", self.reply)):
            raise ConfigError('faults[%d]: reply must be "drop" or an SMTP reply ("454 ...")' % index)
        if self.stage == "data_end" and self.reply.startswith("2"):
            raise ConfigError("faults[%d]: a 2xx reply at data_end would lose the message" % index)
        self.delay_ms = rule.get("delay_ms", 0)
        if not isinstance(self.delay_ms, int) or isinstance(self.delay_ms, bool) or self.delay_ms < 0:
            raise ConfigError("faults[%d]: delay_ms must be a non-negative integer" % index)
        self.index = index
        self.drop = self.reply == "drop"

    def matches(self, stage, subjects):
        if stage != self.stage or self.times == 0:
            return False
        if self.match is not None and not any(self.match in s for s in subjects):
            return False
        return True


def load_config(path):
    config = dict(DEFAULTS)
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError("%s: %s" % (path, e))
        if not isinstance(data, dict):
            raise ConfigError("%s: not a JSON object" % path)
        unknown = set(data) - set(DEFAULTS)
        if unknown:
            raise ConfigError("%s: unknown keys: %s" % (path, ", ".join(sorted(unknown))))
        config.update(data)
    users = config["users"]
    if not isinstance(users, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in users.items()):
        raise ConfigError("users: an object of user name to password strings")
    mechs = config["auth_mechanisms"]
    if (not isinstance(mechs, list) or not mechs
            or not all(m in ("PLAIN", "LOGIN") for m in mechs)):
        raise ConfigError('auth_mechanisms: a non-empty list of "PLAIN", "LOGIN"')
    for key in ("require_tls",):
        if not isinstance(config[key], bool):
            raise ConfigError("%s: true or false" % key)
    if config["require_auth"] is None:
        config["require_auth"] = bool(users)
    if not isinstance(config["require_auth"], bool):
        raise ConfigError("require_auth: true or false")
    if config["require_auth"] and not users:
        raise ConfigError("require_auth needs users")
    for key in ("max_size", "max_recipients", "idle_timeout"):
        v = config[key]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise ConfigError("%s: a positive number" % key)
    if config["recipient_limit_stage"] not in ("rcpt", "data_end"):
        raise ConfigError("recipient_limit_stage: rcpt or data_end")
    if not isinstance(config["hostname"], str) or not config["hostname"]:
        raise ConfigError("hostname: a string")
    if not isinstance(config["faults"], list):
        raise ConfigError("faults: a list")
    config["faults"] = [Fault(i, r) for i, r in enumerate(config["faults"])]
    return config


def reply_lines(reply):
    """A reply with newlines is sent as a multi-line reply: "451-first", "451 last"."""
    lines = reply.split("\n")
    code = lines[0][:3]
    out = []
    for i, line in enumerate(lines):
        if re.match(r"^[0-9]{3}([ -]|$)", line):
            code, text = line[:3], line[4:]
        else:
            text = line
        if i == len(lines) - 1:
            out.append(code + (" " + text if text else ""))
        else:
            out.append(code + "-" + text)
    return out


def ses_message_id():
    # 0100 + milliseconds since the epoch (12 hex digits) - UUID - 000000, as SES's ids are.
    return "0100%012x-%s-000000" % (int(time.time() * 1000), uuid.uuid4())


class State:
    """What all sessions share: the configuration, fault budgets, the maildir, the log."""

    def __init__(self, config, maildir, log_path, implicit_tls, tls_context):
        self.config = config
        self.maildir = maildir
        self.implicit_tls = implicit_tls
        self.tls_context = tls_context
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        self.sessions = 0
        self.next_msg = 1
        for name in os.listdir(maildir):
            m = re.match(r"^([0-9]+)\.(eml|json)$", name)
            if m:
                self.next_msg = max(self.next_msg, int(m.group(1)) + 1)
        self.ident = "ESMTP SimpleEmailService-d-%s %s" % (
            "".join(random.choices(string.ascii_uppercase + string.digits, k=9)),
            "".join(random.choices(string.ascii_letters + string.digits, k=20)))

    def log(self, record):
        if self.log_file is None:
            return
        record = dict(record, time=round(time.time(), 3))
        self.log_file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.log_file.flush()

    def take_fault(self, stage, subjects=()):
        for rule in self.config["faults"]:
            if rule.matches(stage, subjects):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def store(self, meta, content):
        n = self.next_msg
        self.next_msg += 1
        base = os.path.join(self.maildir, "%04d" % n)
        for suffix, data in ((".eml", content),
                             (".json", (json.dumps(meta, indent=2) + "\n").encode())):
            tmp = os.path.join(self.maildir, ".%04d%s.tmp" % (n, suffix))
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, base + suffix)
        return base


class Handler:
    """aiosmtpd hooks; each one forwards to the session (the SesSMTP instance)."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        return await server.ses_ehlo(hostname)

    async def handle_HELO(self, server, session, envelope, hostname):
        return await server.ses_helo(hostname)

    async def handle_AUTH(self, server, session, envelope, args):
        return await server.ses_auth(args)

    async def handle_MAIL(self, server, session, envelope, address, options):
        return await server.ses_mail(address, options)

    async def handle_RCPT(self, server, session, envelope, address, options):
        return await server.ses_rcpt(address, options)

    async def handle_DATA(self, server, session, envelope):
        return await server.ses_data_end()

    async def handle_RSET(self, server, session, envelope):
        return R_OK

    async def handle_NOOP(self, server, session, envelope, arg):
        return R_OK

    async def handle_exception(self, error):
        sys.stderr.write("fake_smtp.py: session error: %r\n" % (error,))
        return R_TEMP


class SesSMTP(SMTP):
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, state, loop):
        self.state = state
        cfg = state.config
        starttls = state.tls_context is not None and not state.implicit_tls
        self.auth_over_plain = not cfg["require_tls"]
        super().__init__(
            Handler(),
            hostname=cfg["hostname"],
            ident=state.ident,
            tls_context=state.tls_context if starttls else None,
            require_starttls=starttls and cfg["require_tls"],
            auth_required=cfg["require_auth"],
            # Implicit TLS: the transport is already TLS, aiosmtpd does not know it.
            auth_require_tls=cfg["require_tls"] and not state.implicit_tls,
            authenticator=self._check_credentials,
            auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN")
                                    if m not in cfg["auth_mechanisms"]],
            data_size_limit=None,  # SIZE is enforced here, with SES's reply text
            enable_SMTPUTF8=False,
            decode_data=False,
            timeout=cfg["idle_timeout"],
            loop=loop,
        )
        state.sessions += 1
        self.sid = state.sessions
        self.peer_text = None
        self.stage = "connect"
        self.command = None
        self.in_data = False
        self.auth_response = False
        self.tls = None
        self.dropped = False
        self.greeted = False
        self.pending = []
        self.auth_user = None
        self.auth_mechanism = None
        self.helo = None

    # -- transport facts -----------------------------------------------------------------

    def tls_version(self):
        return self.tls

    def _note_tls(self, transport):
        try:
            ssl_object = transport.get_extra_info("ssl_object")
        except Exception:
            ssl_object = None
        if ssl_object is not None:
            self.tls = ssl_object.version()

    def log(self, **fields):
        record = {"session": self.sid, "peer": self.peer_text, "tls": self.tls_version() is not None}
        record.update(fields)
        self.state.log(record)

    # -- connection life -------------------------------------------------------------------

    def connection_made(self, transport):
        first = self.transport is None
        super().connection_made(transport)
        self._note_tls(transport)
        if first:
            peer = self.session.peer
            self.peer_text = "%s:%s" % (peer[0], peer[1]) if peer else None
            self.log(stage="connect", event="connect")
        else:
            self.log(stage="starttls", event="tls", tls_version=self.tls_version())

    def connection_lost(self, error):
        if not self.dropped:
            self.log(stage=self.stage, event="close")
        super().connection_lost(error)

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        # Watch the command lines (not the AUTH exchanges, which aiosmtpd reads with
        # readline) to log each reply with the command that caused it.
        original = reader.readuntil

        async def readuntil(separator=b"\n"):
            line = await original(separator)
            self._saw_line(line)
            return line

        reader.readuntil = readuntil

    def _saw_line(self, line):
        if self.auth_response:
            # A line answering a 334 challenge (aiosmtpd reads it with readline, which
            # calls readuntil): credentials, never logged.
            self.auth_response = False
            self.command = "***"
            return
        if self.in_data:
            if line == b".\r\n":
                self.in_data = False
                self.stage, self.command = "data_end", "."
            return
        text = line.decode("ascii", "replace").rstrip("\r\n")
        words = text.split()
        verb = words[0].upper() if words else ""
        if verb == "AUTH":
            # Never log AUTH payloads (PLAIN carries the password).
            text = " ".join(words[:2]) + (" ***" if len(words) > 2 else "")
        self.command = text
        self.stage = {"EHLO": "ehlo", "HELO": "ehlo", "AUTH": "auth", "MAIL": "mail",
                      "RCPT": "rcpt", "DATA": "data"}.get(verb, verb.lower() or "unknown")

    def drop(self):
        """Close the connection abruptly, without a reply."""
        self.log(stage=self.stage, command=self.command, reply=None, action="drop")
        self.dropped = True
        if self.transport is not None:
            self.transport.abort()

    def _timeout_cb(self):
        if self.transport is not None and not self.dropped:
            try:
                self._writer.write((R_TIMEOUT + "\r\n").encode())
            except Exception:
                pass
            self.log(stage=self.stage, command=None, reply=R_TIMEOUT, action="idle_timeout")
        super()._timeout_cb()

    async def push(self, status):
        if self.dropped or status is None:
            return
        if not self.greeted:
            self.greeted = True
            rule = self.state.take_fault("connect")
            if rule is not None:
                await self.delay(rule)
                if rule.drop:
                    self.drop()
                    return
                for line in reply_lines(rule.reply):
                    await self.push(line)
                self.transport.close()
                return
        if isinstance(status, bytes):
            status = status.decode("utf-8", "replace")
        if status.startswith("354"):
            self.in_data = True
        elif status.startswith("334"):
            self.auth_response = True
        self.pending.append(status)
        await super().push(status)
        if status[3:4] != "-":
            self.log(stage=self.stage, command=self.command, reply="\n".join(self.pending))
            self.pending = []

    async def push_reply(self, reply):
        """Push a configured reply (maybe multi-line) whose last line is returned to aiosmtpd."""
        lines = reply_lines(reply)
        for line in lines[:-1]:
            await self.push(line)
        return lines[-1]

    async def delay(self, rule):
        if rule.delay_ms:
            await asyncio.sleep(rule.delay_ms / 1000.0)

    async def fault(self, stage, subjects=()):
        """Apply the first matching fault rule: a reply to return, "" after a drop, or None."""
        rule = self.state.take_fault(stage, subjects)
        if rule is None:
            return None
        await self.delay(rule)
        if rule.drop:
            self.drop()
            return ""
        return await self.push_reply(rule.reply)

    async def check_auth_needed(self, caller_method):
        if self._auth_required and not self.session.authenticated:
            await self.push(R_AUTH_NEEDED)
            return True
        return False

    def _getaddr(self, arg):
        if arg is not None and arg.lstrip().startswith("<>"):
            return NullSender(""), arg.lstrip()[2:]
        return super()._getaddr(arg)

    # -- commands ----------------------------------------------------------------------------

    async def ses_ehlo(self, hostname):
        status = await self.fault("ehlo")
        if status is not None:
            return [status] if status else []
        self.session.host_name = hostname
        self.helo = hostname
        tls = self.tls_version() is not None
        lines = ["250-" + self.hostname, "250-8BITMIME", "250-SIZE %d" % self.state.config["max_size"]]
        if self.tls_context is not None and not tls:
            lines.append("250-STARTTLS")
        if self.state.config["users"] and (tls or self.auth_over_plain):
            lines.append("250-AUTH " + " ".join(self.state.config["auth_mechanisms"]))
        lines.append(R_OK)
        return lines

    async def ses_helo(self, hostname):
        status = await self.fault("ehlo")
        if status is not None:
            return status
        self.session.host_name = hostname
        self.helo = hostname
        return "250 " + self.hostname

    async def ses_auth(self, args):
        if not self.state.config["users"]:
            return "504 Unrecognized authentication type"
        status = await self.fault("auth")
        if status is not None:
            return status or None
        return MISSING

    def _check_credentials(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password
        expected = self.state.config["users"].get(login)
        ok = expected is not None and hmac.compare_digest(expected.encode("utf-8"), password)
        self.log(stage="auth", event="auth", mechanism=mechanism, user=login, ok=ok)
        if not ok:
            return AuthResult(success=False, handled=False, message=R_AUTH_BAD)
        self.auth_user = login
        self.auth_mechanism = mechanism
        return AuthResult(success=True, handled=False, message=R_AUTH_OK, auth_data=login)

    async def ses_mail(self, address, options):
        status = await self.fault("mail", (address,))
        if status is not None:
            return status or None
        for option in options:
            name, _, value = option.partition("=")
            if name == "SIZE" and value.isdigit() and int(value) > self.state.config["max_size"]:
                return R_TOO_LONG
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(options)
        return R_OK

    async def ses_rcpt(self, address, options):
        if address == "":
            return "553 <> address unknown"
        status = await self.fault("rcpt", (address,))
        if status is not None:
            return status or None
        cfg = self.state.config
        if (cfg["recipient_limit_stage"] == "rcpt"
                and len(self.envelope.rcpt_tos) >= cfg["max_recipients"]):
            return await self.push_reply(cfg["recipient_limit_reply"])
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_options.extend(options)
        return R_OK

    async def smtp_DATA(self, arg):
        # The "data" fault stage: the DATA command itself, when it would otherwise be valid.
        ready = (self.session.host_name and self.envelope.rcpt_tos and not arg
                 and not (self._auth_required and not self.session.authenticated))
        if ready:
            rule = self.state.take_fault("data", ())
            if rule is not None:
                await self.delay(rule)
                if rule.drop:
                    # Drop mid-DATA: accept DATA, read the first line of the message, vanish.
                    await self.push("354 End data with <CR><LF>.<CR><LF>")
                    try:
                        await asyncio.wait_for(self._reader.readuntil(b"\r\n"), 10)
                    except Exception:
                        pass
                    self.drop()
                    return
                for line in reply_lines(rule.reply):
                    await self.push(line)
                return
        await super().smtp_DATA(arg)

    async def ses_data_end(self):
        envelope = self.envelope
        cfg = self.state.config
        status = await self.fault("data_end", envelope.rcpt_tos)
        if status is not None:
            return status
        content = envelope.original_content or b""
        if len(content) > cfg["max_size"]:
            return R_TOO_LONG
        if cfg["recipient_limit_stage"] == "data_end" and len(envelope.rcpt_tos) > cfg["max_recipients"]:
            return await self.push_reply(cfg["recipient_limit_reply"])
        message_id = ses_message_id()
        meta = {
            "mail_from": str(envelope.mail_from),
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": self.tls_version() is not None,
            "tls_version": self.tls_version(),
            "auth_user": self.auth_user,
            "auth_mechanism": self.auth_mechanism,
            "size": len(content),
            "message_id": message_id,
            "peer": self.peer_text,
            "helo": self.helo,
            "mail_options": list(envelope.mail_options),
            "session": self.sid,
            "time": round(time.time(), 3),
        }
        path = self.state.store(meta, content)
        self.log(stage="data_end", event="stored", file=os.path.basename(path) + ".eml",
                 message_id=message_id, size=len(content))
        return "250 Ok " + message_id


def tls_context_for(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def write_port_file(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def main(argv):
    p = argparse.ArgumentParser(description="A stand-in for the Amazon SES SMTP interface.")
    p.add_argument("--port-file", required=True, help="written (atomically) once listening")
    p.add_argument("--maildir", required=True, help="accepted messages: NNNN.eml + NNNN.json")
    p.add_argument("--config", help="JSON configuration (see peers/README.md)")
    p.add_argument("--tls-cert", help="server certificate chain (PEM)")
    p.add_argument("--tls-key", help="its private key (PEM)")
    p.add_argument("--implicit-tls", action="store_true",
                   help="TLS from the first byte (the TLS wrapper mode of ports 465/2465)")
    p.add_argument("--log", help="JSON lines, one per reply and event")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)

    try:
        config = load_config(args.config)
        if bool(args.tls_cert) != bool(args.tls_key):
            raise ConfigError("--tls-cert and --tls-key go together")
        if args.implicit_tls and not args.tls_cert:
            raise ConfigError("--implicit-tls needs --tls-cert and --tls-key")
        if config["require_tls"] and not args.tls_cert:
            raise ConfigError("require_tls needs --tls-cert and --tls-key "
                              '(or "require_tls": false in the configuration)')
        tls_context = tls_context_for(args.tls_cert, args.tls_key) if args.tls_cert else None
        os.makedirs(args.maildir, exist_ok=True)
    except (ConfigError, OSError, ssl.SSLError) as e:
        sys.stderr.write("fake_smtp.py: %s\n" % e)
        return 2

    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    # aiosmtpd's own logger warns about its deprecated login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    state = State(config, args.maildir, args.log, args.implicit_tls, tls_context)
    server = loop.run_until_complete(loop.create_server(
        lambda: SesSMTP(state, loop), host=args.bind, port=args.port,
        ssl=tls_context if args.implicit_tls else None))
    port = server.sockets[0].getsockname()[1]
    state.log({"event": "listening", "port": port, "implicit_tls": args.implicit_tls,
               "starttls": tls_context is not None and not args.implicit_tls})
    write_port_file(args.port_file, port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
