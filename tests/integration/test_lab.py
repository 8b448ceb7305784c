"""The lab itself: walk the private hierarchy on NET.0.0/16 by hand with dig
(+norec, straight to each server) and check every case the resolver tests rely
on. The scripted (hostile) server is probed with raw sockets + dnspython so the
bad first replies are visible. No resolverd needed.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_lab.py"""
import json
import random
import os
import socket
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import LAB, dig, NET, REV_ZONE, lab_addr

PORT = 53
ROOT_A, ROOT_B = lab_addr("0.1"), lab_addr("0.2")


def q(server, *args, time_s=2):
    """dig +norec straight at a lab server."""
    return dig(server, PORT, "+norec", f"+time={time_s}", *args, timeout=time_s + 5)


def glue(ans):
    return {(r[0].lower(), r[3]): " ".join(r[4:]) for r in ans.rrs("ADDITIONAL")
            if r[3] in ("A", "AAAA")}


def ns_of(ans, section="AUTHORITY"):
    return sorted(x.lower() for x in ans.rdatas("NS", section))


def manifest(lab):
    return json.loads((lab / "lab.json").read_text())


# ---------------------------------------------------------------- root ----
def test_root_hints_file(lab):
    text = (lab / "root.hints").read_text()
    rows = [line.split() for line in text.splitlines() if line and not line.startswith(";")]
    assert [".", "3600000", "NS", "a.root-servers.net."] in rows
    assert [".", "3600000", "NS", "b.root-servers.net."] in rows
    assert ["a.root-servers.net.", "3600000", "A", ROOT_A] in rows
    assert ["b.root-servers.net.", "3600000", "A", ROOT_B] in rows


@pytest.mark.parametrize("root", [ROOT_A, ROOT_B])
def test_root_ns_with_glue(lab, root):
    a = q(root, ".", "NS")
    assert a.status == "NOERROR" and "aa" in a.flags
    assert ns_of(a, "ANSWER") == ["a.root-servers.net.", "b.root-servers.net."]
    g = glue(a)
    assert g[("a.root-servers.net.", "A")] == ROOT_A
    assert g[("b.root-servers.net.", "A")] == ROOT_B


ROOT_REFERRALS = [
    ("www.example.com", "com.", {"a.gtld-servers.net.": lab_addr("1.1"),
                                 "b.gtld-servers.net.": lab_addr("1.2")}),
    ("www.example.net", "net.", {"a.gtld-servers.net.": lab_addr("1.1"),
                                 "b.gtld-servers.net.": lab_addr("1.2")}),
    ("www.example.org", "org.", {"ns1.nic.org.": lab_addr("2.1")}),
    ("www.glueless.test", "test.", {"ns1.nic.test.": lab_addr("3.1")}),
    (f"1.200.{REV_ZONE}", "arpa.", {"ns1.nic.arpa.": lab_addr("4.1")}),
]


@pytest.mark.parametrize("root", [ROOT_A, ROOT_B])
@pytest.mark.parametrize("qname,cut,servers", ROOT_REFERRALS)
def test_root_referrals(lab, root, qname, cut, servers):
    a = q(root, qname, "A")
    assert a.status == "NOERROR" and "aa" not in a.flags and not a.rrs("ANSWER")
    assert {r[0] for r in a.rrs("AUTHORITY")} == {cut}
    assert ns_of(a) == sorted(servers)
    g = glue(a)
    for name, addr in servers.items():
        assert g[(name, "A")] == addr


# ------------------------------------------------------ TLD referrals ----
EX_COM = {"ns1.example.com.": lab_addr("10.1"), "ns2.example.com.": lab_addr("10.2")}
TLD_REFERRALS = [
    # server, qname, cut, {ns: glue addr or None}
    (lab_addr("1.1"), "www.example.com", "example.com.", EX_COM),
    (lab_addr("1.2"), "www.example.com", "example.com.", EX_COM),
    (lab_addr("1.1"), "www.example.net", "example.net.", {"ns1.example.net.": lab_addr("12.1")}),
    (lab_addr("1.2"), "a.root-servers.net", "root-servers.net.",
     {"a.root-servers.net.": ROOT_A, "b.root-servers.net.": ROOT_B}),
    (lab_addr("2.1"), "www.example.org", "example.org.", {"ns1.example.org.": lab_addr("11.1")}),
    (lab_addr("3.1"), "www.glueless.test", "glueless.test.",
     {"ns1.example.net.": None, "ns2.example.net.": None}),
    (lab_addr("3.1"), "www.leaf.sub.deep.test", "deep.test.", {"ns1.deep.test.": lab_addr("13.1")}),
    (lab_addr("13.1"), "www.leaf.sub.deep.test", "sub.deep.test.",
     {"ns1.sub.deep.test.": lab_addr("13.2")}),
    (lab_addr("13.2"), "www.leaf.sub.deep.test", "leaf.sub.deep.test.",
     {"ns1.leaf.sub.deep.test.": lab_addr("13.3")}),
    (lab_addr("3.1"), "www.lame.test", "lame.test.",
     {"ns1.lame.test.": lab_addr("14.1"), "ns2.lame.test.": lab_addr("14.2"),
      "ns3.lame.test.": lab_addr("14.3")}),
    (lab_addr("3.1"), "www.slow.test", "slow.test.",
     {"ns1.slow.test.": lab_addr("15.1"), "ns2.slow.test.": lab_addr("15.2")}),
    (lab_addr("3.1"), "ok.evil.test", "evil.test.", {"ns1.evil.test.": lab_addr("17.1")}),
    (lab_addr("3.1"), "n0.bulk.test", "bulk.test.", {"ns1.bulk.test.": lab_addr("18.1")}),
    (lab_addr("4.1"), f"1.200.{REV_ZONE}", f"{REV_ZONE}.",
     {"ns1.rev.test.": None}),
]


