#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_secretsmanager - a stand-in for AWS Secrets Manager (GetSecretValue) for tests.

It speaks the real wire protocol (AWS JSON 1.1: POST / with X-Amz-Target) and checks
every request's Signature Version 4 with botocore as an independent oracle: the request
is rebuilt from exactly the headers it says it signed, and botocore's SigV4Auth computes
the canonical request, the string to sign and the signature (signing key included) for
the credential scope and the request's own X-Amz-Date. Errors look like the real
service's (JSON "__type", x-amzn-ErrorType, status codes, message texts), every answer
carries a Date header from the (optionally shifted) server clock, and faults (errors,
raw non-JSON statuses, hangs, drops, delays, huge bodies, expired tokens) are injected
from the "faults" list of the configuration. Every request is logged as one JSON line.

    fake_secretsmanager.py --config CONFIG.json --port-file FILE [--log FILE]
                           [--tls-cert CERT.pem --tls-key KEY.pem] [--bind 127.0.0.1]

The configuration file is read again when it changes (or on SIGHUP); rule counters then
start afresh. See README.md next to this file for the configuration keys.
"""

import base64
import email.utils
import hashlib
import json
import os
import re
import ssl
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aws_sigv4 import (ALGORITHM, SIGNATURE_MISMATCH, ApiError, Auth,  # noqa: E402
                       amz_date, check_clock_skew, check_service_and_region, check_signature,
                       find_credential, parse_amz_date, parse_authorization,
                       signed_header_names)
from aws_stub import (IMDS_DEFAULT_CREDENTIALS, AwsConfig, AwsFaultRule,  # noqa: E402
                      AwsHandler, AwsState, http_error_page, json_or_none, run)
from stub_server import (ConfigError, argument_parser, check_keys, filler,  # noqa: E402
                         take_rule)

PROG = "fake_secretsmanager"
SERVICE = "secretsmanager"
TARGET_PREFIX = "secretsmanager."
CONTENT_TYPE = "application/x-amz-json-1.1"

# code -> (HTTP status, default message, kind). The kind decides how the error is
# serialised: "op" errors are modelled by Secrets Manager itself (namespace
# com.amazonaws.secretsmanager, member "Message"), "auth" errors come from the front end
# (plain __type, member "message"), "coral"/"validate" from the framework.
ERRORS = {
    "ResourceNotFoundException": (400, "Secrets Manager can't find the specified secret.", "op"),
    "InvalidParameterException": (400, "You provided an invalid value for a parameter.", "op"),
    "InvalidRequestException": (
        400, "You can't perform this operation on the secret because it was marked for "
        "deletion.", "op"),
    "DecryptionFailure": (
        400, "Secrets Manager can't decrypt the protected secret text using the provided KMS "
        "key.", "op"),
    "InternalServiceError": (500, "An error occurred on the server side.", "op"),
    "LimitExceededException": (400, "The request failed because it would exceed one of the "
                               "Secrets Manager quotas.", "op"),
    "AccessDeniedException": (400, "Access denied", "auth"),
    "ThrottlingException": (400, "Rate exceeded", "auth"),
    "ServiceUnavailable": (503, "Service Unavailable", "auth"),
    "InternalFailure": (500, "The request processing has failed because of an unknown error, "
                        "exception or failure.", "auth"),
    "ExpiredTokenException": (400, "The security token included in the request is expired",
                              "auth"),
    "UnrecognizedClientException": (400, "The security token included in the request is "
                                    "invalid.", "auth"),
    "InvalidSignatureException": (400, SIGNATURE_MISMATCH, "auth"),
    "IncompleteSignatureException": (400, "Incomplete signature", "auth"),
    "MissingAuthenticationTokenException": (400, "Missing Authentication Token", "auth"),
    "RequestExpired": (400, "Request has expired.", "auth"),
    "UnknownOperationException": (400, None, "coral"),
    "SerializationException": (400, "Start of structure or map found where not expected.",
                               "coral"),
    "ValidationException": (400, "1 validation error detected", "validate"),
}
NAMESPACES = {
    "op": "com.amazonaws.secretsmanager",
    "coral": "com.amazon.coral.service",
    "validate": "com.amazon.coral.validate",
    "auth": "com.amazon.coral.service",
}

CONFIG_KEYS = {
    "region", "account_id", "instance_id", "clock_offset_seconds", "clock_skew_limit_seconds",
    "namespaced_error_types", "message_key", "error_type_header", "require_signed_token",
    "status_overrides", "credentials", "secrets", "faults", "created_date",
}
CREDENTIAL_KEYS = {"access_key_id", "secret_access_key", "session_token", "expired", "role",
                   "user", "denied"}
SECRET_KEYS = {"SecretString", "SecretBinary", "VersionId", "VersionStages", "arn", "ARN",
               "Name", "CreatedDate", "Description", "error", "message", "status"}
ACTIONS = {"error", "status_raw", "hang", "drop", "slow", "big", "expired_token"}
RULE_KEYS = {"times", "secret", "target", "access_key_id", "action", "type", "status",
             "message", "body", "content_type", "delay_ms", "size", "fill", "chunked",
             "max_ms", "rst", "close"}



def default_suffix(name):
    """The six random characters Secrets Manager appends to a secret's ARN; stable per name."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:6])



