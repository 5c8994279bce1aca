#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_imds - a stand-in for the EC2 instance metadata service (IMDSv2) for tests.

It answers like the real service: a session token from PUT /latest/api/token, then
GET/HEAD with X-aws-ec2-metadata-token; 400/401/403/404/405 where EC2 answers them.
Faults (status codes, hangs, dropped connections, slow, NUL bytes, empty and huge
answers) are injected from the "faults" list of the configuration. Every request is
logged as one JSON line. Python 3.11 standard library only.

    fake_imds.py --config CONFIG.json --port-file FILE [--log FILE] [--bind 127.0.0.1]

See README.md next to this file for the configuration keys.
"""

import argparse
import base64
import datetime
import http.server
import json
import os
import secrets
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse

TOKEN_PATH = "/latest/api/token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_MAX = 21600

CONFIG_KEYS = {
    "instance_id", "region", "availability_zone", "local_hostname", "hostname",
    "account_id", "instance_type", "image_id", "private_ip", "role", "credentials",
    "tags", "user_data_file", "user_data_b64", "lifecycle_state", "allow_v1",
    "token_ttl_max", "faults",
}
CREDENTIAL_KEYS = {"access_key_id", "secret_access_key", "token", "expiration", "code"}
ACTIONS = {"status", "hang", "drop", "slow", "nul", "empty", "big"}
RULE_KEYS = {"path", "method", "times", "action", "status", "body", "delay_ms", "size",
             "fill", "exact", "max_ms"}


class ConfigError(Exception):
    pass


def utc_iso(when):
    return datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Rule:
    """One fault rule; 'times' is consumed under the server lock."""

    def __init__(self, index, spec):
        if not isinstance(spec, dict):
            raise ConfigError(f"faults[{index}]: not an object")
        unknown = set(spec) - RULE_KEYS
        if unknown:
            raise ConfigError(f"faults[{index}]: unknown keys {sorted(unknown)}")
        self.path = spec.get("path")
        if not isinstance(self.path, str) or not self.path:
            raise ConfigError(f"faults[{index}]: \"path\" must be a non-empty string")
        self.method = spec.get("method")
        if self.method is not None:
            self.method = str(self.method).upper()
        self.exact = bool(spec.get("exact", False))
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ConfigError(f"faults[{index}]: \"times\" must be a non-negative integer")
        self.remaining = times  # None: unlimited
        self.action = spec.get("action")
        if self.action not in ACTIONS:
            raise ConfigError(f"faults[{index}]: \"action\" must be one of {sorted(ACTIONS)}")
        self.status = int(spec.get("status", 500))
        body = spec.get("body", "")
        self.body = body.encode() if isinstance(body, str) else bytes(body)
        self.delay_ms = int(spec.get("delay_ms", 0))
        self.size = int(spec.get("size", 50 * 1024 * 1024))
        self.fill = str(spec.get("fill", "A")).encode() or b"A"
        self.max_ms = spec.get("max_ms")  # hang: give up (close) after this long
        if self.action == "status" and "status" not in spec:
            raise ConfigError(f"faults[{index}]: action \"status\" needs \"status\"")

    def matches(self, method, path):
        if self.method is not None and self.method != method:
            return False
        if self.path == "token":
            return method == "PUT" and path == TOKEN_PATH
        if self.exact:
            return path == self.path or path.rstrip("/") == self.path.rstrip("/")
        return path.startswith(self.path)


class State:
    def __init__(self, config, config_dir):
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ConfigError(f"unknown configuration keys {sorted(unknown)}")
        self.config = config
        self.config_dir = config_dir
        self.lock = threading.Lock()
        self.tokens = {}  # token -> expiry (time.monotonic())
        self.rules = [Rule(i, r) for i, r in enumerate(config.get("faults") or [])]
        self.allow_v1 = bool(config.get("allow_v1", False))
        self.token_ttl_max = int(config.get("token_ttl_max", TTL_MAX))
        self.started = time.time()
        cred = config.get("credentials") or {}
        # a list: the Nth credentials request gets the Nth entry (the last one thereafter),
        # to model the role's credentials being rotated
        for c in cred if isinstance(cred, list) and cred else [cred]:
            if not isinstance(c, dict) or set(c) - CREDENTIAL_KEYS:
                raise ConfigError("\"credentials\" (an object or a non-empty list of objects): "
                                  f"keys must be among {sorted(CREDENTIAL_KEYS)}")
        self.credentials_served = 0
        tags = config.get("tags")
        if tags is not None and not isinstance(tags, dict):
            raise ConfigError("\"tags\" must be an object or null")
        self.log_file = None

    # --- fault rules -------------------------------------------------------------------
    def take_rule(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule.remaining is not None and rule.remaining <= 0:
                    continue
                if rule.matches(method, path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    # --- tokens ------------------------------------------------------------------------
    def new_token(self, ttl):
        token = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode().rstrip("=")
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
        return token

    def token_valid(self, token):
        with self.lock:
            expiry = self.tokens.get(token)
            if expiry is None:
                return False
            if time.monotonic() >= expiry:
                del self.tokens[token]
                return False
            return True

    # --- request log -------------------------------------------------------------------
    def log(self, record):
        if self.log_file is None:
            return
        line = json.dumps(record, separators=(",", ":"), sort_keys=False)
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()

    # --- metadata values -----------------------------------------------------------------
    def user_data(self):
        c = self.config
        if c.get("user_data_file") is not None:
            path = c["user_data_file"]
            if not os.path.isabs(path):
                path = os.path.join(self.config_dir, path)
            try:
                with open(path, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return None
        if c.get("user_data_b64") is not None:
            return base64.b64decode(c["user_data_b64"])
        return None

    def credentials(self):
        cred = self.config.get("credentials") or {}
        if isinstance(cred, list):
            with self.lock:
                cred = cred[min(self.credentials_served, len(cred) - 1)]
                self.credentials_served += 1
        expiration = cred.get("expiration", 6 * 3600)
        if isinstance(expiration, (int, float)):
            expiration = utc_iso(time.time() + expiration)
        return {
            "Code": cred.get("code", "Success"),
            "LastUpdated": utc_iso(self.started),
            "Type": "AWS-HMAC",
            "AccessKeyId": cred.get("access_key_id", "ASIAFAKEIMDS00000001"),
            "SecretAccessKey": cred.get("secret_access_key",
                                        "fakeSecretAccessKeyFromTheStandInImds0001"),
            "Token": cred.get("token", "FakeSessionTokenFromTheStandInImds//////////0001="),
            "Expiration": expiration,
        }

    def lookup(self, path):
        """(status, body bytes) for a metadata GET of path (already authorised)."""
        c = self.config
        region = c.get("region", "eu-west-1")
        instance_id = c.get("instance_id", "i-0123456789abcdef0")
        local_hostname = c.get("local_hostname", "ip-10-0-0-10.eu-west-1.compute.internal")
        role = c.get("role")
        tags = c.get("tags")
        account = c.get("account_id", "123456789012")
        md = "/latest/meta-data/"

        def text(value):
            return 200, str(value).encode()

        if path in ("/latest", "/latest/"):
            return text("dynamic\nmeta-data\nuser-data")
        if path in ("/latest/meta-data", md):
            entries = ["ami-id", "hostname", "instance-id", "instance-type", "local-hostname",
                       "local-ipv4", "placement/"]
            if role is not None:
                entries.append("iam/")
            if tags is not None:
                entries.append("tags/")
            if c.get("lifecycle_state") is not None:
                entries.append("autoscaling/")
            return text("\n".join(sorted(entries)))
        if path == md + "instance-id":
            return text(instance_id)
        if path == md + "ami-id":
            return text(c.get("image_id", "ami-0123456789abcdef0"))
        if path == md + "instance-type":
            return text(c.get("instance_type", "t3.micro"))
        if path == md + "local-ipv4":
            return text(c.get("private_ip", "10.0.0.10"))
        if path in (md + "placement", md + "placement/"):
            return text("availability-zone\nregion")
        if path == md + "placement/region":
            return text(region)
        if path == md + "placement/availability-zone":
            return text(c.get("availability_zone", region + "a"))
        if path == md + "local-hostname":
            return text(local_hostname)
        if path == md + "hostname":
            return text(c.get("hostname", local_hostname))
        if path in (md + "iam", md + "iam/"):
            if role is None:
                return 404, b""
            return text("info\nsecurity-credentials/")
        if path == md + "iam/info":
            if role is None:
                return 404, b""
            return text(json.dumps({
                "Code": "Success",
                "LastUpdated": utc_iso(self.started),
                "InstanceProfileArn": f"arn:aws:iam::{account}:instance-profile/{role}",
                "InstanceProfileId": "AIPAFAKEIMDS00000001",
            }, indent=2))
        if path in (md + "iam/security-credentials", md + "iam/security-credentials/"):
            if role is None:
                return 404, b""
            return text(role)
        if path.startswith(md + "iam/security-credentials/"):
            name = path[len(md + "iam/security-credentials/"):]
            if role is None or name != role:
                return 404, b""
            return text(json.dumps(self.credentials(), indent=2))
        if path in (md + "tags", md + "tags/"):
            if tags is None:
                return 404, b""
            return text("instance")
        if path in (md + "tags/instance", md + "tags/instance/"):
            if tags is None:
                return 404, b""
            return text("\n".join(tags.keys()))
        if path.startswith(md + "tags/instance/"):
            key = path[len(md + "tags/instance/"):]
            if tags is None or key not in tags:
                return 404, b""
            return text(tags[key])
        if path in (md + "autoscaling", md + "autoscaling/"):
            if c.get("lifecycle_state") is None:
                return 404, b""
            return text("target-lifecycle-state")
        if path == md + "autoscaling/target-lifecycle-state":
            if c.get("lifecycle_state") is None:
                return 404, b""
            return text(c["lifecycle_state"])
        if path == "/latest/user-data":
            data = self.user_data()
            if data is None:
                return 404, b""
            return 200, data
        if path in ("/latest/dynamic", "/latest/dynamic/"):
            return text("instance-identity/")
        if path in ("/latest/dynamic/instance-identity", "/latest/dynamic/instance-identity/"):
            return text("document")
        if path == "/latest/dynamic/instance-identity/document":
            return text(json.dumps({
                "accountId": account,
                "architecture": "x86_64",
                "availabilityZone": c.get("availability_zone", region + "a"),
                "billingProducts": None,
                "devpayProductCodes": None,
                "marketplaceProductCodes": None,
                "imageId": c.get("image_id", "ami-0123456789abcdef0"),
                "instanceId": instance_id,
                "instanceType": c.get("instance_type", "t3.micro"),
                "kernelId": None,
                "pendingTime": utc_iso(self.started),
                "privateIp": c.get("private_ip", "10.0.0.10"),
                "ramdiskId": None,
                "region": region,
                "version": "2017-09-30",
            }, indent=2))
        return 404, b""


STATUS_BODIES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 500: "Internal Server Error", 503: "Service Unavailable",
}


def error_body(status):
    # The real service answers errors with a small HTML document.
    reason = STATUS_BODIES.get(status)
    if reason is None:
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
    return (f'<?xml version="1.0" encoding="iso-8859-1"?>\n'
            f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
            f'\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
            f'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
            f' <head>\n  <title>{status} - {reason}</title>\n </head>\n'
            f' <body>\n  <h1>{status} - {reason}</h1>\n </body>\n</html>\n').encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EC2ws"
    sys_version = ""
    timeout = 60  # idle keep-alive connections

    state: State  # set on the class by main()

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's API
        pass

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_OPTIONS(self):
        self.dispatch()

    # --- helpers -------------------------------------------------------------------------
    def discard_body(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            remaining = int(length)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)

    def send(self, status, body=b"", content_type="text/plain", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def record(self, status, action):
        ttl = self.headers.get(TTL_HEADER)
        if ttl is not None:
            try:
                ttl = int(ttl.strip())
            except ValueError:
                pass
        self.state.log({
            "method": self.command,
            "path": self.req_path,
            "has_token": self.headers.get(TOKEN_HEADER) is not None,
            "token_ttl": ttl,
            "x_forwarded_for": self.headers.get("X-Forwarded-For") is not None,
            "status": status,
            "action": action,
            "token_valid": self.token_ok(),
            "time": round(time.time(), 3),
        })

    def token_ok(self):
        token = self.headers.get(TOKEN_HEADER)
        return token is not None and self.state.token_valid(token)

    # --- the request ---------------------------------------------------------------------
    def dispatch(self):
        self.discard_body()
        raw = urllib.parse.urlsplit(self.path).path
        self.req_path = urllib.parse.unquote(raw)
        rule = self.state.take_rule(self.command, self.req_path)
        try:
            if rule is None:
                status, body, extra = self.answer()
                self.record(status, None)
                self.send(status, body, extra=extra)
            else:
                self.fault(rule)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def answer(self):
        """(status, body, extra headers) of the normal service for this request."""
        method, path = self.command, self.req_path
        if method not in ("GET", "HEAD", "PUT"):
            return 405, error_body(405), {"Allow": "GET, HEAD, PUT"}
        if method == "PUT":
            if path.endswith("/api/token") and path != TOKEN_PATH:
                return 403, error_body(403), None  # only /latest/api/token issues tokens
            if path != TOKEN_PATH:
                return 405, error_body(405), {"Allow": "GET, HEAD"}
            if self.headers.get("X-Forwarded-For") is not None:
                return 403, error_body(403), None
            ttl = (self.headers.get(TTL_HEADER) or "").strip()
            if not ttl.isdigit() or not 1 <= int(ttl) <= self.state.token_ttl_max:
                return 400, error_body(400), None
            token = self.state.new_token(int(ttl))
            return 200, token.encode(), {TTL_HEADER: ttl}
        if path == TOKEN_PATH:
            return 405, error_body(405), {"Allow": "PUT"}
        token = self.headers.get(TOKEN_HEADER)
        if token is None:
            if not self.state.allow_v1:
                return 401, error_body(401), None
        elif not self.state.token_valid(token):
            return 401, error_body(401), None
        status, body = self.state.lookup(path)
        if status != 200:
            return status, error_body(status), None
        return 200, body, None

    def fault(self, rule):
        action = rule.action
        if action == "status":
            self.record(rule.status, "status")
            self.send(rule.status, rule.body)
        elif action == "empty":
            self.record(200, "empty")
            self.send(200, b"")
        elif action == "slow":
            time.sleep(rule.delay_ms / 1000.0)
            status, body, extra = self.answer()
            self.record(status, "slow")
            self.send(status, body, extra=extra)
        elif action == "nul":
            status, body, extra = self.answer()
            if status == 200:
                body = body[:len(body) // 2] + b"\0" + body[len(body) // 2:]
            self.record(status, "nul")
            self.send(status, body, extra=extra)
        elif action == "big":
            self.record(200, "big")
            self.stream_big(rule)
        elif action == "drop":
            self.record(None, "drop")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif action == "hang":
            self.record(None, "hang")
            self.hang(rule)

    def stream_big(self, rule):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(rule.size))
        self.end_headers()
        if self.command == "HEAD":
            return
        chunk = (rule.fill * (65536 // len(rule.fill) + 1))[:65536]
        left = rule.size
        while left > 0:
            piece = chunk[:min(left, len(chunk))]
            self.wfile.write(piece)
            left -= len(piece)
        self.wfile.flush()

    def hang(self, rule):
        """Never answer; return when the client closes (or after max_ms, or at shutdown)."""
        self.close_connection = True
        deadline = None if rule.max_ms is None else time.monotonic() + rule.max_ms / 1000.0
        sock = self.connection
        sock.settimeout(None)
        while not self.server.stopping.is_set():
            wait = 0.2
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            readable, _, _ = select.select([sock], [], [], wait)
            if readable:
                try:
                    if not sock.recv(65536):
                        break  # the client went away
                except OSError:
                    break
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, handler):
        self.stopping = threading.Event()
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description="Stand-in EC2 instance metadata service (IMDSv2)")
    parser.add_argument("--config", required=True, help="configuration JSON file")
    parser.add_argument("--port-file", required=True, help="where to write the port once listening")
    parser.add_argument("--log", help="request log, one JSON object per line")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    args = parser.parse_args()

    try:
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
        if not isinstance(config, dict):
            raise ConfigError("the configuration must be a JSON object")
        state = State(config, os.path.dirname(os.path.abspath(args.config)))
    except (OSError, ValueError, ConfigError) as e:
        print(f"fake_imds: {args.config}: {e}", file=sys.stderr)
        return 2

    if args.log:
        state.log_file = open(args.log, "a", encoding="utf-8")
    Handler.state = state
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    Server.address_family = family
    server = Server((args.bind, args.port), Handler)

    def stop(signum, frame):
        # Exit at once: the log is flushed per line, and threads left hanging on purpose
        # ("hang") must not delay the test's cleanup.
        server.stopping.set()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    write_atomically(args.port_file, f"{server.server_address[1]}\n")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