@pytest.mark.parametrize("server,qname,cut,servers",
                         TLD_REFERRALS, ids=[f"{t[0]}-{t[1]}" for t in TLD_REFERRALS])
def test_referrals_below_root(lab, server, qname, cut, servers):
    a = q(server, qname, "A")
    assert a.status == "NOERROR", a
    assert "aa" not in a.flags and not a.rrs("ANSWER"), a
    assert {r[0] for r in a.rrs("AUTHORITY")} == {cut}
    assert ns_of(a) == sorted(servers)
    g = glue(a)
    for name, addr in servers.items():
        if addr is None:  # glueless: no address for it in the referral
            assert (name, "A") not in g and (name, "AAAA") not in g, a
        else:
            assert g[(name, "A")] == addr, a


def test_arpa_serves_in_addr_arpa(lab):
    a = q(lab_addr("4.1"), "in-addr.arpa", "SOA")
    assert a.status == "NOERROR" and "aa" in a.flags and a.rdatas("SOA")


def test_glueless_ns_names_resolve(lab):
    """ns1/ns2.example.net and ns1.rev.test get their addresses from their own zones."""
    assert q(lab_addr("12.1"), "ns1.example.net", "A").rdatas("A") == [lab_addr("12.1")]
    assert q(lab_addr("12.1"), "ns2.example.net", "A").rdatas("A") == [lab_addr("12.2")]
    a = q(lab_addr("3.1"), "ns1.rev.test", "A")
    assert "aa" in a.flags and a.rdatas("A") == [lab_addr("16.1")]


# ---------------------------------------------------------- leaf data ----
LEAF = [
    # server, qname, type, expected rdata (sorted)
    (lab_addr("10.1"), "www.example.com", "A", [lab_addr("200.1")]),
    (lab_addr("10.2"), "www.example.com", "A", [lab_addr("200.1")]),
    (lab_addr("10.1"), "www.example.com", "AAAA", ["fd53::1"]),
    (lab_addr("10.1"), "example.com", "MX", ["10 mail.example.com."]),
    (lab_addr("10.1"), "mail.example.com", "A", [lab_addr("200.5")]),
    (lab_addr("10.1"), "txt.example.com", "TXT", ['"hello lab"']),
    (lab_addr("10.1"), "_sip._udp.example.com", "SRV", ["10 5 5060 sip.example.com."]),
    (lab_addr("10.1"), "sip.example.com", "A", [lab_addr("200.6")]),
    (lab_addr("10.1"), "anything.wild.example.com", "A", [lab_addr("200.9")]),
    (lab_addr("10.1"), "x-y-z.wild.example.com", "A", [lab_addr("200.9")]),
    (lab_addr("11.1"), "www.example.org", "A", [lab_addr("200.2")]),
    (lab_addr("12.1"), "www.example.net", "A", [lab_addr("200.10")]),
    (lab_addr("12.1"), "www.glueless.test", "A", [lab_addr("200.3")]),
    (lab_addr("12.2"), "www.glueless.test", "A", [lab_addr("200.3")]),
    (lab_addr("13.3"), "www.leaf.sub.deep.test", "A", [lab_addr("200.4")]),
    (lab_addr("14.3"), "www.lame.test", "A", [lab_addr("200.11")]),
    (lab_addr("15.2"), "www.slow.test", "A", [lab_addr("200.12")]),
    (lab_addr("16.1"), f"1.200.{REV_ZONE}", "PTR", ["www.example.com."]),
    (lab_addr("16.1"), f"2.200.{REV_ZONE}", "PTR", ["www.example.org."]),
    (lab_addr("16.1"), f"1.0.{REV_ZONE}", "PTR", ["a.root-servers.net."]),
    (lab_addr("0.1"), "a.root-servers.net", "A", [ROOT_A]),
]


@pytest.mark.parametrize("server,qname,qtype,want", LEAF,
                         ids=[f"{t[1]}-{t[2]}@{t[0]}" for t in LEAF])
def test_leaf_answers(lab, server, qname, qtype, want):
    a = q(server, qname, qtype)
    assert a.status == "NOERROR" and "aa" in a.flags, a
    assert sorted(a.rdatas(qtype)) == want, a
    assert all(r[0].lower() == qname + "." for r in a.rrs("ANSWER"))


def test_leaf_ttls(lab):
    a = q(lab_addr("10.1"), "www.example.com", "A")
    assert a.rrs("ANSWER")[0][1] == "300"
    a = q(lab_addr("10.1"), "short.example.com", "A")
    assert a.rdatas("A") == [lab_addr("200.7")] and a.rrs("ANSWER")[0][1] == "5"


