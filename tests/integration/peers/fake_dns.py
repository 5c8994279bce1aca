#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_dns - an authoritative-looking DNS stand-in on loopback (UDP and TCP, one port) that
answers from a JSON zone, for `mailinit doctor`'s SPF, DKIM and DMARC checks.

    fake_dns.py --zone ZONE.json --port-file FILE [--log FILE] [--bind 127.0.0.1]

The zone maps names to record sets; every name not in it is NXDOMAIN, a name in it without
the asked type answers NOERROR with no records (NODATA):

    {"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"],
                     "MX": ["10 feedback-smtp.eu-west-1.amazonses.com"], "A": ["192.0.2.1"]},
     "_dmarc.example.com": {"TXT": ["v=DMARC1;p=quarantine;rua=mailto:admin@example.com"]},
     "sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
     "broken.example.com": {"SERVFAIL": true}}

A name with a CNAME answers every type with the CNAME (as a server does), followed by the
target's records when the target is in the zone. TXT strings longer than 255 bytes are
split into several character-strings of one record. The zone file is read again when it
changes (tests rewrite it between scenarios). Each query is logged as one JSON line:
{"name": "example.com", "type": "TXT", "rcode": "NOERROR", "answers": 1, "proto": "udp"}.
Uses Debian 12's python3-dnslib.
"""

import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stub_server import JsonLog, wait_for_stop_signal, write_port_file  # noqa: E402

try:
    from dnslib import CNAME, MX, QTYPE, RCODE, RR, TXT, A, DNSLabel
    from dnslib.server import BaseResolver, DNSLogger, DNSServer
except ImportError:  # the tests skip (77) before this happens
    sys.stderr.write("fake_dns.py: python3-dnslib is not installed\n")
    sys.exit(69)

TTL = 60


class Zone:
    """The zone file, read again when its mtime or size changes."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.records = {}
        self.reload()

    def reload(self):
        """Read the zone file again if it changed (the caller holds the lock)."""
        st = os.stat(self.path)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self.stamp:
            return
        with open(self.path, encoding="utf-8") as f:
            zone = json.load(f)
        if not isinstance(zone, dict):
            raise ValueError("the zone must be a JSON object")
        self.records = {name.lower().rstrip("."): rrs for name, rrs in zone.items()}
        self.stamp = stamp

    def get(self, name):
        """The record sets of name (any case, trailing dot or not), or None."""
        with self.lock:
            self.reload()
            return self.records.get(name.lower().rstrip("."))


def txt_record(text):
    """A TXT record of text, split into character-strings of up to 255 bytes."""
    data = text.encode()
    chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
    return TXT(chunks)


def records_of(name, rrset, qtype):
    """RRs of rrset matching qtype (a dnslib type name)."""
    out = []
    for text in rrset.get(qtype, []) if qtype != "CNAME" else []:
        if qtype == "TXT":
            out.append(RR(name, QTYPE.TXT, rdata=txt_record(text), ttl=TTL))
        elif qtype == "MX":
            pref, exchange = text.split(None, 1)
            out.append(RR(name, QTYPE.MX, rdata=MX(exchange, int(pref)), ttl=TTL))
        elif qtype == "A":
            out.append(RR(name, QTYPE.A, rdata=A(text), ttl=TTL))
    return out


class ZoneResolver(BaseResolver):
    """Answers from the zone; logs each query (a JsonLog)."""

    def __init__(self, zone, log):
        self.zone = zone
        self.log = log

    def resolve(self, request, handler):
        """The reply to one query."""
        reply = request.reply()
        qname = request.q.qname
        qtype = QTYPE[request.q.qtype]
        name = str(qname).rstrip(".")
        rrset = self.zone.get(name)
        if rrset is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif rrset.get("SERVFAIL"):
            reply.header.rcode = RCODE.SERVFAIL
        elif "CNAME" in rrset:
            target = rrset["CNAME"]
            reply.add_answer(RR(qname, QTYPE.CNAME, rdata=CNAME(target), ttl=TTL))
            target_set = self.zone.get(target)
            if qtype != "CNAME" and target_set:
                for rr in records_of(DNSLabel(target), target_set, qtype):
                    reply.add_answer(rr)
        else:
            for rr in records_of(qname, rrset, qtype):
                reply.add_answer(rr)
        self.log.write({"name": name, "type": qtype, "rcode": RCODE[reply.header.rcode],
                        "answers": len(reply.rr), "proto": handler.protocol})
        return reply


class QuietLogger(DNSLogger):
    """dnslib's logger, silent."""

    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


def main():
    """Serve the zone until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description="DNS stand-in answering from a JSON zone")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log")
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args()

    zone = Zone(args.zone)
    resolver = ZoneResolver(zone, JsonLog(args.log))
    udp = DNSServer(resolver, address=args.bind, port=0, logger=QuietLogger())
    port = udp.server.server_address[1]
    tcp = DNSServer(resolver, address=args.bind, port=port, tcp=True, logger=QuietLogger())
    udp.start_thread()
    tcp.start_thread()

    write_port_file(args.port_file, port)
    wait_for_stop_signal()
    udp.stop()
    tcp.stop()


if __name__ == "__main__":
    main()