class Rule(AwsFaultRule):
    """One fault rule: what it matches (secret, target, access_key_id) and what it does."""

    def __init__(self, index, spec):
        super().__init__(index, spec, RULE_KEYS, ACTIONS)
        where = f"faults[{index}]"
        self.secret = spec.get("secret")
        self.target = spec.get("target")
        if self.target is not None and "." not in self.target:
            self.target = TARGET_PREFIX + self.target
        if self.action == "error" and not isinstance(self.type, str):
            raise ConfigError(f"{where}: action \"error\" needs \"type\" (an error code)")
        if self.status is not None and not isinstance(self.status, int):
            raise ConfigError(f"{where}: \"status\" must be an integer")
        body = spec.get("body")
        self.body = None if body is None else (body.encode() if isinstance(body, str)
                                               else bytes(body))
        self.content_type = spec.get("content_type", "text/html")
        self.size = int(spec.get("size", 2 * 1024 * 1024))
        self.fill = str(spec.get("fill", "A")) or "A"
        if any(c in self.fill for c in '"\\') or any(ord(c) < 0x20 for c in self.fill):
            raise ConfigError(f"{where}: \"fill\" must not need JSON escaping")
        self.chunked = bool(spec.get("chunked", False))

    def matches(self, target, secret_id, access_key_id):
        """Whether the rule applies to a request for target and secret_id signed with
        access_key_id."""
        if self.secret is not None and self.secret != secret_id:
            return False
        if self.target is not None and self.target != target:
            return False
        if self.access_key_id is not None and self.access_key_id != access_key_id:
            return False
        return True


class Secret:
    """One secret of the configuration (by name or ARN), or the error asking for it gives."""

    def __init__(self, key, spec, region, account):
        where = f"secrets[{key!r}]"
        check_keys(where, spec, SECRET_KEYS)
        arn = spec.get("arn") or spec.get("ARN")
        if key.startswith("arn:"):
            arn = arn or key
        if arn is not None:
            m = re.match(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)-[A-Za-z0-9]{6}$", arn)
            if not m:
                raise ConfigError(f"{where}: \"arn\" is not a full secret ARN "
                                  "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)")
            name = spec.get("Name") or (m.group(1) if key.startswith("arn:") else key)
        else:
            name = spec.get("Name") or key
            arn = (f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-"
                   f"{default_suffix(name)}")
        self.name = name
        self.arn = arn
        self.partial_arn = arn[:-7]  # without "-XXXXXX"
        self.string = spec.get("SecretString")
        self.binary = spec.get("SecretBinary")
        self.error = spec.get("error")
        if self.error is None and (self.string is None) == (self.binary is None):
            raise ConfigError(f"{where}: needs exactly one of \"SecretString\", "
                              "\"SecretBinary\" (base64) or \"error\"")
        if self.binary is not None:
            try:
                base64.b64decode(self.binary, validate=True)
            except ValueError:
                raise ConfigError(f"{where}: \"SecretBinary\" is not base64") from None
        self.error_message = spec.get("message")
        self.error_status = spec.get("status")
        content = json.dumps([name, self.string, self.binary], sort_keys=True)
        self.version_id = spec.get("VersionId") or str(uuid.uuid5(uuid.NAMESPACE_URL, content))
        self.stages = list(spec.get("VersionStages") or ["AWSCURRENT"])
        self.created = spec.get("CreatedDate", 1700000000.123)
        self.description = spec.get("Description")

    def ids(self):
        """The SecretIds that find it: the name, the ARN and the partial ARN."""
        return {self.name, self.arn, self.partial_arn}


