#!/usr/bin/python3
"""The lab's scripted authoritative server (UDP and TCP), in one of two modes.

  slow: answers authoritatively from --zonefile, every answer after --delay s.
  evil: answers authoritatively from --zonefile, except these names (type A):
        (NET is the lab's net, 127.53 by default: the addresses come from the
        zone file that tools/lab/gen wrote)
        ok.evil.test        normal answer (NET.200.20)
        poison.evil.test    answer NET.200.21 plus out-of-bailiwick junk:
                            ANSWER www.example.com. A 6.6.6.6,
                            AUTHORITY com. NS ns.evil.test.,
                            ADDITIONAL ns.evil.test. A 6.6.6.6, www.example.org. A 6.6.6.6
        wrongid.evil.test   UDP: a reply with the wrong ID (6.6.6.6), ~50 ms later the
                            right one (NET.200.22)
        wrongsrc.evil.test  UDP: a reply from --alt-addr (6.6.6.6), ~50 ms later the
                            right one from --addr (NET.200.23)
        wrongcase.evil.test UDP: a reply whose question has other letter case
                            (6.6.6.6), ~50 ms later the right one (NET.200.24)
        garbage.evil.test   (any type, UDP and TCP) 40 random bytes, ID kept
        timeout.evil.test   (any type, UDP and TCP) never answers
        Over TCP, wrongid/wrongsrc/wrongcase get only the correct answer.
        Other names in the zone: NXDOMAIN with SOA; SOA/NS answered normally.

Names outside --zone get REFUSED. The question is echoed exactly as received.
A query with EDNS gets an OPT with payload 1232. Every UDP query is handled
in its own thread, so a slow answer never blocks another one.

Usage: scripted.py --mode slow|evil --zone ZONE --zonefile FILE --addr IP
                   [--port 53] [--alt-addr IP] [--delay 1.5] [--pidfile F]
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

EDNS_PAYLOAD = 1232
FAKE = "6.6.6.6"
SECOND_DELAY = 0.05


class Server:
    def __init__(self, a):
        self.a = a
        self.origin = dns.name.from_text(a.zone)
        self.zone = dns.zone.from_file(a.zonefile, origin=self.origin, relativize=False,
                                       check_origin=True)
        self.soa = self.zone.find_rrset(self.origin, dns.rdatatype.SOA)
        self.ns = self.zone.find_rrset(self.origin, dns.rdatatype.NS)
        self.names = set(self.zone.nodes.keys())
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((a.addr, a.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((a.addr, a.port))
        self.tcp.listen(64)
        self.alt = None
        if a.alt_addr:
            self.alt = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.alt.bind((a.alt_addr, a.port))

    # -- answers ------------------------------------------------------------
    def label(self, qname):
        """The special label for evil mode: 'poison' for poison.evil.test."""
        if self.a.mode != "evil" or len(qname) != len(self.origin) + 1:
            return None
        if not qname.is_subdomain(self.origin):
            return None
        return qname.labels[0].decode("ascii", "replace").lower()

    def base_response(self, q):
        r = dns.message.make_response(q, our_payload=EDNS_PAYLOAD)
        r.flags |= dns.flags.AA
        r.flags &= ~dns.flags.RA
        return r

    def zone_answer(self, q):
        """A normal authoritative answer from the zone data."""
        r = self.base_response(q)
        qname, qtype = q.question[0].name, q.question[0].rdtype
        if q.question[0].rdclass != dns.rdataclass.IN or not qname.is_subdomain(self.origin):
            r.flags &= ~dns.flags.AA
            r.set_rcode(dns.rcode.REFUSED)
            return r
        node = self.zone.get_node(qname)
        if node is None:
            # an empty non-terminal exists if some name lies below qname
            if any(n.is_subdomain(qname) for n in self.names):
                r.authority.append(self.soa_neg())
            else:
                r.set_rcode(dns.rcode.NXDOMAIN)
                r.authority.append(self.soa_neg())
            return r
        cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is not None and qtype != dns.rdatatype.CNAME:
            r.answer.append(self.rrset(qname, cname))
            return r
        rds = node.get_rdataset(dns.rdataclass.IN, qtype)
        if rds is None:
            r.authority.append(self.soa_neg())
            return r
        r.answer.append(self.rrset(qname, rds))
        if qtype != dns.rdatatype.NS:
            r.authority.append(self.ns)
        return r

    def rrset(self, name, rds):
        rr = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
        rr.update(rds)
        rr.ttl = rds.ttl
        return rr

    def soa_neg(self):
        rr = self.rrset(self.origin, self.soa)
        rr.ttl = min(self.soa.ttl, self.soa[0].minimum)
        return rr

    def a_rr(self, name, addr):
        if isinstance(name, str):
            name = dns.name.from_text(name)
        return dns.rrset.from_text(name, 300, "IN", "A", addr)

    def with_case_flipped(self, r, q):
        """r with its question name in other letter case than the query's."""
        qn = q.question[0].name.to_text()
        other = qn.lower() if qn == qn.upper() else qn.upper()
        r.question = [dns.rrset.RRset(dns.name.from_text(other), q.question[0].rdclass,
                                      q.question[0].rdtype)]
        return r

    def wire(self, r, q, tcp):
        limit = 65535
        if not tcp:
            limit = max(512, q.payload) if q.edns >= 0 else 512
        try:
            return r.to_wire(max_size=limit)
        except dns.exception.TooBig:
            r.answer, r.authority, r.additional = [], [], []
            r.flags |= dns.flags.TC
            return r.to_wire()

    def plan(self, q, tcp):
        """The list of (delay_s, source, wire or None) to send for query q.
        source is 'main' or 'alt'."""
        qname, qtype = q.question[0].name, q.question[0].rdtype
        lab = self.label(qname)
        delay = self.a.delay if self.a.mode == "slow" else 0.0
        if lab == "timeout":
            return []
        if lab == "garbage":
            return [(0.0, "main", struct.pack("!H", q.id) + os.urandom(38))]
        r = self.zone_answer(q)
        if lab is None or qtype != dns.rdatatype.A:
            return [(delay, "main", self.wire(r, q, tcp))]
        if lab == "poison":
            r.answer.append(self.a_rr("www.example.com.", FAKE))
            r.authority = [dns.rrset.from_text("com.", 300, "IN", "NS", "ns.evil.test.")]
            r.additional = [self.a_rr("ns.evil.test.", FAKE),
                            self.a_rr("www.example.org.", FAKE)]
            return [(0.0, "main", self.wire(r, q, tcp))]
        good = self.wire(r, q, tcp)
        if tcp or lab not in ("wrongid", "wrongsrc", "wrongcase"):
            return [(0.0, "main", good)]
        bad = self.zone_answer(q)
        bad.answer = [self.a_rr(qname, FAKE)]
        src = "main"
        if lab == "wrongid":
            bad.id = (q.id + 0x5A5A) & 0xFFFF or 1
        elif lab == "wrongsrc":
            src = "alt" if self.alt else "main"
        elif lab == "wrongcase":
            self.with_case_flipped(bad, q)
        return [(0.0, src, self.wire(bad, q, tcp)), (SECOND_DELAY, "main", good)]

    def parse(self, data):
        try:
            q = dns.message.from_wire(data)
        except Exception:
            return None
        if q.flags & dns.flags.QR or len(q.question) != 1 or q.opcode() != 0:
            return None
        return q

    # -- UDP ----------------------------------------------------------------
    def udp_one(self, data, peer):
        q = self.parse(data)
        if q is None:
            return
        for delay, src, w in self.plan(q, tcp=False):
            if delay:
                time.sleep(delay)
            sock = self.alt if src == "alt" else self.udp
            try:
                sock.sendto(w, peer)
            except OSError:
                pass

    def udp_loop(self):
        while True:
            try:
                data, peer = self.udp.recvfrom(65535)
            except OSError:
                continue
            threading.Thread(target=self.udp_one, args=(data, peer), daemon=True).start()

    def alt_drain(self):
        """Discard anything sent to the alt address (it only ever sends)."""
        while True:
            try:
                self.alt.recvfrom(65535)
            except OSError:
                pass

    # -- TCP ----------------------------------------------------------------
    def recv_exact(self, c, n):
        b = b""
        while len(b) < n:
            chunk = c.recv(n - len(b))
            if not chunk:
                return None
            b += chunk
        return b

    def tcp_conn(self, c):
        c.settimeout(30)
        try:
            while True:
                h = self.recv_exact(c, 2)
                if h is None:
                    return
                data = self.recv_exact(c, struct.unpack("!H", h)[0])
                if data is None:
                    return
                q = self.parse(data)
                if q is None:
                    return
                for delay, _src, w in self.plan(q, tcp=True):
                    if delay:
                        time.sleep(delay)
                    c.sendall(struct.pack("!H", len(w)) + w)
        except OSError:
            pass
        finally:
            c.close()

    def tcp_loop(self):
        while True:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                continue
            threading.Thread(target=self.tcp_conn, args=(c,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("slow", "evil"), required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--zonefile", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--alt-addr")
    ap.add_argument("--delay", type=float, default=1.5)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    for ip in [a.addr] + ([a.alt_addr] if a.alt_addr else []):
        if not ip.startswith("127."):  # the lab is loopback only (any LAB_NET)
            sys.exit(f"scripted.py: refusing non-loopback address {ip}")
    srv = Server(a)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    if a.pidfile:
        tmp = a.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, a.pidfile)
    print(f"scripted.py: mode {a.mode} zone {a.zone} on {a.addr}:{a.port}"
          + (f" (+{a.alt_addr})" if a.alt_addr else ""), flush=True)
    threading.Thread(target=srv.tcp_loop, daemon=True).start()
    if srv.alt:
        threading.Thread(target=srv.alt_drain, daemon=True).start()
    srv.udp_loop()


if __name__ == "__main__":
    main()
