#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_sesv2 - a stand-in for the Amazon SES API v2 SendEmail operation, for tests.

It speaks the real wire protocol (REST-JSON: POST /v2/email/outbound-emails, JSON body with
Content.Raw.Data in base64, errors named by x-amzn-ErrorType with {"message": ...}) and checks
every request's Signature Version 4 for the signing name "ses" with botocore as an
independent oracle (aws_sigv4.py, as fake_secretsmanager.py does: the request is rebuilt
from exactly the headers it says it signed, and botocore computes the signature). Each accepted
message is written to --messages-dir as MESSAGEID.eml (the decoded raw bytes) and
MESSAGEID.json (envelope, signer). Faults (errors, raw statuses, hangs, drops, delays,
expired tokens) come from the "faults" list; every request is logged as one JSON line.

    fake_sesv2.py --config CONFIG.json --port-file FILE --messages-dir DIR [--log FILE]
                  [--tls-cert CERT.pem --tls-key KEY.pem] [--bind 127.0.0.1] [--port 0]

Configuration (JSON object; read again when the file changes):
  region                  "eu-west-1"; requests must be signed for it
  credentials             [{access_key_id, secret_access_key, session_token, role, user,
                            expired, not_after (epoch seconds: ExpiredToken afterwards),
                            expires_after_first_use (seconds after the key's first request),
                            denied}] (default: the stand-in IMDS's role credentials)
  clock_offset_seconds    0 (shifts the server clock: Date header and skew check)
  clock_skew_limit_seconds 300
  verified_identities     null (all allowed) or a list of addresses and domains: another
                          FromEmailAddress is MessageRejected, as in the SES sandbox
  faults                  [{action, times, recipient, sender, access_key_id, type, status,
                            message, body, delay_ms, max_ms, close}]
     action: "error" (type: an SES error code; status defaults to the model's),
             "status_raw" (status with a non-JSON body), "hang" (no answer; closes after
             max_ms), "drop" (closes at once), "slow" (delay_ms, then normal),
             "expired_token" (403 ExpiredTokenException)
"""

import base64
import json
import os
import ssl
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_sigv4 import (ALGORITHM, SIGNATURE_MISMATCH, ApiError, Auth,  # noqa: E402
                       check_clock_skew, check_service_and_region, check_signature,
                       find_credential, parse_amz_date, parse_authorization,
                       signed_header_names)
from aws_stub import (IMDS_DEFAULT_CREDENTIALS, AwsConfig, AwsFaultRule,  # noqa: E402
                      AwsHandler, AwsState, http_error_page, json_or_none, run)
from stub_server import ConfigError, argument_parser, take_rule  # noqa: E402

PROG = "fake_sesv2"
SERVICE = "ses"
SEND_PATH = "/v2/email/outbound-emails"
RAW_MAX = 40 * 1000 * 1000  # after base64
MAX_BODY = 64 * 1024 * 1024
NAMESPACE = "com.amazonaws.sesv2"

# code -> (HTTP status, default message), after botocore's sesv2 model and the front end
ERRORS = {
    "TooManyRequestsException": (429, "Too many requests have been made to the operation."),
    "LimitExceededException": (400, "Maximum sending rate exceeded."),
    "AccountSuspendedException": (400, "The message can't be sent because the account's "
                                  "ability to send email has been permanently restricted."),
    "SendingPausedException": (400, "The message can't be sent because the account's ability "
                               "to send email is currently paused."),
    "MessageRejected": (400, "Email address is not verified."),
    "MailFromDomainNotVerifiedException": (400, "The message can't be sent because the "
                                           "sending domain isn't verified."),
    "NotFoundException": (404, "The resource you attempted to access doesn't exist."),
    "BadRequestException": (400, "The input you provided is invalid."),
    "InternalFailure": (500, "The request processing has failed because of an unknown error, "
                        "exception or failure."),
    "ServiceUnavailable": (503, "Service Unavailable"),
    "ExpiredTokenException": (403, "The security token included in the request is expired"),
    "UnrecognizedClientException": (403, "The security token included in the request is "
                                    "invalid."),
    "InvalidSignatureException": (403, SIGNATURE_MISMATCH),
    "IncompleteSignatureException": (403, "Incomplete signature"),
    "MissingAuthenticationTokenException": (403, "Missing Authentication Token"),
    "AccessDeniedException": (403, "Access denied"),
    "SerializationException": (400, "Start of structure or map found where not expected."),
}

CONFIG_KEYS = {"region", "account_id", "credentials", "clock_offset_seconds",
               "clock_skew_limit_seconds", "verified_identities", "faults"}
CREDENTIAL_KEYS = {"access_key_id", "secret_access_key", "session_token", "role", "user",
                   "expired", "not_after", "expires_after_first_use", "denied"}
ACTIONS = {"error", "status_raw", "hang", "drop", "slow", "expired_token"}
RULE_KEYS = {"action", "times", "recipient", "sender", "access_key_id", "type", "status",
             "message", "body", "delay_ms", "max_ms", "close"}


class Rule(AwsFaultRule):
    """One fault rule: what it matches (recipient, sender, access_key_id) and what it does."""

    def __init__(self, index, spec):
        if not isinstance(spec, dict) or set(spec) - RULE_KEYS:
            raise ConfigError(f"faults[{index}]: an object with keys among {sorted(RULE_KEYS)}")
        super().__init__(index, spec, RULE_KEYS, ACTIONS)
        self.recipient = spec.get("recipient")
        self.sender = spec.get("sender")
        if self.action == "error" and not isinstance(self.type, str):
            raise ConfigError(f"faults[{index}]: action \"error\" needs \"type\"")
        body = spec.get("body")
        self.body = None if body is None else body.encode()

    def matches(self, sender, recipients, akid):
        """Whether the rule applies to a message from sender to recipients signed with akid."""
        if self.recipient is not None and self.recipient not in (recipients or []):
            return False
        if self.sender is not None and self.sender != sender:
            return False
        if self.access_key_id is not None and self.access_key_id != akid:
            return False
        return True


class Config(AwsConfig):
    """One parsed, validated configuration file."""

    def __init__(self, raw):
        if not isinstance(raw, dict) or set(raw) - CONFIG_KEYS:
            raise ConfigError(f"the configuration is an object with keys among "
                              f"{sorted(CONFIG_KEYS)}")
        super().__init__(raw)
        self.verified = raw.get("verified_identities")
        creds = raw.get("credentials", IMDS_DEFAULT_CREDENTIALS)
        self.credentials = {}
        for i, cred in enumerate(creds):
            if not isinstance(cred, dict) or set(cred) - CREDENTIAL_KEYS or \
                    not cred.get("access_key_id") or not cred.get("secret_access_key"):
                raise ConfigError(f"credentials[{i}]: needs access_key_id and "
                                  f"secret_access_key; keys among {sorted(CREDENTIAL_KEYS)}")
            self.credentials[cred["access_key_id"]] = cred
        self.rules = [Rule(i, r) for i, r in enumerate(raw.get("faults") or [])]


class State(AwsState):
    """AwsState, plus where accepted messages go and when each access key was first used."""

    def __init__(self, path, messages_dir):
        super().__init__(path, Config, PROG)
        self.messages_dir = messages_dir
        self.first_use = {}  # access key id -> time of its first accepted signature

    def expired(self, cred):
        """not_after passed, or expires_after_first_use seconds since the key's first use."""
        now = time.time()
        if cred.get("not_after") is not None and now >= float(cred["not_after"]):
            return True
        ttl = cred.get("expires_after_first_use")
        if ttl is None:
            return False
        with self.lock:
            first = self.first_use.setdefault(cred["access_key_id"], now)
        return now >= first + float(ttl)


def message_id():
    """SES's shape: 0102 + 12 hex of the time in ms, a UUID, and the 6-digit suffix."""
    return f"0102{int(time.time() * 1000):012x}-{uuid.uuid4()}-000000"

class Handler(AwsHandler):
    """The SES API v2 front end and SendEmail."""

    max_body = MAX_BODY

    def send_error_json(self, err, close=False):
        """Answer an ApiError as SES does ({"message": ...}, x-amzn-ErrorType); returns
        (status, code)."""
        status_default, message_default = ERRORS.get(err.code, (400, None))
        status = err.status or status_default
        message = err.message if err.message is not None else message_default
        body = json.dumps({"message": message} if message is not None else {},
                          separators=(",", ":")).encode()
        extra = {"x-amzn-ErrorType": f"{err.code}:http://internal.amazon.com/coral/{NAMESPACE}/"}
        self.send_bytes(status, body, "application/json", extra=extra, close=close)
        return status, err.code

    def do_POST(self):
        """These methods go to dispatch (others get http.server's 501)."""
        self.dispatch()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    def dispatch(self):
        """Answer one request and log it (one JSON line) however it ends."""
        self.state.reload()
        config = self.state.config
        self.request_id = str(uuid.uuid4())
        record = {
            "method": self.command, "path": self.path, "status": None, "error_type": None,
            "action": None, "access_key_id": None, "region": None, "service": None,
            "signature_valid": None, "session_token_signed": False, "sender": None,
            "recipients": None, "size": None, "message_id": None,
            "x_amz_date": self.headers.get("X-Amz-Date"), "connection": self.conn_id,
            "tls": isinstance(self.connection, ssl.SSLSocket),
            "user_agent": self.headers.get("User-Agent"), "time": round(time.time(), 3),
        }
        self.serve_request(record, lambda body: self.handle_api(config, record, body))

    def handle_api(self, config, record, body):
        """Faults before the signature check, the check, faults after it, SendEmail."""
        request = json_or_none(body)
        sender = recipients = None
        if isinstance(request, dict):
            sender = request.get("FromEmailAddress")
            dest = request.get("Destination")
            if isinstance(dest, dict):
                recipients = dest.get("ToAddresses")
        record["sender"], record["recipients"] = sender, recipients
        auth = Auth()
        parse_authorization(self.headers, auth)  # lenient: only to match and log
        record["access_key_id"] = auth.access_key_id
        record["region"], record["service"] = auth.region, auth.service

        request_keys = (sender, recipients, auth.access_key_id)
        self.fault_before_auth(record, config.rules, request_keys)

        try:
            self.authenticate(config, auth, body)
        except ApiError as err:
            record["signature_valid"] = auth.signature_valid
            if auth.signature_valid is False and auth.expected_creq is not None:
                record["expected_canonical_request"] = auth.expected_creq
            record["status"], record["error_type"] = self.send_error_json(err)
            return
        record["signature_valid"] = auth.signature_valid
        record["session_token_signed"] = auth.token_signed

        rule = take_rule(config.rules, request_keys, pre_auth=False)
        if rule is not None:
            self.start_fault(record, rule)
            if rule.action == "error":
                record["status"], record["error_type"] = self.send_error_json(
                    ApiError(rule.type, rule.message, rule.status), close=rule.close)
                return
            if rule.action == "expired_token":
                record["status"], record["error_type"] = self.send_error_json(
                    ApiError("ExpiredTokenException", rule.message, rule.status))
                return
            if rule.action == "status_raw":
                body = rule.body if rule.body is not None else http_error_page(rule.status)
                self.send_bytes(rule.status, body, "text/html", close=rule.close)
                record["status"] = rule.status
                return
        try:
            result = self.send_email(config, record, request)
        except ApiError as err:
            record["status"], record["error_type"] = self.send_error_json(err)
            return
        self.send_bytes(200, json.dumps(result).encode(), "application/json",
                        close=bool(rule and rule.close))
        record["status"] = 200

    # --- Signature Version 4 (the checks of aws_sigv4.py, in SES's order) -----------------
    def authenticate(self, config, auth, body):
        """Check the request's signature like the service: ApiError when it fails."""
        missing = parse_authorization(self.headers, auth)
        if missing is None:
            raise ApiError("MissingAuthenticationTokenException")
        if auth.algorithm != ALGORITHM or missing or len(auth.credential_parts) != 5:
            raise ApiError("IncompleteSignatureException")
        signed = signed_header_names(auth)
        timestamp = (self.headers.get("X-Amz-Date") or "").strip()
        signed_at = parse_amz_date(timestamp)
        if signed_at is None:
            raise ApiError("IncompleteSignatureException",
                           f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'.")
        if auth.credential_parts[4] != "aws4_request":
            raise ApiError("InvalidSignatureException", "Credential should be scoped with a "
                           "valid terminator: 'aws4_request'")
        check_service_and_region(auth, SERVICE, config.region)
        if auth.scope_date != timestamp[:8]:
            raise ApiError("InvalidSignatureException",
                           "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           "version of date from HTTP.")
        cred = find_credential(self.headers, auth, config.credentials)
        if cred.get("expired") or self.state.expired(cred):
            raise ApiError("ExpiredTokenException")
        limit = config.skew_limit
        check_clock_skew(timestamp, signed_at, self.state.now(), limit, f"{limit // 60} min.")
        check_signature(self, auth, cred, timestamp, signed, body)

    # --- the operation --------------------------------------------------------------------
    def send_email(self, config, record, request):
        """SendEmail: check the request like SES, write MESSAGEID.eml and .json into the
        messages directory; returns the result (ApiError as SES answers)."""
        if self.command != "POST" or self.path.split("?")[0] != SEND_PATH:
            raise ApiError("NotFoundException", "Unknown operation")
        if not isinstance(request, dict):
            raise ApiError("SerializationException")
        content = request.get("Content")
        raw = content.get("Raw") if isinstance(content, dict) else None
        data = raw.get("Data") if isinstance(raw, dict) else None
        if not isinstance(data, str):
            raise ApiError("BadRequestException", "Content.Raw.Data is required")
        if len(data) > RAW_MAX:
            raise ApiError("MessageRejected", "Message length is more than 40 megabytes")
        try:
            message = base64.b64decode(data, validate=True)
        except ValueError:
            raise ApiError("SerializationException", "Content.Raw.Data is not base64") from None
        recipients = record["recipients"]
        if not isinstance(recipients, list) or not recipients or \
                not all(isinstance(r, str) and "@" in r for r in recipients):
            raise ApiError("BadRequestException", "Missing final '@domain'")
        if len(recipients) > 50:
            raise ApiError("MessageRejected", "Recipient count exceeds 50.")
        if b"\r\n\r\n" not in message and b"\n\n" not in message:
            raise ApiError("MessageRejected", "Message must contain a header and a body")
        sender = record["sender"]
        if config.verified is not None:
            identity = sender or ""
            domain = identity.rsplit("@", 1)[-1]
            if identity not in config.verified and domain not in config.verified:
                raise ApiError("MessageRejected",
                               "Email address is not verified. The following identities failed "
                               f"the check in region {config.region.upper()}: {identity}")
        mid = message_id()
        record["message_id"], record["size"] = mid, len(message)
        os.makedirs(self.state.messages_dir, exist_ok=True)
        base = os.path.join(self.state.messages_dir, mid)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(message)
        meta = {"message_id": mid, "from": sender, "to": recipients, "size": len(message),
                "access_key_id": record["access_key_id"], "time": round(time.time(), 3)}
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(base + ".eml.tmp", base + ".eml")
        os.replace(base + ".json.tmp", base + ".json")
        return {"MessageId": mid}

def main():
    """Serve as the stand-in SES API v2; returns the exit code."""
    messages_dir = ("--messages-dir", {"required": True, "help": "where accepted messages go"})
    parser = argument_parser("Stand-in Amazon SES API v2 (SendEmail)", tls=True,
                             own=[messages_dir])
    return run(PROG, parser, lambda args: State(args.config, args.messages_dir), Handler)


if __name__ == "__main__":
    sys.exit(main())