class Config(AwsConfig):
    """One parsed, validated configuration file."""

    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise ConfigError("the configuration must be a JSON object")
        unknown = set(raw) - CONFIG_KEYS
        if unknown:
            raise ConfigError(f"unknown configuration keys {sorted(unknown)}")
        super().__init__(raw)
        self.instance_id = raw.get("instance_id", "i-0123456789abcdef0")
        self.namespaced = bool(raw.get("namespaced_error_types", True))
        self.message_key = raw.get("message_key", "auto")
        if self.message_key not in ("auto", "message", "Message"):
            raise ConfigError("\"message_key\" must be \"auto\", \"message\" or \"Message\"")
        self.error_type_header = bool(raw.get("error_type_header", True))
        self.require_signed_token = bool(raw.get("require_signed_token", True))
        self.status_overrides = {str(k): int(v) for k, v in
                                 (raw.get("status_overrides") or {}).items()}
        creds = raw.get("credentials", IMDS_DEFAULT_CREDENTIALS)
        if not isinstance(creds, list):
            raise ConfigError("\"credentials\" must be a list of objects")
        self.credentials = {}
        for i, cred in enumerate(creds):
            if not isinstance(cred, dict) or set(cred) - CREDENTIAL_KEYS:
                raise ConfigError(f"credentials[{i}]: keys must be among "
                                  f"{sorted(CREDENTIAL_KEYS)}")
            if not cred.get("access_key_id") or not cred.get("secret_access_key"):
                raise ConfigError(f"credentials[{i}]: needs \"access_key_id\" and "
                                  "\"secret_access_key\"")
            self.credentials[cred["access_key_id"]] = cred
        secrets = raw.get("secrets") or {}
        if not isinstance(secrets, dict):
            raise ConfigError("\"secrets\" must be an object (name or ARN -> secret)")
        self.secrets = [Secret(k, v, self.region, self.account) for k, v in secrets.items()]
        faults = raw.get("faults") or []
        if not isinstance(faults, list):
            raise ConfigError("\"faults\" must be a list")
        self.rules = [Rule(i, r) for i, r in enumerate(faults)]

    def find_secret(self, secret_id):
        """The secret SecretId names (name, ARN or partial ARN), or None."""
        for secret in self.secrets:
            if secret_id in secret.ids():
                return secret
        return None



