#!/usr/bin/python3
"""The lab's scripted authoritative server (UDP and TCP), in one of three modes.

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

  conform: several zones (--zone/--zonefile repeated), answered from their
        files, with referrals (and glue from any zone served, even out of
        zone, like a server for both com and net) for delegations; per zone
        the behaviour of one conformance case (tools/lab/README.md,
        "Conformance cases"). "KIND" below is the label just under the apex,
        without a trailing -N (so wrongid-17.badtcp.test is kind wrongid):
        badtcp.test    UDP: TC=1 with no records, always (but at the apex);
                       TCP by kind: ok (the right answer, the A of
                       data.badtcp.test), wrongid (wrong ID only), idthenok
                       (wrong ID, 50 ms later the right one on the same
                       connection), otherq (a reply for other-q.badtcp.test),
                       qd0 / qd2 (QDCOUNT 0 / 2), short (length prefix 5 and
                       5 bytes), close (a length prefix, half the message, FIN)
        dropfirst.test the first UDP datagram of each question (qname in any
                       case + qtype) is dropped, the retry answered (A of
                       data.dropfirst.test for any name); not at the apex
        quirks.test    nodata-noaa / nxdomain-noaa: AA=0 on NODATA/NXDOMAIN;
                       ent-nodata / ent-nx: the empty non-terminals above
                       www.a.ent-*.quirks.test get NODATA / NXDOMAIN with AA=0;
                       aaref: the referral to aaref.quirks.test has AA=1;
                       wrongtype AAAA: an A record answers; dup A: the same A
                       twice in the answer
        upref.test / upref2.test / sideref.test: below the apex, a referral
                       to the root / to test / sideways to example.net
        scrub.test (type A) ttl-topbit: TTL 0x80000010; rdlen0 / rdlen5: a
                       good A plus one with 0 / 5 bytes of RDATA; chclass: a
                       good A plus a CH-class one; cnamenx: NXDOMAIN with a
                       CNAME to nx-target.scrub.test; nxjunk: NXDOMAIN with
                       junk-target.scrub.test A 6.6.6.6
        anything else: the zone data (sib.test, sib.net: referrals with
                       out-of-zone glue)
        --drop-addr IP (repeatable): also listen there (UDP, TCP) and never
        answer; --log-queries: one line per query ("q udp NAME TYPE",
        "dropped NAME TYPE", "drop IP udp NAME TYPE") on stdout (the log),
        each begun with the time ("1717171717.123 q udp ...") with
        --log-time.

  study: like conform for plain zone data (no special cases), UDP answered
        in one thread from answers made once per question, for speed: what
        tools/tierstudy serves its study zone (study.test) with, counting
        what reaches it (--log-queries --log-time).

Names outside the zones get REFUSED. The question is echoed exactly as received.
A query with EDNS gets an OPT with payload 1232. Every UDP query is handled
in its own thread, so a slow answer never blocks another one.

Usage: scripted.py --mode slow|evil|conform --zone ZONE --zonefile FILE --addr IP
                   [--port 53] [--alt-addr IP] [--delay 1.5] [--pidfile F]
                   [--drop-addr IP]... [--log-queries]
"""
import argparse
import os
import re
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
CLOSE = object()   # a TCP step: close the connection now


class Stream(bytes):
    """A TCP step sent as it is (its own length prefix, or a wrong one)."""


def question_wire(data):
    """The question section of a query, byte for byte (case as sent)."""
    i = 12
    while data[i] != 0:
        i += 1 + data[i]
    return data[12:i + 5]


def client_cookie(q):
    """The COOKIE option data of query q (RFC 7873), or None."""
    for o in q.options if q.edns >= 0 else ():
        if o.otype == 10:
            return bytes(o.to_wire() if not hasattr(o, "data") else o.data)
    return None


def opt_rr(options=b""):
    """An OPT record with our payload and the given raw options."""
    return b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, len(options)) + options


def rr(owner, rtype, rclass, ttl, rdata):
    """One resource record on the wire; owner is wire form (b"\xc0\x0c" is
    the question's name)."""
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata
FAKE = "6.6.6.6"
SECOND_DELAY = 0.05


