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

import base64
import datetime
import http
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stub_server import (ConfigError, FaultRule, JsonLog, StubHTTPServer,  # noqa: E402
                         StubRequestHandler, argument_parser, filler, serve, take_rule)

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


def utc_iso(when):
    """The ISO 8601 UTC time (2026-11-28T12:00:00Z) of epoch seconds."""
    return datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Rule(FaultRule):
    """One fault rule: the requests it matches (path, method) and what it does."""

    def __init__(self, index, spec):
        super().__init__(index, spec, RULE_KEYS, ACTIONS)
        self.path = spec.get("path")
        if not isinstance(self.path, str) or not self.path:
            raise ConfigError(f"faults[{index}]: \"path\" must be a non-empty string")
        self.method = spec.get("method")
        if self.method is not None:
            self.method = str(self.method).upper()
        self.exact = bool(spec.get("exact", False))
        self.status = int(spec.get("status", 500))
        body = spec.get("body", "")
        self.body = body.encode() if isinstance(body, str) else bytes(body)
        self.size = int(spec.get("size", 50 * 1024 * 1024))
        self.fill = str(spec.get("fill", "A")).encode() or b"A"
        if self.action == "status" and "status" not in spec:
            raise ConfigError(f"faults[{index}]: action \"status\" needs \"status\"")

    def matches(self, method, path):
        """Whether the rule applies to a request of method for path."""
        if self.method is not None and self.method != method:
            return False
        if self.path == "token":
            return method == "PUT" and path == TOKEN_PATH
        if self.exact:
            return path == self.path or path.rstrip("/") == self.path.rstrip("/")
        return path.startswith(self.path)


class State:
    """The instance the configuration describes, its session tokens, its fault rules and
    the request log."""

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
        self.log = JsonLog()

    # --- tokens ------------------------------------------------------------------------
    def new_token(self, ttl):
        """A new session token, valid for ttl seconds."""
        token = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode().rstrip("=")
        with self.lock:
            self.tokens[token] = time.monotonic() + ttl
        return token

    def token_valid(self, token):
        """Whether token was issued here and has not expired."""
        with self.lock:
            expiry = self.tokens.get(token)
            if expiry is None:
                return False
            if time.monotonic() >= expiry:
                del self.tokens[token]
                return False
            return True

    # --- metadata values -----------------------------------------------------------------
    def user_data(self):
        """The user-data bytes (user_data_file or user_data_b64), or None."""
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
        """The role's credentials document (the next one of a list, for rotation)."""
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
    """The small HTML document the real service answers errors with."""
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


class Handler(StubRequestHandler):
    """The metadata service's answers, and its faults."""

    server_version = "EC2ws"
    sys_version = ""
    timeout = 60  # idle keep-alive connections

    state: State  # set on the class by main()

    def do_GET(self):
        """Every method goes to dispatch (the service answers them all)."""
        self.dispatch()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    # --- helpers -------------------------------------------------------------------------
    def discard_body(self):
        """Read and drop the request body (Content-Length)."""
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            remaining = int(length)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)

    def send(self, status, body=b"", content_type="text/plain", extra=None):
        """A whole answer: status, body and extra headers (no body for HEAD)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def record(self, status, action):
        """Log the request (one JSON line) with its status and fault action."""
        ttl = self.headers.get(TTL_HEADER)
        if ttl is not None:
            try:
                ttl = int(ttl.strip())
            except ValueError:
                pass
        self.state.log.write({
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
        """Whether the request carries a valid session token."""
        token = self.headers.get(TOKEN_HEADER)
        return token is not None and self.state.token_valid(token)

    # --- the request ---------------------------------------------------------------------
    def dispatch(self):
        """Answer one request: a matching fault rule's fault, else the service's answer."""
        self.discard_body()
        raw = urllib.parse.urlsplit(self.path).path
        self.req_path = urllib.parse.unquote(raw)
        rule = take_rule(self.state.rules, (self.command, self.req_path))
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
        """Answer with the rule's fault."""
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
            self.drop()
        elif action == "hang":
            self.record(None, "hang")
            self.hang(rule.max_ms)

    def stream_big(self, rule):
        """A 200 answer of rule.size bytes of rule.fill."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(rule.size))
        self.end_headers()
        if self.command == "HEAD":
            return
        for piece in filler(rule.fill, rule.size):
            self.wfile.write(piece)
        self.wfile.flush()


def main():
    """Serve as the stand-in IMDS; returns the exit code (2: bad configuration)."""
    parser = argument_parser("Stand-in EC2 instance metadata service (IMDSv2)", tls=False)
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

    state.log = JsonLog(args.log)
    Handler.state = state
    server = StubHTTPServer((args.bind, args.port), Handler)
    # exit at once at SIGTERM: threads left hanging on purpose ("hang") must not delay the
    # test's cleanup
    return serve(server, args.port_file, exit_at_once=True)


if __name__ == "__main__":
    sys.exit(main())