def test_nxdomain_with_soa(lab):
    a = q(lab_addr("10.1"), "nope.example.com", "A")
    assert a.status == "NXDOMAIN" and "aa" in a.flags and not a.rrs("ANSWER")
    soa = [r for r in a.rrs("AUTHORITY") if r[3] == "SOA"]
    assert len(soa) == 1 and soa[0][0] == "example.com."
    # SOA TTL is 600 and MINIMUM 300: the negative TTL is the lesser (RFC 2308)
    assert soa[0][1] == "300" and soa[0][-1] == "300"
    full = q(lab_addr("10.1"), "example.com", "SOA")
    assert full.rrs("ANSWER")[0][1] == "600"


def test_nodata_with_soa(lab):
    a = q(lab_addr("10.1"), "mail.example.com", "AAAA")
    assert a.status == "NOERROR" and "aa" in a.flags and not a.rrs("ANSWER")
    soa = [r for r in a.rrs("AUTHORITY") if r[3] == "SOA"]
    assert len(soa) == 1 and soa[0][0] == "example.com." and soa[0][1] == "300"


def test_cname_chain_in_zone(lab):
    a = q(lab_addr("10.1"), "c1.example.com", "A")
    assert a.status == "NOERROR" and "aa" in a.flags
    got = [(r[0], r[3], r[4]) for r in a.rrs("ANSWER")]
    assert got == [("c1.example.com.", "CNAME", "c2.example.com."),
                   ("c2.example.com.", "CNAME", "www.example.com."),
                   ("www.example.com.", "A", lab_addr("200.1"))]


@pytest.mark.parametrize("name,target", [("cross", "www.example.org."),
                                         ("crossnx", "nope.example.org.")])
def test_cname_across_zones(lab, name, target):
    a = q(lab_addr("10.1"), f"{name}.example.com", "A")
    assert a.status == "NOERROR" and "aa" in a.flags
    assert [(r[0], r[3], r[4]) for r in a.rrs("ANSWER")] == [
        (f"{name}.example.com.", "CNAME", target)]
    # and the targets, at example.org's server
    t = q(lab_addr("11.1"), target, "A")
    if name == "cross":
        assert t.rdatas("A") == [lab_addr("200.2")]
    else:
        assert t.status == "NXDOMAIN" and t.rdatas("SOA", "AUTHORITY")


def test_cname_loop(lab):
    a = q(lab_addr("10.1"), "loop1.example.com", "A")
    got = {(r[0], r[4]) for r in a.rrs("ANSWER") if r[3] == "CNAME"}
    assert ("loop1.example.com.", "loop2.example.com.") in got
    assert not a.rdatas("A")
    b = q(lab_addr("10.1"), "loop2.example.com", "CNAME")
    assert b.rdatas("CNAME") == ["loop1.example.com."]


def test_big_txt_tc_over_udp_full_over_tcp(lab):
    a = q(lab_addr("10.1"), "big.example.com", "TXT", "+bufsize=1232", "+ignore")
    assert a.status == "NOERROR" and "tc" in a.flags, a
    t = q(lab_addr("10.1"), "big.example.com", "TXT", "+tcp")
    assert "tc" not in t.flags and len(t.rdatas("TXT")) == 12
    size = int(t.text.split("MSG SIZE  rcvd: ")[1].split()[0])
    assert 1232 < size < 4000


# --------------------------------------------------------------- lame ----
def test_lame_servers(lab):
    a = q(lab_addr("14.1"), "www.lame.test", "A")
    assert a.status == "REFUSED" and not a.rrs("ANSWER")
    a = q(lab_addr("14.1"), "lame.test", "SOA")
    assert a.status == "REFUSED"
    silent = q(lab_addr("14.2"), "www.lame.test", "A", time_s=1)
    assert silent.status is None and silent.rc != 0
    good = q(lab_addr("14.3"), "lame.test", "NS")
    assert "aa" in good.flags and ns_of(good, "ANSWER") == [
        "ns1.lame.test.", "ns2.lame.test.", "ns3.lame.test."]


# --------------------------------------------------------------- slow ----
def test_slow_server(lab):
    t = time.monotonic()
    a = q(lab_addr("15.1"), "www.slow.test", "A", time_s=4)
    took = time.monotonic() - t
    assert took >= 1.4, took
    assert "aa" in a.flags and a.rdatas("A") == [lab_addr("200.12")]
    t = time.monotonic()
    b = q(lab_addr("15.2"), "www.slow.test", "A")
    assert time.monotonic() - t < 1.0
    assert b.rdatas("A") == a.rdatas("A")
    assert ns_of(q(lab_addr("15.1"), "slow.test", "NS", time_s=4), "ANSWER") == \
        ns_of(q(lab_addr("15.2"), "slow.test", "NS"), "ANSWER") == ["ns1.slow.test.", "ns2.slow.test."]


def test_slow_server_answers_in_parallel(lab):
    """Five concurrent queries to the slow server all finish in about 1.5 s."""
    res = []

    def one(i):
        m = dns.message.make_query("www.slow.test", "A")
        res.append(dns.query.udp(m, lab_addr("15.1"), port=PORT, timeout=4))

    t = time.monotonic()
    th = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    assert len(res) == 5 and time.monotonic() - t < 2.8


# ------------------------------------------------- scripted (evil) -------
EVIL = lab_addr("17.1")
EVIL_ALT = lab_addr("17.2")