class Server:
    def __init__(self, a):
        self.a = a
        # every zone served: origin -> dns.zone.Zone (slow and evil serve one)
        self.zones = {}
        for zn, zf in zip(a.zone, a.zonefile):
            o = dns.name.from_text(zn)
            self.zones[o] = dns.zone.from_file(zf, origin=o, relativize=False,
                                               check_origin=True)
        self.origin = dns.name.from_text(a.zone[0])
        self.zone = self.zones[self.origin]
        self.soa = self.zone.find_rrset(self.origin, dns.rdatatype.SOA)
        self.ns = self.zone.find_rrset(self.origin, dns.rdatatype.NS)
        self.names = set(self.zone.nodes.keys())
        self.fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
        self.udp = socket.socket(self.fam, socket.SOCK_DGRAM)
        self.udp.bind((a.addr, a.port))
        self.tcp = socket.socket(self.fam, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((a.addr, a.port))
        self.tcp.listen(1024)
        self.alt = None
        if a.alt_addr:
            self.alt = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.alt.bind((a.alt_addr, a.port))
        self.loglock = threading.Lock()
        self.seen = set()           # conform, dropfirst.*: questions seen once
        self.seenlock = threading.Lock()
        self.drops = []             # conform: (addr, udp socket, tcp socket)
        for d in a.drop_addr or []:
            fam = socket.AF_INET6 if ":" in d else socket.AF_INET
            u = socket.socket(fam, socket.SOCK_DGRAM)
            u.bind((d, a.port))
            t = socket.socket(fam, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((d, a.port))
            t.listen(256)
            self.drops.append((d, u, t))

    def log(self, *words):
        if not self.a.log_queries:
            return
        with self.loglock:
            if self.a.log_time:  # the wall clock (libfaketime's, in a study)
                print(f"{time.time():.3f}", *words, flush=True)
            else:
                print(*words, flush=True)

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

    def find_zone(self, qname):
        """The origin of the deepest zone served that holds qname, or None."""
        best = None
        for o in self.zones:
            if qname.is_subdomain(o) and (best is None or len(o) > len(best)):
                best = o
        return best

    def cut_of(self, origin, qname):
        """The topmost delegation (NS below the apex) at or above qname."""
        z, cut, n = self.zones[origin], None, qname
        while n != origin and n.is_subdomain(origin):
            node = z.get_node(n)
            if node is not None and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS):
                cut = n
            n = n.parent()
        return cut

    def glue(self, ns):
        """A/AAAA of the NS names, from any zone this server serves (so a
        server for two TLDs gives out-of-zone glue, like the real com/net)."""
        out = []
        for rd in ns:
            for z in self.zones.values():
                node = z.get_node(rd.target)
                if node is None:
                    continue
                for t in (dns.rdatatype.A, dns.rdatatype.AAAA):
                    rds = node.get_rdataset(dns.rdataclass.IN, t)
                    if rds is not None:
                        out.append(self.rrset(rd.target, rds))
        return out

    def zone_answer(self, q):
        """A normal authoritative answer from the zone data (a referral for
        a name at or below a delegation)."""
        r = self.base_response(q)
        qname, qtype = q.question[0].name, q.question[0].rdtype
        origin = self.find_zone(qname)
        if q.question[0].rdclass != dns.rdataclass.IN or origin is None:
            r.flags &= ~dns.flags.AA
            r.set_rcode(dns.rcode.REFUSED)
            return r
        z = self.zones[origin]
        cut = self.cut_of(origin, qname)
        if cut is not None and not (qname == cut and qtype == dns.rdatatype.DS):
            r.flags &= ~dns.flags.AA
            ns = self.rrset(cut, z.get_node(cut).get_rdataset(dns.rdataclass.IN,
                                                              dns.rdatatype.NS))
            r.authority.append(ns)
            r.additional += self.glue(ns)
            return r
        node = z.get_node(qname)
        if node is None:
            # an empty non-terminal exists if some name lies below qname
            if any(n.is_subdomain(qname) for n in z.nodes):
                r.authority.append(self.soa_neg(origin))
            else:
                r.set_rcode(dns.rcode.NXDOMAIN)
                r.authority.append(self.soa_neg(origin))
            return r
        cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is not None and qtype != dns.rdatatype.CNAME:
            r.answer.append(self.rrset(qname, cname))
            return r
        rds = node.get_rdataset(dns.rdataclass.IN, qtype)
        if rds is None:
            r.authority.append(self.soa_neg(origin))
            return r
        r.answer.append(self.rrset(qname, rds))
        if qtype != dns.rdatatype.NS:
            r.authority.append(self.rrset(origin, z.get_node(origin).get_rdataset(
                dns.rdataclass.IN, dns.rdatatype.NS)))
        return r

    def rrset(self, name, rds):
        rr = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
        rr.update(rds)
        rr.ttl = rds.ttl
        return rr

    def soa_neg(self, origin=None):
        origin = self.origin if origin is None else origin
        soa = self.zones[origin].get_node(origin).get_rdataset(dns.rdataclass.IN,
                                                                dns.rdatatype.SOA)
        rr = self.rrset(origin, soa)
        rr.ttl = min(soa.ttl, soa[0].minimum)
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


    # -- conform: the conformance cases (tools/lab/README.md) ---------------
    def data_a(self, origin, name="data"):
        """The A rdataset of NAME.<origin> in the zone file (gen writes the
        addresses there, so they follow LAB_NET)."""
        node = self.zones[origin].get_node(dns.name.from_text(name, origin))
        return node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.A)

    def raw(self, q, data, rcode=0, aa=True, tc=False, an=(), ns=(), ar=(), qid=None,
            question=None, qdcount=1):
        """A reply built byte by byte (what dnspython would refuse to write):
        an/ns/ar are lists of raw RRs (see rr()); the question is echoed from
        the query as received unless `question` (wire) is given."""
        qd = question if question is not None else question_wire(data)
        flags = 0x8000 | (q.flags & 0x0100) | (0x0400 if aa else 0) | (0x0200 if tc else 0)
        flags |= rcode & 0xF
        ar = list(ar)
        if q.edns >= 0 and not any(a[:3] == b"\x00\x00\x29" for a in ar):
            ar.append(opt_rr())
        head = struct.pack("!HHHHHH", q.id if qid is None else qid, flags, qdcount,
                           len(an), len(ns), len(ar))
        return head + qd * qdcount + b"".join(an) + b"".join(ns) + b"".join(ar)

    def conform_key(self, origin, qname):
        """(label just below the zone apex, its kind): ('wrongid-17', 'wrongid')."""
        if qname == origin:
            return None, None
        lab = qname.relativize(origin).labels[-1].decode("ascii", "replace").lower()
        m = re.fullmatch(r"(.*?)(-\d+)?", lab)
        return lab, m.group(1)

    def conform_plan(self, q, data, tcp):
        qname, qtype = q.question[0].name, q.question[0].rdtype
        origin = self.find_zone(qname)
        zn = origin.to_text(omit_final_dot=True).lower() if origin is not None else ""
        lab, kind = self.conform_key(origin, qname) if origin is not None else (None, None)
        ans = lambda r: [(0.0, "main", self.wire(r, q, tcp))]
        IN = dns.rdataclass.IN
        A = dns.rdatatype.A
        if lab is None or q.question[0].rdclass != IN:
            return ans(self.zone_answer(q))
        if zn == "badtcp.test":
            if not tcp:
                return [(0.0, "main", self.raw(q, data, tc=True))]
            rd = self.data_a(origin)
            good_rr = rr(b"\xc0\x0c", A, IN, 300, rd[0].to_wire() if qtype == A else b"")
            good = self.raw(q, data, an=[good_rr] if qtype == A else [])
            fake = rr(b"\xc0\x0c", A, IN, 300, socket.inet_aton(FAKE))
            bad_id = (q.id + 0x5A5A) & 0xFFFF or 1
            if kind == "ok":
                return [(0.0, "main", good)]
            if kind == "wrongid":
                return [(0.0, "main", self.raw(q, data, an=[fake], qid=bad_id))]
            if kind == "idthenok":
                return [(0.0, "main", self.raw(q, data, an=[fake], qid=bad_id)),
                        (SECOND_DELAY, "main", good)]
            if kind == "otherq":
                other = dns.name.from_text("other-q", origin).to_wire() + struct.pack("!HH", A, IN)
                return [(0.0, "main", self.raw(q, data, question=other, an=[fake]))]
            if kind == "qd0":
                return [(0.0, "main", self.raw(q, data, qdcount=0, an=[
                    rr(qname.to_wire(), A, IN, 300, socket.inet_aton(FAKE))]))]
            if kind == "qd2":
                return [(0.0, "main", self.raw(q, data, qdcount=2, an=[fake]))]
            if kind == "short":  # the length prefix says 5: 5 bytes of a header
                return [(0.0, "main", Stream(struct.pack("!H", 5) + good[:5]))]
            if kind == "close":  # a length prefix, half the message, then FIN
                return [(0.0, "main", Stream(struct.pack("!H", len(good)) + good[:len(good) // 2])),
                        (0.0, "main", CLOSE)]
            return ans(self.zone_answer(q))
        if zn == "dropfirst.test":
            key = (qname.to_text().lower(), qtype)
            with self.seenlock:
                first = key not in self.seen
                if first:
                    if len(self.seen) > 100000:
                        self.seen.clear()
                    self.seen.add(key)
            if first and not tcp:
                self.log("dropped", qname.to_text(), dns.rdatatype.to_text(qtype))
                return []
            r = self.base_response(q)
            if qtype == A:
                r.answer.append(self.rrset(qname, self.data_a(origin)))
            else:
                r.authority.append(self.soa_neg(origin))
            return ans(r)
        if zn in ("upref.test", "upref2.test", "sideref.test"):
            r = self.base_response(q)
            r.flags &= ~dns.flags.AA
            if zn == "upref.test":      # upward: to the root
                r.authority.append(dns.rrset.from_text(".", 518400, "IN", "NS",
                                                       "a.root-servers.net.", "b.root-servers.net."))
            elif zn == "upref2.test":   # upward: to the parent, test
                r.authority.append(dns.rrset.from_text("test.", 172800, "IN", "NS", "ns1.nic.test."))
            else:                       # sideways: an unrelated zone
                r.authority.append(dns.rrset.from_text("example.net.", 172800, "IN", "NS",
                                                       "ns1.example.net."))
            return ans(r)
        if zn == "quirks.test":
            r = self.zone_answer(q)
            if kind == "nodata-noaa" and qname == dns.name.from_text(lab, origin):
                r.flags &= ~dns.flags.AA
            elif kind == "nxdomain-noaa":
                r.flags &= ~dns.flags.AA
            elif kind in ("ent-nodata", "ent-nx") and not r.answer and \
                    r.rcode() == dns.rcode.NOERROR and self.zones[origin].get_node(qname) is None:
                # an empty non-terminal on the way (what QNAME minimisation asks)
                r.flags &= ~dns.flags.AA
                if kind == "ent-nx":
                    r.set_rcode(dns.rcode.NXDOMAIN)
            elif kind == "aaref":
                r.flags |= dns.flags.AA      # a referral that claims authority
            elif kind == "wrongtype" and qtype == dns.rdatatype.AAAA:
                r = self.base_response(q)
                r.answer.append(self.rrset(qname, self.data_a(origin, lab)))
            elif kind in ("cookie", "cookiespoof") and qtype == A:
                # DNS Cookies (RFC 7873): the reply carries the client cookie
                # the query sent and a server cookie of ours; "cookiespoof"
                # first sends a fake whose only flaw is another client cookie
                cc = client_cookie(q) or b""
                one = rr(b"\xc0\x0c", A, IN, 300, self.data_a(origin, kind)[0].to_wire())
                sc = b"\x01\x00\x00\x00" + b"labcook!" + b"\x5a" * 4
                good = self.raw(q, data, an=[one], ar=[opt_rr(
                    struct.pack("!HH", 10, 8 + len(sc)) + cc[:8] + sc)] if cc else [])
                if kind == "cookie" or len(cc) < 8:
                    return [(0.0, "main", good)]
                other = bytes(b ^ 0xFF for b in cc[:8])
                fake = self.raw(q, data, an=[rr(b"\xc0\x0c", A, IN, 300, socket.inet_aton(FAKE))],
                                ar=[opt_rr(struct.pack("!HH", 10, 8 + len(sc)) + other + sc)])
                return [(0.0, "main", fake), (SECOND_DELAY, "main", good)]
            elif kind == "dup" and qtype == A:
                one = rr(b"\xc0\x0c", A, IN, 300, self.data_a(origin, lab)[0].to_wire())
                return [(0.0, "main", self.raw(q, data, an=[one, one]))]
            return ans(r)
        if zn == "scrub.test" and qtype == A and kind in (
                "ttl-topbit", "rdlen0", "rdlen5", "chclass", "cnamenx", "nxjunk"):
            soa = self.soa_neg(origin)
            soa_rr = rr(origin.to_wire(), dns.rdatatype.SOA, IN, soa.ttl, soa[0].to_digestable())
            if kind == "cnamenx":   # RFC 6604: the rcode is about the CNAME's target
                t = dns.name.from_text("nx-target", origin).to_wire()
                return [(0.0, "main", self.raw(q, data, rcode=3, an=[
                    rr(b"\xc0\x0c", dns.rdatatype.CNAME, IN, 300, t)], ns=[soa_rr]))]
            if kind == "nxjunk":    # NXDOMAIN with an unrelated A record in the answer
                j = dns.name.from_text("junk-target", origin).to_wire()
                return [(0.0, "main", self.raw(q, data, rcode=3, an=[
                    rr(j, A, IN, 300, socket.inet_aton(FAKE))], ns=[soa_rr]))]
            good = self.data_a(origin, lab)[0].to_wire()
            if kind == "ttl-topbit":
                an = [rr(b"\xc0\x0c", A, IN, 0x80000010, good)]
            elif kind == "rdlen0":
                an = [rr(b"\xc0\x0c", A, IN, 300, good), rr(b"\xc0\x0c", A, IN, 300, b"")]
            elif kind == "rdlen5":
                an = [rr(b"\xc0\x0c", A, IN, 300, good),
                      rr(b"\xc0\x0c", A, IN, 300, b"\x06\x06\x06\x06\x06")]
            else:  # chclass: the IN record and a CH one beside it
                an = [rr(b"\xc0\x0c", A, IN, 300, good),
                      rr(b"\xc0\x0c", A, dns.rdataclass.CH, 300, socket.inet_aton(FAKE))]
            return [(0.0, "main", self.raw(q, data, an=an))]
        return ans(self.zone_answer(q))

    def drop_udp(self, addr, sock):
        """A drop address: read and log every datagram, never answer."""
        while True:
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                continue
            q = self.parse(data)
            self.log("drop", addr, "udp", q.question[0].name.to_text() if q else "-",
                     dns.rdatatype.to_text(q.question[0].rdtype) if q else "-")

    def drop_tcp(self, addr, sock):
        def hold(c):
            c.settimeout(10)
            try:
                while c.recv(4096):
                    pass
            except OSError:
                pass
            finally:
                c.close()
        while True:
            try:
                c, _ = sock.accept()
            except OSError:
                continue
            self.log("drop", addr, "tcp-connect")
            threading.Thread(target=hold, args=(c,), daemon=True).start()

    def parse(self, data):
        try:
            q = dns.message.from_wire(data)
        except Exception:
            return None
        if q.flags & dns.flags.QR or len(q.question) != 1 or q.opcode() != 0:
            return None
        return q

    # -- UDP ----------------------------------------------------------------
    def steps(self, q, data, tcp):
        if self.a.mode not in ("conform", "study"):
            return self.plan(q, tcp)
        cc = client_cookie(q)
        self.log("q", "tcp" if tcp else "udp", q.question[0].name.to_text(),
                 dns.rdatatype.to_text(q.question[0].rdtype),
                 *([f"cookie={cc.hex()}"] if cc else []))
        return self.conform_plan(q, data, tcp)

    def udp_one(self, data, peer):
        q = self.parse(data)
        if q is None:
            return
        for delay, src, w in self.steps(q, data, tcp=False):
            if delay:
                time.sleep(delay)
            sock = self.alt if src == "alt" else self.udp
            try:
                sock.sendto(w, peer)
            except OSError:
                pass

    def udp_study_loop(self):
        """study: every UDP query answered in this thread, from answers
        made once per question and kept (only the ID and the question's
        letter case change), so that a study's resolver never waits on
        thread start-up; each query logged."""
        cache = {}
        while True:
            try:
                data, peer = self.udp.recvfrom(65535)
            except OSError:
                continue
            if len(data) < 17 or data[2] & 0x80:
                continue
            end = 12
            while end < len(data) and data[end] != 0:
                end += data[end] + 1
            end += 5  # the root label, type, class
            if end > len(data):
                continue
            qbytes = data[12:end]
            key = (qbytes.lower(), data[2] & 0x01, len(data) > end)
            hit = cache.get(key)
            if hit is None:
                q = self.parse(data)
                if q is None:
                    continue
                w = self.wire(self.zone_answer(q), q, tcp=False)
                hit = (w[2:12], w[12 + len(qbytes):])
                if len(cache) < 200000:
                    cache[key] = hit
            self.log("q", "udp", qbytes_text(qbytes),
                     dns.rdatatype.to_text(struct.unpack("!H", qbytes[-4:-2])[0]))
            try:
                self.udp.sendto(data[:2] + hit[0] + qbytes + hit[1], peer)
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
                for delay, _src, w in self.steps(q, data, tcp=True):
                    if delay:
                        time.sleep(delay)
                    if w is CLOSE:
                        return
                    if isinstance(w, Stream):   # raw bytes, length prefix included
                        c.sendall(w)
                    else:
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


def qbytes_text(qbytes):
    """The name of a question section in wire form, as text ("a.b.")."""
    labels, i = [], 0
    while i < len(qbytes) and qbytes[i]:
        labels.append(qbytes[i + 1:i + 1 + qbytes[i]].decode("ascii", "replace"))
        i += qbytes[i] + 1
    return ".".join(labels) + "."


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("slow", "evil", "conform", "study"), required=True)
    ap.add_argument("--zone", action="append", required=True,
                    help="a zone served (conform: repeat, one --zonefile each)")
    ap.add_argument("--zonefile", action="append", required=True)
    ap.add_argument("--drop-addr", action="append",
                    help="conform: also listen here and never answer (repeatable)")
    ap.add_argument("--log-queries", action="store_true",
                    help="print a line per query received (conform)")
    ap.add_argument("--log-time", action="store_true",
                    help="begin each logged line with the time (seconds since the epoch)")
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--alt-addr")
    ap.add_argument("--delay", type=float, default=1.5)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    if len(a.zone) != len(a.zonefile) or (a.mode not in ("conform", "study") and len(a.zone) != 1):
        sys.exit("scripted.py: one --zonefile per --zone (slow and evil: exactly one)")
    for ip in [a.addr] + ([a.alt_addr] if a.alt_addr else []) + (a.drop_addr or []):
        if not ip.startswith("127.") and ip != "::1":  # loopback only (any LAB_NET)
            sys.exit(f"scripted.py: refusing non-loopback address {ip}")
    threading.stack_size(512 * 1024)  # thousands of TCP connections in the stress cases
    srv = Server(a)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    if a.pidfile:
        tmp = a.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, a.pidfile)
    print(f"scripted.py: mode {a.mode} zone {' '.join(a.zone)} on {a.addr}:{a.port}"
          + (f" (+{a.alt_addr})" if a.alt_addr else "")
          + (f" (drop {' '.join(a.drop_addr)})" if a.drop_addr else ""), flush=True)
    threading.Thread(target=srv.tcp_loop, daemon=True).start()
    for addr, u, t in srv.drops:
        threading.Thread(target=srv.drop_udp, args=(addr, u), daemon=True).start()
        threading.Thread(target=srv.drop_tcp, args=(addr, t), daemon=True).start()
    if srv.alt:
        threading.Thread(target=srv.alt_drain, daemon=True).start()
    if a.mode == "study":
        srv.udp_study_loop()
    srv.udp_loop()


if __name__ == "__main__":
    main()