class Handler(AwsHandler):
    """The Secrets Manager front end and operations."""

    bad_body_error_type = "BadRequest"
    log_elapsed = True

    def setup(self):
        """Number the connection and count its requests."""
        super().setup()
        self.conn_requests = 0

    def handle(self):
        """Serve the connection; log one that ended without a request."""
        try:
            super().handle()
        finally:
            if self.conn_requests == 0:
                # e.g. a client that verifies the host name after the TLS handshake and
                # then hangs up because the certificate is for another host
                self.state.log.write({"target": None, "status": None, "action": "no_request",
                                      "connection": self.conn_id,
                                      "tls": isinstance(self.connection, ssl.SSLSocket),
                                      "time": round(time.time(), 3)})

    def do_POST(self):
        """Every method goes to dispatch (the service answers them all)."""
        self.dispatch()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_POST

    # --- writing -------------------------------------------------------------------------
    def send_json(self, status, obj, close=False):
        """A 200-style answer with obj as compact JSON."""
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_bytes(status, body, CONTENT_TYPE, close=close)

    def send_error_json(self, config, err, close=False):
        """Answer an ApiError the way the service serialises it; returns (status, code)."""
        code = err.code
        if err.type_name and "#" in err.type_name:
            code = err.type_name.rsplit("#", 1)[1]
        status_default, message_default, kind = ERRORS.get(code, (400, None, "op"))
        status = err.status or config.status_overrides.get(code) or status_default
        message = err.message if err.message is not None else message_default
        if err.type_name:
            type_name = err.type_name
        elif config.namespaced and kind in ("op", "coral", "validate"):
            type_name = f"{NAMESPACES[kind]}#{code}"
        else:
            type_name = code
        body = {"__type": type_name}
        if message is not None:
            key = config.message_key
            if key == "auto":
                key = "Message" if kind == "op" else "message"
            body[key] = message
        extra = {}
        if config.error_type_header:
            ns = type_name.rsplit("#", 1)[0] if "#" in type_name else NAMESPACES[kind]
            extra["x-amzn-ErrorType"] = f"{code}:http://internal.amazon.com/coral/{ns}/"
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_bytes(status, data, CONTENT_TYPE, extra=extra, close=close)
        return status, code

    # --- the request ---------------------------------------------------------------------
    def dispatch(self):
        """Answer one request and log it (one JSON line) however it ends."""
        self.state.reload()
        config = self.state.config
        self.conn_requests += 1
        self.request_id = str(uuid.uuid4())
        record = {
            "target": self.headers.get("X-Amz-Target"),
            "secret_id": None,
            "access_key_id": None,
            "session_token_present": self.headers.get("X-Amz-Security-Token") is not None,
            "session_token_signed": False,
            "signature_valid": None,
            "region": None,
            "status": None,
            "error_type": None,
            "action": None,
            "x_amz_date": self.headers.get("X-Amz-Date"),
            "method": self.command,
            "path": self.path,
            "connection": self.conn_id,
            "connection_request": self.conn_requests,
            "tls": isinstance(self.connection, ssl.SSLSocket),
            "request_id": self.request_id,
            "signed_headers": None,
            "user_agent": self.headers.get("User-Agent"),
            "time": round(time.time(), 3),
        }
        self.serve_request(record, lambda body: self.handle_api(config, record, body))

    def handle_api(self, config, record, body):
        """Faults before the signature check, the check, faults after it, the operation."""
        request = json_or_none(body)
        secret_id = request.get("SecretId") if isinstance(request, dict) else None
        if isinstance(secret_id, str):
            record["secret_id"] = secret_id
        target = record["target"]
        auth = Auth()
        parse_authorization(self.headers, auth)  # lenient: only to match and log
        self.fill_auth(record, auth)

        # drop/hang: before the signature check
        request_keys = (target, record["secret_id"], auth.access_key_id)
        self.fault_before_auth(record, config.rules, request_keys)

        try:
            self.authenticate(config, auth, body)
        except ApiError as err:
            self.fill_auth(record, auth)
            record["status"], record["error_type"] = self.send_error_json(config, err)
            return
        self.fill_auth(record, auth)

        rule = take_rule(config.rules, request_keys, pre_auth=False)
        if rule is not None:
            self.start_fault(record, rule)
            if rule.action != "slow":
                self.fault(config, rule, record, request)
                return
        try:
            result = self.operation(config, auth, target, request)
        except ApiError as err:
            record["status"], record["error_type"] = self.send_error_json(
                config, err, close=bool(rule and rule.close))
            return
        self.send_json(200, result, close=bool(rule and rule.close))
        record["status"] = 200

    @staticmethod
    def fill_auth(record, auth):
        """Copy what the signature check found into the log record."""
        record["access_key_id"] = auth.access_key_id
        record["region"] = auth.region
        record["session_token_signed"] = auth.token_signed
        record["signature_valid"] = auth.signature_valid
        record["signed_headers"] = ";".join(auth.signed_headers) if auth.signed_headers else None
        if auth.signature_valid is False and auth.expected_creq is not None:
            record["expected_canonical_request"] = auth.expected_creq
            record["expected_string_to_sign"] = auth.expected_sts
        if auth.problem:
            record["signature_problem"] = auth.problem

    # --- Signature Version 4 (the checks of aws_sigv4.py, in the service's order) ---------
    def authenticate(self, config, auth, body):
        """Check the request's signature like the service: ApiError when it fails."""
        header = self.headers.get("Authorization")
        missing = parse_authorization(self.headers, auth)
        if header is None:
            raise ApiError("MissingAuthenticationTokenException")
        if auth.algorithm != ALGORITHM:
            raise ApiError("IncompleteSignatureException",
                           f"Unsupported AWS 'algorithm': '{auth.algorithm}'")
        if missing:
            msg = " ".join(f"Authorization header requires '{p}' parameter." for p in missing)
            raise ApiError("IncompleteSignatureException", f"{msg} Authorization={header}")
        parts = auth.credential_parts
        if len(parts) != 5:
            raise ApiError("IncompleteSignatureException",
                           "Credential must have exactly 5 slash-delimited elements, e.g. "
                           f"keyid/date/region/service/term, got '{'/'.join(parts)}'")
        signed = signed_header_names(auth)
        # the time the request was signed at
        x_amz_date = self.headers.get("X-Amz-Date")
        if x_amz_date is not None:
            timestamp = x_amz_date.strip()
            signed_at = parse_amz_date(timestamp)
            if signed_at is None:
                raise ApiError("IncompleteSignatureException",
                               f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. "
                               "See http://en.wikipedia.org/wiki/ISO_8601")
        elif self.headers.get("Date") is not None:
            try:
                signed_at = email.utils.parsedate_to_datetime(self.headers["Date"]).timestamp()
            except (TypeError, ValueError):
                raise ApiError("IncompleteSignatureException",
                               f"Date must be in RFC 1123 format. Got '{self.headers['Date']}'"
                               ) from None
            timestamp = amz_date(signed_at)
        else:
            raise ApiError("IncompleteSignatureException",
                           "Authorization header requires existence of either a 'X-Amz-Date' "
                           f"or a 'Date' header. Authorization={header}")
        # the credential scope
        if parts[4] != "aws4_request":
            raise ApiError("InvalidSignatureException",
                           "Credential should be scoped with a valid terminator: "
                           f"'aws4_request', not '{parts[4]}'.")
        check_service_and_region(auth, SERVICE, config.region)
        if auth.scope_date != timestamp[:8]:
            raise ApiError("InvalidSignatureException",
                           "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           f"version of date from HTTP: '{auth.scope_date}' != "
                           f"'{timestamp[:8]}', from '{timestamp}'.")
        # the access key and its session token
        cred = find_credential(self.headers, auth, config.credentials,
                               config.require_signed_token)
        if cred.get("expired"):
            raise ApiError("ExpiredTokenException")
        # clock skew, then the signature computed by botocore
        limit = config.skew_limit
        window = f"{limit // 60} min." if limit % 60 == 0 else f"{limit} sec."
        check_clock_skew(timestamp, signed_at, self.state.now(), limit, window)
        check_signature(self, auth, cred, timestamp, signed, body)

    # --- the operations --------------------------------------------------------------------
    def operation(self, config, auth, target, request):
        """The result of GetSecretValue or DescribeSecret for an authenticated request;
        ApiError as the service answers."""
        if self.command != "POST" or self.path != "/":
            raise ApiError("UnknownOperationException")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != CONTENT_TYPE:
            raise ApiError("SerializationException",
                           f"Unsupported Content-Type: '{self.headers.get('Content-Type')}'; "
                           f"want '{CONTENT_TYPE}'")
        if target not in ("secretsmanager.GetSecretValue", "secretsmanager.DescribeSecret"):
            raise ApiError("UnknownOperationException")
        if not isinstance(request, dict):
            raise ApiError("SerializationException")
        secret_id = request.get("SecretId")
        if secret_id is None:
            raise ApiError("ValidationException",
                           "1 validation error detected: Value null at 'secretId' failed to "
                           "satisfy constraint: Member must not be null")
        if not isinstance(secret_id, str):
            raise ApiError("SerializationException",
                           "STRING_VALUE can not be converted to a String")
        if not 1 <= len(secret_id) <= 2048:
            raise ApiError("ValidationException",
                           f"1 validation error detected: Value '{secret_id}' at 'secretId' "
                           "failed to satisfy constraint: Member must have length less than "
                           "or equal to 2048" if secret_id else
                           "1 validation error detected: Value '' at 'secretId' failed to "
                           "satisfy constraint: Member must have length greater than or "
                           "equal to 1")
        action = target.split(".", 1)[1]
        self.authorize(config, auth, action, secret_id)
        secret = config.find_secret(secret_id)
        if secret is None:
            raise ApiError("ResourceNotFoundException")
        if action == "DescribeSecret":
            return self.describe(secret)
        version_id = request.get("VersionId")
        stage = request.get("VersionStage")
        if version_id is not None and version_id != secret.version_id:
            raise ApiError("ResourceNotFoundException",
                           "Secrets Manager can't find the specified secret value for "
                           f"VersionId: {version_id}")
        if stage is not None and stage not in secret.stages:
            raise ApiError("ResourceNotFoundException",
                           "Secrets Manager can't find the specified secret value for staging "
                           f"label: {stage}")
        if secret.error:
            raise ApiError(secret.error, secret.error_message, secret.error_status,
                           secret.error if "#" in secret.error else None)
        return self.secret_value(secret)

    def authorize(self, config, auth, action, secret_id):
        """AccessDeniedException when the credential is "denied" the secret."""
        cred = auth.credential
        denied = cred.get("denied")
        if denied is True or (isinstance(denied, list) and (
                secret_id in denied or any(secret_id in s.ids() and s.name in denied
                                           for s in config.secrets))):
            if cred.get("role"):
                who = (f"arn:aws:sts::{config.account}:assumed-role/{cred['role']}/"
                       f"{config.instance_id}")
            else:
                who = f"arn:aws:iam::{config.account}:user/{cred.get('user', 'mailinit-test')}"
            raise ApiError("AccessDeniedException",
                           f"User: {who} is not authorized to perform: secretsmanager:{action} "
                           f"on resource: {secret_id} because no identity-based policy allows "
                           f"the secretsmanager:{action} action")

    @staticmethod
    def secret_value(secret):
        """GetSecretValue's result."""
        result = {"ARN": secret.arn, "CreatedDate": secret.created, "Name": secret.name}
        if secret.binary is not None:
            result["SecretBinary"] = secret.binary
        else:
            result["SecretString"] = secret.string
        result["VersionId"] = secret.version_id
        result["VersionStages"] = secret.stages
        return result

    @staticmethod
    def describe(secret):
        """DescribeSecret's result."""
        result = {"ARN": secret.arn, "Name": secret.name}
        if secret.description is not None:
            result["Description"] = secret.description
        result.update({
            "LastChangedDate": secret.created,
            "LastAccessedDate": float(int(time.time()) // 86400 * 86400),
            "VersionIdsToStages": {secret.version_id: secret.stages},
            "CreatedDate": secret.created,
        })
        return result

    # --- faults ----------------------------------------------------------------------------
    def fault(self, config, rule, record, request):
        """Answer with an after-the-check rule's fault instead of the operation."""
        action = rule.action
        if action == "error":
            err = ApiError(rule.type.rsplit("#", 1)[-1], rule.message, rule.status,
                           rule.type if "#" in rule.type else None)
            record["status"], record["error_type"] = self.send_error_json(config, err,
                                                                          close=rule.close)
        elif action == "expired_token":
            record["status"], record["error_type"] = self.send_error_json(
                config, ApiError("ExpiredTokenException", rule.message, rule.status),
                close=rule.close)
        elif action == "status_raw":
            body = rule.body if rule.body is not None else http_error_page(rule.status)
            self.send_bytes(rule.status, body, rule.content_type, close=rule.close)
            record["status"] = rule.status
        elif action == "big":
            self.stream_big(config, rule, request)
            record["status"] = 200

    def stream_big(self, config, rule, request):
        """A GetSecretValue answer of rule.size bytes (SecretString of rule.fill)."""
        secret_id = request.get("SecretId") if isinstance(request, dict) else None
        secret = config.find_secret(secret_id) if isinstance(secret_id, str) else None
        name = secret.name if secret else (secret_id or "big")
        arn = secret.arn if secret else (f"arn:aws:secretsmanager:{config.region}:"
                                         f"{config.account}:secret:{name}-{default_suffix(name)}")
        version = secret.version_id if secret else str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        head = json.dumps({"ARN": arn, "CreatedDate": 1700000000.123, "Name": name,
                           "VersionId": version, "VersionStages": ["AWSCURRENT"]},
                          separators=(",", ":"))[:-1].encode() + b',"SecretString":"'
        tail = b'"}'
        fill_size = max(0, rule.size - len(head) - len(tail))
        total = len(head) + fill_size + len(tail)
        self.send_response(200)
        self.send_header("x-amzn-RequestId", self.request_id)
        self.send_header("Content-Type", CONTENT_TYPE)
        if rule.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        if rule.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

        def write(data):
            if rule.chunked:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self.wfile.write(data)

        write(head)
        for piece in filler(rule.fill.encode(), fill_size):
            write(piece)
        write(tail)
        if rule.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    """Serve as the stand-in Secrets Manager; returns the exit code."""
    parser = argument_parser("Stand-in AWS Secrets Manager (GetSecretValue)", tls=True)
    return run(PROG, parser, lambda args: AwsState(args.config, Config, PROG), Handler,
               reload_on_hangup=True)


if __name__ == "__main__":
    sys.exit(main())