def udp_collect(qname, qtype="A", server=EVIL, want=None, window=0.3, edns=True):
    """Send one query; return (query, [(t, src, raw bytes)]) of every datagram
    received within `window` s (or as soon as `want` datagrams arrived)."""
    m = dns.message.make_query(qname, qtype, use_edns=0 if edns else False, payload=1232)
    m.flags &= ~dns.flags.RD
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    out = []
    try:
        t0 = time.monotonic()
        s.sendto(m.to_wire(), (server, PORT))
        end = t0 + window
        while time.monotonic() < end and (want is None or len(out) < want):
            s.settimeout(max(0.001, end - time.monotonic()))
            try:
                data, src = s.recvfrom(65535)
            except socket.timeout:
                break
            out.append((time.monotonic() - t0, src, data))
    finally:
        s.close()
    return m, out


def addrs(msg):
    return sorted(rd.address for rr in msg.answer if rr.rdtype == dns.rdatatype.A for rd in rr)


def test_evil_ok(lab):
    m, got = udp_collect("ok.evil.test")
    assert len(got) == 1
    r = dns.message.from_wire(got[0][2])
    assert r.id == m.id and r.flags & dns.flags.AA and addrs(r) == [lab_addr("200.20")]
    assert r.answer[0].ttl == 300
    assert r.edns == 0 and r.payload == 1232


def test_evil_edns_echo(lab):
    _, got = udp_collect("ok.evil.test", edns=False)
    r = dns.message.from_wire(got[0][2])
    assert r.edns == -1 and addrs(r) == [lab_addr("200.20")]


def test_evil_poison(lab):
    m, got = udp_collect("poison.evil.test")
    assert len(got) == 1
    r = dns.message.from_wire(got[0][2])
    ans = {(rr.name.to_text().lower(), rd.to_text()) for rr in r.answer for rd in rr}
    assert ans == {("poison.evil.test.", lab_addr("200.21")), ("www.example.com.", "6.6.6.6")}
    auth = {(rr.name.to_text(), rr.rdtype, rd.to_text()) for rr in r.authority for rd in rr}
    assert auth == {("com.", dns.rdatatype.NS, "ns.evil.test.")}
    add = {(rr.name.to_text(), rd.to_text()) for rr in r.additional for rd in rr}
    assert add == {("ns.evil.test.", "6.6.6.6"), ("www.example.org.", "6.6.6.6")}


def test_evil_wrong_id(lab):
    m, got = udp_collect("wrongid.evil.test", want=2)
    assert len(got) == 2, got
    first, second = (dns.message.from_wire(g[2]) for g in got)
    assert first.id != m.id and addrs(first) == ["6.6.6.6"]
    assert second.id == m.id and addrs(second) == [lab_addr("200.22")]
    assert got[1][0] - got[0][0] >= 0.03


def test_evil_wrong_source(lab):
    m, got = udp_collect("wrongsrc.evil.test", want=2)
    assert len(got) == 2, got
    (t1, src1, w1), (t2, src2, w2) = got
    assert src1 == (EVIL_ALT, PORT) and addrs(dns.message.from_wire(w1)) == ["6.6.6.6"]
    r = dns.message.from_wire(w2)
    assert src2 == (EVIL, PORT) and r.id == m.id and addrs(r) == [lab_addr("200.23")]
    assert t2 - t1 >= 0.03


@pytest.mark.parametrize("asked,bad", [("wRoNgCaSe.EviL.tEsT.", "WRONGCASE.EVIL.TEST."),
                                       ("wrongcase.evil.test.", "WRONGCASE.EVIL.TEST."),
                                       ("WRONGCASE.EVIL.TEST.", "wrongcase.evil.test.")])
def test_evil_wrong_case(lab, asked, bad):
    m, got = udp_collect(asked, want=2)
    assert len(got) == 2, got
    first, second = (dns.message.from_wire(g[2]) for g in got)
    assert first.id == m.id and first.question[0].name.to_text() == bad
    assert addrs(first) == ["6.6.6.6"]
    assert second.id == m.id and second.question[0].name.to_text() == asked
    assert addrs(second) == [lab_addr("200.24")]


def test_evil_garbage(lab):
    m, got = udp_collect("garbage.evil.test", window=0.3)
    assert len(got) == 1
    raw = got[0][2]
    assert len(raw) == 40 and int.from_bytes(raw[:2], "big") == m.id


def test_evil_timeout(lab):
    _, got = udp_collect("timeout.evil.test", window=0.5)
    assert got == []


def test_evil_other_names(lab):
    _, got = udp_collect("nothing-here.evil.test")
    r = dns.message.from_wire(got[0][2])
    assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AA
    assert [rr.rdtype for rr in r.authority] == [dns.rdatatype.SOA]
    assert r.authority[0].ttl == 300
    a = q(EVIL, "evil.test", "SOA")
    assert a.status == "NOERROR" and "aa" in a.flags and a.rdatas("SOA")
    a = q(EVIL, "evil.test", "NS")
    assert a.rdatas("NS") == ["ns1.evil.test."]
    a = q(EVIL, "www.example.com", "A")
    assert a.status == "REFUSED"


@pytest.mark.parametrize("name,addr", [("ok", lab_addr("200.20")), ("wrongid", lab_addr("200.22")),
                                       ("wrongsrc", lab_addr("200.23")),
                                       ("wrongcase", lab_addr("200.24"))])
def test_evil_tcp(lab, name, addr):
    m = dns.message.make_query(f"{name}.evil.test", "A", use_edns=0)
    r = dns.query.tcp(m, EVIL, port=PORT, timeout=2)
    assert r.id == m.id and addrs(r) == [addr]
    a = q(EVIL, f"{name}.evil.test", "A", "+tcp")
    assert a.rdatas("A") == [addr]


# --------------------------------------------------------------- bulk ----
def test_bulk(lab):
    n = manifest(lab)["bulk"]
    a = q(lab_addr("18.1"), "n0.bulk.test", "A")
    assert "aa" in a.flags and a.rdatas("A") == [lab_addr("0.0")]
    a = q(lab_addr("18.1"), f"n{n - 1}.bulk.test", "A")
    i = n - 1
    assert a.rdatas("A") == [f"{NET}.{(i >> 8) & 255}.{i & 255}"]
    assert a.rrs("ANSWER")[0][1] == "3600"
    a = q(lab_addr("18.1"), f"n{n}.bulk.test", "A")
    assert a.status == "NXDOMAIN"


# ------------------------------------------------- walk from the root ----
def walk(qname, qtype="A", depth=0):
    """Iterate by hand from the root, like a resolver: follow referrals, use
    glue, resolve glueless NS names by walking again. Returns (answer, path)."""
    assert depth < 4
    servers, path = [ROOT_A, ROOT_B], []
    for _ in range(10):
        for s in servers:
            a = q(s, qname, qtype, time_s=2 if s != lab_addr("14.2") else 1)
            if a.status in ("NOERROR", "NXDOMAIN"):
                break
        else:
            raise AssertionError(f"no server of {servers} answered {qname}")
        path.append(s)
        if "aa" in a.flags:
            return a, path
        ns = ns_of(a)
        assert ns, a
        g = glue(a)
        servers = [g[(n, "A")] for n in ns if (n, "A") in g]
        if not servers:  # glueless
            for n in ns:
                servers += walk(n.rstrip("."), "A", depth + 1)[0].rdatas("A")
    raise AssertionError(f"too many referrals for {qname}")


WALKS = [
    ("www.example.com", "A", [lab_addr("200.1")], 3),
    ("www.example.org", "A", [lab_addr("200.2")], 3),
    ("www.example.net", "A", [lab_addr("200.10")], 3),
    ("www.glueless.test", "A", [lab_addr("200.3")], 3),
    ("www.leaf.sub.deep.test", "A", [lab_addr("200.4")], 5),
    ("www.lame.test", "A", [lab_addr("200.11")], 3),
    (f"1.200.{REV_ZONE}", "PTR", ["www.example.com."], 3),
    ("ok.evil.test", "A", [lab_addr("200.20")], 3),
    ("n0.bulk.test", "A", [lab_addr("0.0")], 3),
]


@pytest.mark.parametrize("qname,qtype,want,hops", WALKS, ids=[w[0] for w in WALKS])
def test_walk_from_root(lab, qname, qtype, want, hops):
    a, path = walk(qname, qtype)
    assert a.rdatas(qtype) == want, a
    assert len(path) == hops, path


def test_walk_lame_path(lab):
    """The lame walk skips REFUSED (14.1) and the silent 14.2 before 14.3."""
    _, path = walk("www.lame.test")
    assert path[-1] == lab_addr("14.3")


# ------------------------------------------------------ start/stop -------
def lab_pids(run):
    """pid -> argv of every process of this lab (NSD from its conf dir, scripted.py)."""
    prefix = str(run.resolve()) + "/"
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            raw = open(f"/proc/{d}/cmdline", "rb").read()
        except OSError:
            continue
        argv = [x.decode(errors="replace") for x in raw.split(b"\0") if x]
        if not argv:
            continue
        if os.path.basename(argv[0]) == "nsd" and any(x.startswith(prefix + "conf/") for x in argv):
            out[int(d)] = argv
        elif len(argv) > 1 and argv[1].endswith("scripted.py") and \
                any(x.startswith(prefix) for x in argv):
            out[int(d)] = argv
    return out


def pidfile_pids(run):
    return {int(p.read_text()) for p in (run / "pid").glob("*.pid")}


def parent(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def test_zz_restart_is_idempotent(lab):
    """Run start again on the running lab: the old processes are all gone, every
    process left belongs to a server of the new pid files, and the lab answers.
    (Named zz so it runs last in this file; the lab stays up for other files.)"""
    man = manifest(lab)
    old = pidfile_pids(lab)
    old_all = set(lab_pids(lab))
    assert old and old <= old_all
    p = subprocess.run([str(LAB / "start"), "--bulk", str(man["bulk"]),
                        "--signed-bulk", str(man.get("signed_bulk", 20000))],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    new = pidfile_pids(lab)
    assert len(new) == len(man["servers"])
    now = lab_pids(lab)
    assert not (old_all & set(now)), "old lab processes survived the restart"
    for pid in now:  # each is a server main process or a child of one
        assert pid in new or parent(pid) in new or parent(parent(pid)) in new, now[pid]
    assert new <= set(now)
    assert q(ROOT_A, ".", "NS").status == "NOERROR"


# ------------------------------------------ conformance cases (the lab) ---
CONFORM = lab_addr("20.1")


def conform_udp(qname, qtype="A", server=CONFORM, window=0.5):
    m, got = udp_collect(qname, qtype, server=server, want=1, window=window)
    return m, [g[2] for g in got]


def tcp_raw(qname, qtype="A", server=CONFORM, timeout=2.0):
    """Send one query over TCP; return every byte received until the server
    closes or `timeout` passes, and the query."""
    m = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    w = m.to_wire()
    s = socket.create_connection((server, PORT), timeout)
    out = b""
    try:
        s.sendall(len(w).to_bytes(2, "big") + w)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = s.recv(65535)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return m, out


def frames(raw):
    """Split a TCP byte stream into its length-prefixed messages."""
    out = []
    while len(raw) >= 2:
        n = int.from_bytes(raw[:2], "big")
        out.append(raw[2:2 + n])
        raw = raw[2 + n:]
    return out


def test_conform_badtcp_udp_is_always_tc(lab):
    _, got = conform_udp("wrongid-1.badtcp.test")
    r = dns.message.from_wire(got[0])
    assert r.flags & dns.flags.TC and not r.answer


@pytest.mark.parametrize("kind", ["ok", "wrongid", "idthenok", "otherq", "qd0", "qd2",
                                  "short", "close"])
def test_conform_badtcp_tcp(lab, kind):
    m, raw = tcp_raw(f"{kind}-7.badtcp.test", timeout=0.5)
    fr = frames(raw)
    if kind == "short":
        assert raw[:2] == b"\x00\x05" and len(raw) == 7
        return
    if kind == "close":
        assert int.from_bytes(raw[:2], "big") > len(raw) - 2 > 0
        return
    first = fr[0]
    qd = int.from_bytes(first[4:6], "big")
    rid = int.from_bytes(first[:2], "big")
    if kind == "ok":
        r = dns.message.from_wire(first)
        assert r.id == m.id and addrs(r) == [lab_addr("203.1")]
    elif kind in ("wrongid", "idthenok"):
        assert rid != m.id
        if kind == "idthenok":
            r = dns.message.from_wire(fr[1])
            assert r.id == m.id and addrs(r) == [lab_addr("203.1")]
        else:
            assert len(fr) == 1
    elif kind == "otherq":
        r = dns.message.from_wire(first)
        assert r.question[0].name.to_text() == "other-q.badtcp.test."
    else:
        assert qd == {"qd0": 0, "qd2": 2}[kind]


def test_conform_dropfirst(lab):
    name = f"x{random.randrange(10**9)}.dropfirst.test"
    _, got = conform_udp(name, window=0.3)
    assert got == []
    _, got = conform_udp(name.upper())       # the same question in other case
    r = dns.message.from_wire(got[0])
    assert addrs(r) == [lab_addr("204.1")]
    _, got = conform_udp("dropfirst.test", "SOA")   # never at the apex
    assert got


def test_conform_drop_addresses_never_answer(lab):
    for d in manifest(lab)["servers"][[s["addr"] for s in manifest(lab)["servers"]]
                                       .index(CONFORM)]["drop_addrs"]:
        _, got = conform_udp("www.dropone.test", server=d, window=0.3)
        assert got == []


@pytest.mark.parametrize("qname,qtype,rcode,aa,answer", [
    ("nodata-noaa.quirks.test", "A", dns.rcode.NOERROR, False, []),
    ("nxdomain-noaa.quirks.test", "A", dns.rcode.NXDOMAIN, False, []),
    ("a.ent-nodata.quirks.test", "A", dns.rcode.NOERROR, False, []),
    ("ent-nx.quirks.test", "A", dns.rcode.NXDOMAIN, False, []),
    ("www.a.ent-nx.quirks.test", "A", dns.rcode.NOERROR, True, ["205.2"]),
    ("www.aaref.quirks.test", "A", dns.rcode.NOERROR, True, []),
    ("wrongtype.quirks.test", "AAAA", dns.rcode.NOERROR, True, ["205.4"]),
    ("www.upref.test", "A", dns.rcode.NOERROR, False, []),
    ("www.sideref.test", "A", dns.rcode.NOERROR, False, []),
])
def test_conform_quirks(lab, qname, qtype, rcode, aa, answer):
    _, got = conform_udp(qname, qtype)
    r = dns.message.from_wire(got[0])
    assert r.rcode() == rcode and bool(r.flags & dns.flags.AA) == aa, r
    assert addrs(r) == [lab_addr(a) for a in answer], r


def test_conform_referrals(lab):
    _, got = conform_udp("www.aaref.quirks.test")
    r = dns.message.from_wire(got[0])
    assert [x.name.to_text() for x in r.authority] == ["aaref.quirks.test."]
    _, got = conform_udp("www.upref.test")
    r = dns.message.from_wire(got[0])
    assert [x.name.to_text() for x in r.authority] == ["."]
    # out-of-zone glue: sib.test's referral carries sib.net's glue
    _, got = conform_udp("www.cyc-a.sib.test")
    r = dns.message.from_wire(got[0])
    assert r.authority[0].name.to_text() == "cyc-a.sib.test."
    assert {(x.name.to_text(), x[0].address) for x in r.additional} == {
        ("ns.cyc-b.sib.net.", lab_addr("23.1"))}


def test_conform_dup_and_scrub_wire(lab):
    _, got = conform_udp("dup.quirks.test")
    assert int.from_bytes(got[0][6:8], "big") == 2          # ANCOUNT 2, same record
    _, got = conform_udp("ttl-topbit.scrub.test")
    assert got[0].find(b"\x80\x00\x00\x10") > 0
    for name, rdlen in (("rdlen0", 0), ("rdlen5", 5)):
        _, got = conform_udp(f"{name}.scrub.test")
        assert int.from_bytes(got[0][6:8], "big") == 2
        assert b"\x00\x01\x00\x01\x00\x00\x01\x2c" + rdlen.to_bytes(2, "big") in got[0]
    _, got = conform_udp("chclass.scrub.test")
    assert b"\x00\x01\x00\x03" in got[0][30:]               # an A of class CH
    _, got = conform_udp("cnamenx.scrub.test")
    r = dns.message.from_wire(got[0])
    assert r.rcode() == dns.rcode.NXDOMAIN and r.answer[0].rdtype == dns.rdatatype.CNAME
    _, got = conform_udp("nxjunk.scrub.test")
    r = dns.message.from_wire(got[0])
    assert r.rcode() == dns.rcode.NXDOMAIN and addrs(r) == ["6.6.6.6"]


def test_conform_dname_from_nsd(lab):
    a = q(lab_addr("21.1"), "www.src.dname.test", "A")
    assert a.rdatas("DNAME") == ["dtarget.test."]
    assert a.rdatas("CNAME") == ["www.dtarget.test."]
    assert q(lab_addr("21.2"), "a.b.dtarget.test", "A").rdatas("A") == [lab_addr("210.2")]


def test_conform_bigrr(lab):
    from conftest import labnet
    t = q(lab_addr("21.2"), "many.bigrr.test", "TXT", "+tcp")
    got = sorted(x.strip('"') for x in t.rdatas("TXT"))
    assert got == sorted(labnet.bigrr_string(i) for i in range(250))
    size = int(t.text.split("MSG SIZE  rcvd: ")[1].split()[0])
    assert 30000 < size < 65535
    u = q(lab_addr("21.2"), "txt6k.bigrr.test", "TXT", "+bufsize=1232", "+ignore")
    assert "tc" in u.flags


def test_conform_deep2_chain(lab):
    zones = ["deep2.test", "g.deep2.test", "f.g.deep2.test", "e.f.g.deep2.test",
             "d.e.f.g.deep2.test", "c.d.e.f.g.deep2.test", "b.c.d.e.f.g.deep2.test",
             "a.b.c.d.e.f.g.deep2.test"]
    qn = "n3.a.b.c.d.e.f.g.deep2.test"
    a = q(lab_addr("3.1"), qn, "A")
    assert ns_of(a) == ["ns1.deep2.test."]
    for i, z in enumerate(zones[:-1]):
        a = q(lab_addr(f"22.{i + 1}"), qn, "A")
        assert {r[0] for r in a.rrs("AUTHORITY")} == {zones[i + 1] + "."}, a
    a = q(lab_addr("22.8"), qn, "A")
    assert "aa" in a.flags and a.rdatas("A") == [lab_addr("211.3")]


def test_conform_cycles_glue_differs_from_the_zones(lab):
    a = q(lab_addr("3.1"), "www.cyc-a.test", "A")
    assert glue(a) == {("ns.cyc-b.test.", "A"): lab_addr("23.1")}
    for srv in ("23.3", "23.4"):
        assert q(lab_addr(srv), "ns.cyc-b.test", "A").rdatas("A") == [lab_addr("23.2")]
    for srv in ("23.1", "23.2"):
        assert q(lab_addr(srv), "ns.cyc-a.test", "A").rdatas("A") == [lab_addr("23.4")]
        assert q(lab_addr(srv), "www.cyc-a.sib.test", "A").rdatas("A") == [lab_addr("209.3")]


def test_conform_parent_child_disagree(lab):
    a = q(lab_addr("3.1"), "www.pcfb.test", "A")
    assert glue(a) == {("ns1.pcfb.test.", "A"): lab_addr("21.2")}
    assert q(lab_addr("21.2"), "ns1.pcfb.test", "A").rdatas("A") == [lab_addr("21.250")]


# -------------------------------------------------------------- DNSSEC ----
DNSSEC = lab_addr("30.1")
UNVERIFIABLE = {"bogus-expired.test", "bogus-future.test", "bogus-edited.test",
                "bogus-nodnskey.test", "bogus-nosig.test", "bogus-nonsec.test",
                "alg-unknown.test", "alg-dsa.test"}


def zone_path(lab, zone):
    return lab / "zones" / ("root.zone" if zone == "." else zone + ".zone")


def test_dnssec_signed_zones_verify(lab):
    """ldns-verify-zone: every signed zone verifies, every broken one does not."""
    signed = manifest(lab)["signed"]
    assert {".", "com", "net", "org", "test", "sec-nsec.test", "sec-nsec3.test"} <= set(signed)
    for zone in signed:
        p = subprocess.run(["ldns-verify-zone", str(zone_path(lab, zone))],
                           capture_output=True, text=True, timeout=60)
        if zone in UNVERIFIABLE:
            assert p.returncode != 0, (zone, p.stdout, p.stderr)
        else:
            assert p.returncode == 0, (zone, p.stdout, p.stderr)


def dnssec_q(server, name, rtype, tcp=False):
    m = dns.message.make_query(name, rtype, want_dnssec=True, payload=1232)
    m.flags &= ~dns.flags.RD
    f = dns.query.tcp if tcp else dns.query.udp
    return f(m, server, port=PORT, timeout=3)


def types(section):
    return sorted((rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype)
                   + ("/" + dns.rdatatype.to_text(rr.covers) if rr.covers else ""))
                  for rr in section)


def test_dnssec_trust_anchor_matches_the_root(lab, lab_anchor):
    import dns.dnssec
    import dns.rrset
    r = dnssec_q(ROOT_A, ".", "DNSKEY")
    keys = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.DNSKEY][0]
    assert any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)
    ds = [line for line in lab_anchor.read_text().splitlines() if " DS " in line]
    assert len(ds) == 1
    want = dns.rrset.from_text(".", 3600, "IN", "DS", ds[0].split(" DS ")[1])[0]
    assert any(dns.dnssec.make_ds(".", k, "SHA256") == want for k in keys)
    dk = (lab / "root.anchor.dnskey").read_text().split(" DNSKEY ")[1]
    assert dns.rrset.from_text(".", 3600, "IN", "DNSKEY", dk)[0] in keys


@pytest.mark.parametrize("parent,zone,digest", [
    (ROOT_A, "test", 2), (ROOT_A, "com", 2), (lab_addr("3.1"), "sec-nsec.test", 2),
    (lab_addr("3.1"), "sec-alg14.test", 4), (lab_addr("3.1"), "ds-digest-unknown.test", 200),
    (lab_addr("3.1"), "alg-unknown.test", 2)])
def test_dnssec_ds_in_parent(lab, parent, zone, digest):
    r = dnssec_q(parent, zone, "DS")
    ds = [rd for rr in r.answer if rr.rdtype == dns.rdatatype.DS for rd in rr]
    assert len(ds) == 1 and ds[0].digest_type == digest, r
    assert any(rr.rdtype == dns.rdatatype.RRSIG for rr in r.answer)


def test_dnssec_no_ds_for_insecure_children(lab):
    for zone in ("insecure.test", "example.com"):
        server = lab_addr("3.1") if zone.endswith("test") else lab_addr("1.1")
        r = dnssec_q(server, zone, "DS")
        assert not r.answer and any(rr.rdtype == dns.rdatatype.NSEC for rr in r.authority), r


def test_dnssec_answers_from_nsd(lab):
    r = dnssec_q(DNSSEC, "www.sec-nsec.test", "A")
    assert types(r.answer) == [("www.sec-nsec.test.", "A"), ("www.sec-nsec.test.", "RRSIG/A")]
    r = dnssec_q(DNSSEC, "nope.sec-nsec.test", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert {t for _, t in types(r.authority)} == {"SOA", "RRSIG/SOA", "NSEC", "RRSIG/NSEC"}
    r = dnssec_q(DNSSEC, "b.sec-nsec.test", "A")      # empty non-terminal
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert "NSEC" in {t for _, t in types(r.authority)}
    r = dnssec_q(DNSSEC, "x.wild.sec-nsec.test", "A")   # wildcard: RRSIG labels 3
    sig = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.RRSIG][0]
    assert sig[0].labels == 3 and "NSEC" in {t for _, t in types(r.authority)}
    for zone in ("sec-nsec3.test", "sec-nsec3n.test"):
        r = dnssec_q(DNSSEC, f"nope.{zone}", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert {"NSEC3", "RRSIG/NSEC3"} <= {t for _, t in types(r.authority)}
    r = dnssec_q(DNSSEC, "nope.nsec3-iter500.test", "A")
    n3 = [rd for rr in r.authority if rr.rdtype == dns.rdatatype.NSEC3 for rd in rr]
    assert n3 and all(x.iterations == 500 for x in n3)
    # opt-out: the insecure child has no DS, the secure one has
    r = dnssec_q(DNSSEC, "www.sub.sec-nsec3.test", "A")
    assert "DS" in {t for _, t in types(r.authority)}, r
    r = dnssec_q(DNSSEC, "www.insec.sec-nsec3.test", "A")
    assert "DS" not in {t for _, t in types(r.authority)}, r
    r = dnssec_q(lab_addr("30.2"), "www.sub.sec-nsec3.test", "A")
    assert ("www.sub.sec-nsec3.test.", "RRSIG/A") in types(r.answer)


def test_dnssec_keytrap_zone(lab):
    import dns.dnssec
    r = dnssec_q(DNSSEC, "keytrap.test", "DNSKEY", tcp=True)
    keys = [rd for rr in r.answer if rr.rdtype == dns.rdatatype.DNSKEY for rd in rr]
    assert len(keys) >= 20 and len({dns.dnssec.key_id(k) for k in keys}) == 1
    r = dnssec_q(DNSSEC, "www.keytrap.test", "A", tcp=True)
    sigs = [rd for rr in r.answer if rr.rdtype == dns.rdatatype.RRSIG for rd in rr]
    assert len(sigs) >= 20 and {s.key_tag for s in sigs} == {dns.dnssec.key_id(keys[0])}
