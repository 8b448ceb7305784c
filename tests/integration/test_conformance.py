"""Conformance: resolverd against upstream behaviours a resolver meets in the
wild, each built in the lab (tools/lab/README.md, "Conformance cases"). Each
test asserts what a correct resolver (Unbound, Knot Resolver, the RFCs cited)
does. Every query is bounded in time; every process started is stopped."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from conftest import (HINTS, LAB, LAB_RUN, RESOLVERD, Daemon, dig, labnet,
                      lab_addr)

pytestmark = pytest.mark.usefixtures("lab")

MAX_TIME_MS = 2000
LIMITS = f"limits:\n  max_time: {MAX_TIME_MS}\n"
SLACK = 1.0            # s: scheduling, the client's own socket, ASan
CONFORM = lab_addr("20.1")
FAKE = "6.6.6.6"


@pytest.fixture
def rd(daemon, lab):
    """A resolverd on the lab's hints with limits.max_time 2000 ms."""
    return daemon(hints=HINTS, config_extra=LIMITS)


def uniq(prefix):
    """A name label never asked before (the lab servers keep state)."""
    return f"{prefix}-{random.randrange(10**9)}"


def ask(d, name, rtype="A", tcp=False, timeout=MAX_TIME_MS / 1000 + SLACK + 1,
        dnssec=False, payload=1232):
    """One query to the daemon with dnspython; returns (reply, seconds)."""
    q = dns.message.make_query(name, rtype, use_edns=0, payload=payload, want_dnssec=dnssec)
    t0 = time.monotonic()
    f = dns.query.tcp if tcp else dns.query.udp
    try:
        r = f(q, "127.0.0.1", port=d.port, timeout=timeout)
    except dns.exception.Timeout:
        raise AssertionError(f"no reply to {name} {rtype} within {timeout:.1f} s") from None
    except dns.exception.DNSException as e:  # FormError & co: a malformed reply
        raise AssertionError(f"the reply to {name} {rtype} does not parse: "
                             f"{type(e).__name__}: {e}") from None
    return r, time.monotonic() - t0


def rdatas(r, rtype, name=None, section="answer"):
    t = dns.rdatatype.from_text(rtype)
    out = []
    for rr in getattr(r, section):
        if rr.rdtype == t and (name is None or rr.name == dns.name.from_text(name)):
            out += [rd.to_text() for rd in rr]
    return sorted(out)


def rc(r):
    return dns.rcode.to_text(r.rcode())


def stats(d):
    out = d.ctl_run("stats", "--json").stdout
    return json.loads(out.strip().splitlines()[-1])


def upstream(d):
    return stats(d)["upstream.queries"]


class QueryLog:
    """The conform server's query log (one line per query received), read
    from where it stood when this object was made."""

    def __init__(self):
        man = json.loads((LAB_RUN / "lab.json").read_text())
        self.path = Path([s["log"] for s in man["servers"] if s["addr"] == CONFORM][0])
        self.start = self.path.stat().st_size

    def lines(self):
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return f.read().decode(errors="replace").splitlines()

    def count(self, name, rtype, proto="udp"):
        want = name.lower().rstrip(".") + "."
        return sum(1 for ln in self.lines()
                   if ln.split()[:2] == ["q", proto] and len(ln.split()) >= 4
                   and ln.split()[2].lower() == want and ln.split()[3] == rtype)


# ------------------------------------------------------ a. bad TCP replies --
BAD_TCP = ["wrongid", "otherq", "qd0", "qd2", "short", "close", "idthenok"]


def check_badtcp_reply(kind, r, took):
    """SERVFAIL or the right data, never the fake, within max_time."""
    assert took <= MAX_TIME_MS / 1000 + SLACK, (kind, took)
    assert r.rcode() in (dns.rcode.SERVFAIL, dns.rcode.NOERROR), (kind, r)
    got = rdatas(r, "A")
    assert FAKE not in got, (kind, r)
    if r.rcode() == dns.rcode.NOERROR:
        assert got == [lab_addr("203.1")], (kind, r)


@pytest.mark.parametrize("kind", BAD_TCP)
def test_bad_tcp_reply_answered_within_max_time(rd, kind):
    """The only server answers UDP with TC=1 and then misbehaves over TCP:
    every client still gets SERVFAIL or the right data within max_time."""
    r, took = ask(rd, f"{uniq(kind)}.badtcp.test")
    check_badtcp_reply(kind, r, took)
    assert rd.proc.poll() is None


def test_good_tcp_reply_after_tc(rd):
    """The control: the same server's correct TCP answer is used."""
    r, took = ask(rd, f"{uniq('ok')}.badtcp.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("203.1")], r


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stress_udp(d, names, window):
    """Ask every name (A, over UDP) with at most `window` questions out at
    once, from one thread and one socket (each query its own ID), so each
    answer's time is measured by a client that is never itself the slow
    part. @return the problems: no answer within max_time + SLACK, or a
    wrong one (check_badtcp_reply)."""
    import select
    import socket as so

    sock = so.socket(so.AF_INET, so.SOCK_DGRAM)
    sock.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 1 << 22)
    sock.connect(("127.0.0.1", d.port))
    limit = MAX_TIME_MS / 1000 + SLACK
    out = {}          # id -> (name, sent at)
    pending = list(enumerate(names))
    problems = []
    try:
        while pending or out:
            now = time.monotonic()
            while pending and len(out) < window:
                i, name = pending.pop()
                qid = i & 0xFFFF
                q = dns.message.make_query(name, "A", use_edns=0, id=qid)
                sock.send(q.to_wire())
                out[qid] = (name, time.monotonic())
            for qid, (name, sent) in list(out.items()):
                if now - sent > limit + 1:
                    problems.append(f"{name}: no answer in {now - sent:.1f} s")
                    del out[qid]
            if not select.select([sock], [], [], 0.05)[0]:
                continue
            while True:
                try:
                    wire = sock.recv(65535, so.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                got = time.monotonic()
                r = dns.message.from_wire(wire)
                if r.id not in out:
                    problems.append(f"an answer to no question: id {r.id}")
                    continue
                name, sent = out.pop(r.id)
                try:
                    check_badtcp_reply(name.split("-")[0], r, got - sent)
                except AssertionError as e:
                    problems.append(f"{name}: {e}"[:300])
    finally:
        sock.close()
    return problems


STRESS_NAMES = 3000
STRESS_CONCURRENCY = 300


def test_bad_tcp_stress_memory_and_clean_exit(daemon, lab):
    """3000 distinct bad-TCP names at once (bounded concurrency): every query
    is answered within max_time, the RSS comes back near where it was, the
    daemon still resolves, exits 0 on SIGTERM, and the sanitizers say
    nothing."""
    asan = ":quarantine_size_mb=1:malloc_context_size=2"
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + asan
    try:
        d = daemon(hints=HINTS, config_extra=LIMITS)
    finally:
        os.environ["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"].replace(asan, "")
    # warm up: the root, test and badtcp.test cuts are cached, as after any use
    for _ in range(3):
        ask(d, f"{uniq('ok')}.badtcp.test")
    base = rss_kb(d.proc.pid)
    tag = random.randrange(10**6)
    names = [f"{BAD_TCP[i % len(BAD_TCP)]}-{tag}{i:05d}.badtcp.test" for i in range(STRESS_NAMES)]
    t0 = time.monotonic()
    problems = stress_udp(d, names, STRESS_CONCURRENCY)
    took = time.monotonic() - t0
    assert not problems, f"{len(problems)} of {STRESS_NAMES} bad, e.g. {problems[:5]}"
    assert d.proc.poll() is None, d.logtext()[-3000:]
    # the connections and questions are gone after max_time: memory is back
    deadline = time.monotonic() + 5
    after = rss_kb(d.proc.pid)
    while after - base > 20 * 1024 and time.monotonic() < deadline:
        time.sleep(0.5)
        after = rss_kb(d.proc.pid)
    assert after - base <= 20 * 1024, (base, after, took)
    r, _ = ask(d, "www.example.com")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("200.1")]
    assert d.stop() == 0
    assert "Sanitizer" not in d.logtext() and "runtime error" not in d.logtext()


# --------------------------------------------------- b. retransmission -----
def test_retransmits_after_a_dropped_datagram(rd):
    """The only server drops the first datagram of each question and answers
    the retry: resolved, and the server saw the question exactly twice."""
    log = QueryLog()
    name = f"{uniq('r')}.dropfirst.test"
    r, took = ask(rd, name)
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("204.1")], r
    assert took <= MAX_TIME_MS / 1000 + SLACK
    assert log.count(name, "A") == 2, log.lines()[-20:]


def test_one_server_drops_everything_the_other_answers(rd):
    r, took = ask(rd, "www.dropone.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("204.2")], r


# ------------------------------------------- DNS Cookies upstream (11.9) ---
def cookies_seen(log, name):
    """The COOKIE option data (hex) of each A query for name the conform
    server logged ('' for a query without one)."""
    want = name.lower().rstrip(".") + "."
    out = []
    for ln in log.lines():
        w = ln.split()
        if w[:2] == ["q", "udp"] and len(w) >= 4 and w[2].lower() == want and w[3] == "A":
            c = [x[7:] for x in w[4:] if x.startswith("cookie=")]
            out.append(c[0] if c else "")
    return out


def test_cookies_sent_upstream_and_checked(rd):
    """resolverd sends a client cookie with every EDNS query, returns the
    server cookie it was given (RFC 7873 5.1), and ignores a reply whose
    client cookie is not the one it sent, though ID and question match."""
    log = QueryLog()
    n1, n2 = (f"{uniq('cookie')}.quirks.test" for _ in range(2))
    for n in (n1, n2):
        r, _ = ask(rd, n)
        assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("205.6")], r
    c1, c2 = cookies_seen(log, n1), cookies_seen(log, n2)
    assert c1 and len(c1[0]) == 16, log.lines()[-10:]      # client cookie only
    server = "01000000" + b"labcook!".hex() + "5a" * 4
    assert c2 and c2[0] == c1[0] + server, (c1, c2)       # and the server's back
    before = stats(rd)["upstream.spoofed_ignored"]
    r, _ = ask(rd, f"{uniq('cookiespoof')}.quirks.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("205.7")], r
    assert stats(rd)["upstream.spoofed_ignored"] > before
    trace = rd.ctl_run("trace", f"{uniq('cookiespoof')}.quirks.test").stdout
    assert "another client cookie" in trace, trace


# ------------------------------------------------ c. records of any size ---
def test_6k_txt_record_over_tcp(rd):
    r, _ = ask(rd, "txt6k.bigrr.test", "TXT", tcp=True)
    assert rc(r) == "NOERROR" and not r.flags & dns.flags.TC, r
    txt = [rd for rr in r.answer if rr.rdtype == dns.rdatatype.TXT for rd in rr]
    assert len(txt) == 1
    want = [labnet.bigrr_string(i).encode() for i in range(30)]
    assert list(txt[0].strings) == want
    u, _ = ask(rd, "txt6k.bigrr.test", "TXT")
    assert u.flags & dns.flags.TC, u


def test_50k_rrset_over_tcp(rd):
    a = rd.kdig("many.bigrr.test", "TXT", "+tcp", timeout=20)
    assert a.status == "NOERROR", a.text[:2000]
    got = sorted(x.strip('"') for x in a.rdatas("TXT"))
    assert got == sorted(labnet.bigrr_string(i) for i in range(250))
    r, _ = ask(rd, "many.bigrr.test", "TXT", tcp=True)
    assert len(rdatas(r, "TXT")) == 250
    u = rd.dig("many.bigrr.test", "TXT", "+bufsize=1232", "+ignore")
    assert "tc" in u.flags, u


# ------------------------------------------ d. answers the peers accept ----
def test_nodata_without_aa_is_nodata(rd):
    r, _ = ask(rd, "nodata-noaa.quirks.test")
    assert rc(r) == "NOERROR" and not r.answer, r
    assert rdatas(r, "SOA", section="authority"), r


def test_nxdomain_without_aa_is_nxdomain(rd):
    r, _ = ask(rd, "nxdomain-noaa.quirks.test")
    assert rc(r) == "NXDOMAIN" and not r.answer, r


@pytest.mark.parametrize("kind,addr", [("ent-nodata", "205.1"), ("ent-nx", "205.2")])
def test_qname_minimisation_through_non_aa_empty_non_terminals(rd, kind, addr):
    """The minimised questions for the empty non-terminals get NODATA (or,
    broken, NXDOMAIN) without AA: the resolver goes on (relaxed QNAME
    minimisation, RFC 9156 section 3) and resolves the full name."""
    r, _ = ask(rd, f"www.a.{kind}.quirks.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr(addr)], r


def test_referral_with_aa_is_followed(rd):
    r, _ = ask(rd, "www.aaref.quirks.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("205.3")], r


@pytest.mark.parametrize("zone", ["upref", "sideref"])
def test_upward_or_sideways_referral_is_lame(rd, zone):
    a = rd.dig(f"www.{zone}.test", "A")
    assert a.status == "SERVFAIL", a
    assert a.ede and any(e.strip() for e in a.ede), a


def test_upward_referral_then_good_server(rd):
    r, took = ask(rd, "www.upref2.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("206.2")], r


def test_a_record_answering_aaaa_is_nodata(rd):
    r, _ = ask(rd, "wrongtype.quirks.test", "AAAA")
    assert rc(r) == "NOERROR" and not r.answer, r
    r, _ = ask(rd, "wrongtype.quirks.test", "A")
    assert rdatas(r, "A") == [lab_addr("205.4")]


def test_duplicate_records_are_merged(rd):
    r, _ = ask(rd, "dup.quirks.test")
    assert rc(r) == "NOERROR", r
    a = [rd for rr in r.answer if rr.rdtype == dns.rdatatype.A for rd in rr]
    assert len(a) == 1 and a[0].to_text() == lab_addr("205.5"), r
    # dnspython merges duplicates when parsing: count on the wire too
    d = dig("127.0.0.1", rd.port, "dup.quirks.test", "A")
    assert d.rdatas("A") == [lab_addr("205.5")], d


@pytest.mark.parametrize("qmin", [True, False])
def test_dname(daemon, lab, qmin):
    """RFC 6672: the DNAME, the synthesised CNAME and the target's answer."""
    d = daemon(hints=HINTS, config_extra=LIMITS + f"qname_minimisation: {str(qmin).lower()}\n")
    r, _ = ask(d, "www.src.dname.test")
    assert rc(r) == "NOERROR", r
    assert rdatas(r, "DNAME", "src.dname.test") == ["dtarget.test."], r
    assert rdatas(r, "CNAME", "www.src.dname.test") == ["www.dtarget.test."], r
    assert rdatas(r, "A", "www.dtarget.test") == [lab_addr("210.1")], r
    r, _ = ask(d, "a.b.src.dname.test")
    assert rdatas(r, "DNAME", "src.dname.test") == ["dtarget.test."], r
    assert rdatas(r, "CNAME", "a.b.src.dname.test") == ["a.b.dtarget.test."], r
    assert rdatas(r, "A", "a.b.dtarget.test") == [lab_addr("210.2")], r
    r, _ = ask(d, "nope.src.dname.test")
    assert rc(r) == "NXDOMAIN", r
    assert rdatas(r, "CNAME", "nope.src.dname.test") == ["nope.dtarget.test."], r


@pytest.mark.parametrize("zone,addrs", [("pcfb", ["208.1", "208.2", "208.5"]),
                                        ("pcfb2", ["208.3", "208.4", "208.6"])])
def test_parent_child_address_fallback(daemon, lab, zone, addrs):
    """The parent's glue and the child's own A for the NS name disagree, one
    of them dead: every name still resolves (default limits)."""
    d = daemon(hints=HINTS)
    for host, addr in zip(("www", "www2", "www3"), addrs):
        r, _ = ask(d, f"{host}.{zone}.test", timeout=12)
        assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr(addr)], (host, r)


@pytest.mark.parametrize("a,b,wa,wb", [("cyc-a.test", "cyc-b.test", "209.1", "209.2"),
                                       ("cyc-a.sib.test", "cyc-b.sib.net", "209.3", "209.4")])
def test_glue_dependency_cycle(rd, a, b, wa, wb):
    """Each zone's NS is in the other; only the parents' glue breaks the
    cycle. Both resolve, and the glue is never handed out as an answer: the
    NS names' addresses come from their own zones (which publish others)."""
    r, _ = ask(rd, f"www.{a}")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr(wa)], r
    r, _ = ask(rd, f"www.{b}")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr(wb)], r
    r, _ = ask(rd, f"ns.{b}")      # ns.cyc-b.*: glue 23.1, its zone says 23.2
    assert rdatas(r, "A") == [lab_addr("23.2")], r
    r, _ = ask(rd, f"ns.{a}")      # ns.cyc-a.*: glue 23.3, its zone says 23.4
    assert rdatas(r, "A") == [lab_addr("23.4")], r


# ------------------------------------------------------------ e. scrub ----
def test_ttl_with_top_bit_is_zero(rd):
    """RFC 2181 section 8: a TTL with the top bit set is 0."""
    log = QueryLog()
    r, _ = ask(rd, "ttl-topbit.scrub.test")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("207.1")], r
    assert [rr.ttl for rr in r.answer] == [0], r
    r2, _ = ask(rd, "ttl-topbit.scrub.test")
    assert [rr.ttl for rr in r2.answer] == [0], r2
    assert log.count("ttl-topbit.scrub.test", "A") == 2, log.lines()


@pytest.mark.parametrize("name,good", [("rdlen0", "207.2"), ("rdlen5", "207.3")])
def test_a_record_with_bad_rdata_length_dropped(rd, name, good):
    """Never relayed (dnspython would not parse it), never cached: either
    the good record alone or SERVFAIL, twice."""
    for _ in range(2):
        r, _ = ask(rd, f"{name}.scrub.test")
        assert rc(r) in ("NOERROR", "SERVFAIL"), r
        if rc(r) == "NOERROR":
            assert rdatas(r, "A") == [lab_addr(good)], r


def test_record_of_another_class_dropped(rd):
    r, _ = ask(rd, "chclass.scrub.test")
    assert rc(r) == "NOERROR", r
    assert all(rr.rdclass == dns.rdataclass.IN for rr in r.answer), r
    assert rdatas(r, "A") == [lab_addr("207.4")], r


def test_nxdomain_after_cname_keeps_the_cname(rd):
    """RFC 6604: the rcode is about the last name of the chain."""
    r, _ = ask(rd, "cnamenx.scrub.test")
    assert rc(r) == "NXDOMAIN", r
    assert rdatas(r, "CNAME", "cnamenx.scrub.test") == ["nx-target.scrub.test."], r


def test_nxdomain_with_unrelated_record(rd):
    r, _ = ask(rd, "nxjunk.scrub.test")
    assert rc(r) == "NXDOMAIN", r
    assert not rdatas(r, "A"), r
    r, _ = ask(rd, "junk-target.scrub.test")
    assert rdatas(r, "A") == [lab_addr("207.9")], r


def test_deep_delegation_cut_reused(rd):
    """Eight delegations below test: after the first name, others below the
    same cut cost one or two upstream queries, not another walk."""
    zone = "a.b.c.d.e.f.g.deep2.test"
    r, _ = ask(rd, f"n0.{zone}")
    assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr("211.0")], r
    for k in range(1, 6):
        before = upstream(rd)
        r, _ = ask(rd, f"n{k}.{zone}")
        assert rc(r) == "NOERROR" and rdatas(r, "A") == [lab_addr(f"211.{k}")], r
        sent = upstream(rd) - before
        assert sent <= 2, f"n{k}: {sent} upstream queries"


# ------------------------------------------------ f. loopback and others ---
def set_query_loopback(conf, value):
    """The config file with exactly one query_loopback line (the fixture's
    generated config may already have one)."""
    lines = [ln for ln in conf.read_text().splitlines()
             if not ln.startswith("query_loopback:")]
    conf.write_text("\n".join(lines) + f"\nquery_loopback: {value}\n")


def test_query_loopback_false_refuses_127(daemon, lab):
    """query_loopback: false (the default outside the lab) never sends to
    127.0.0.0/8: the lab's root is unreachable, SERVFAIL with a reason."""
    d = daemon(hints=HINTS, config_extra=LIMITS, start=False)
    set_query_loopback(d.conf, "false")
    d.start()
    a = d.dig("www.example.com", "A")
    assert a.status == "SERVFAIL", a
    assert a.ede and any(e.strip() for e in a.ede), a
    assert upstream(d) == 0


NETNS_ROOT = """$ORIGIN .
$TTL 3600
@ IN SOA a.root. h. 1 3600 900 604800 300
@ IN NS a.root.
a.root. IN A 127.0.0.2
zero. IN NS ns.zero.
ns.zero. IN A 0.0.0.0
zero8. IN NS ns.zero8.
ns.zero8. IN A 0.1.2.3
mcast. IN NS ns.mcast.
mcast. IN NS ns2.mcast.
ns.mcast. IN A 224.0.0.1
ns2.mcast. IN A 239.255.255.250
bcast. IN NS ns.bcast.
ns.bcast. IN A 255.255.255.255
any6. IN NS ns.any6.
ns.any6. IN AAAA ::
mcast6. IN NS ns.mcast6.
ns.mcast6. IN AAAA ff02::1
"""
NETNS_GOOD = """$ORIGIN good.
$TTL 300
@ IN SOA a.root. h. 1 3600 900 604800 300
@ IN NS a.root.
www IN A 127.0.0.9
"""
BAD_TARGETS = {"zero": ["0.0.0.0"], "zero8": ["0.1.2.3"],
               "mcast": ["224.0.0.1", "239.255.255.250"], "bcast": ["255.255.255.255"],
               "any6": ["::"], "mcast6": ["ff02::1"]}


class NetnsDaemon(Daemon):
    """A resolverd inside a private network namespace (only lo): whatever
    it sends to a multicast or broadcast address cannot leave the machine."""

    def __init__(self, tmp_path, nspid, config_extra, hints):
        super().__init__(tmp_path, config_extra, hints)
        self.pre = ["nsenter", "-t", str(nspid), "-n"]

    def start(self, wait=True):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.pre + [str(RESOLVERD), "-c", str(self.conf)],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            assert self.proc.poll() is None, self.logtext()
            p = subprocess.run(self.pre + ["dig", "@127.0.0.1", "-p", str(self.port), "+tcp",
                                           "+time=1", "+tries=1", "localhost", "A"],
                               capture_output=True, timeout=10)
            if p.returncode == 0:
                return self
            assert time.monotonic() < deadline, self.logtext()
            time.sleep(0.1)

    def dig(self, *args, timeout=15):
        p = subprocess.run(self.pre + ["dig", "@127.0.0.1", "-p", str(self.port), "+tries=1",
                                       "+time=5"] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        from conftest import Answer
        return Answer(p.stdout, p.returncode)


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("nsenter") is None,
                    reason="no unshare/nsenter")
def test_never_queries_unusable_addresses(tmp_path, lab):
    """Referrals with glue 0.0.0.0, 0.1.2.3, multicast, broadcast, :: and
    ff02::1: resolverd sends nothing there (SERVFAIL with a reason). It runs
    in its own network namespace with a root server on 127.0.0.2 and a
    listener that logs what reaches 127.0.0.1 and ::1 (where packets to
    0.0.0.0 and :: land)."""
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c",
                               "ip link set lo up && exec sleep 120"])
    procs = []
    try:
        deadline = time.monotonic() + 5
        while subprocess.run(["nsenter", "-t", str(holder.pid), "-n", "ip", "-o", "addr"],
                             capture_output=True, text=True).stdout.count("inet") < 2:
            assert time.monotonic() < deadline and holder.poll() is None
            time.sleep(0.05)
        pre = ["nsenter", "-t", str(holder.pid), "-n"]
        (tmp_path / "root.zone").write_text(NETNS_ROOT)
        (tmp_path / "good.zone").write_text(NETNS_GOOD)
        slog = open(tmp_path / "root.log", "wb")
        srv = subprocess.Popen(pre + ["/usr/bin/python3", str(LAB / "scripted.py"), "--mode",
                                      "conform", "--zone", ".", "--zonefile",
                                      str(tmp_path / "root.zone"), "--zone", "good",
                                      "--zonefile", str(tmp_path / "good.zone"),
                                      "--addr", "127.0.0.2", "--drop-addr", "127.0.0.1",
                                      "--drop-addr", "::1", "--log-queries"],
                               stdout=slog, stderr=subprocess.STDOUT)
        procs.append(srv)
        # the root must answer before resolverd asks it: an unreachable
        # server is not asked again
        deadline = time.monotonic() + 10
        while subprocess.run(pre + ["dig", "@127.0.0.2", ".", "SOA", "+tries=1",
                                    "+time=1"], capture_output=True,
                             text=True).stdout.find("status: NOERROR") < 0:
            assert time.monotonic() < deadline and srv.poll() is None
            time.sleep(0.1)
        hints = tmp_path / "ns.hints"
        hints.write_text(". 3600000 NS a.root.\na.root. 3600000 A 127.0.0.2\n")
        ddir = tmp_path / "d"
        ddir.mkdir()
        d = NetnsDaemon(ddir, holder.pid, LIMITS, hints)
        set_query_loopback(d.conf, "true")
        try:
            d.start()
            procs.append(d.proc)
            ok = d.dig("www.good", "A")
            assert ok.status == "NOERROR" and ok.rdatas("A") == ["127.0.0.9"], ok
            for zone, targets in BAD_TARGETS.items():
                a = d.dig(f"www.{zone}", "A")
                assert a.status == "SERVFAIL", (zone, a)
                assert a.ede, (zone, a)
            infra = d.ctl_run("dump", "--infra").stdout
            for targets in BAD_TARGETS.values():
                for t in targets:
                    assert not re.search(rf"(^|[\s(]){re.escape(t)}([\s)@#]|$)", infra, re.M), \
                        (t, infra)
            drops = [ln for ln in (tmp_path / "root.log").read_text().splitlines()
                     if ln.startswith("drop ")]
            assert not drops, drops
            assert d.stop() == 0
        finally:
            if d.proc is not None and d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait(5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        holder.kill()
        holder.wait(5)


# ------------------------------------------------------------- g. DO bit ---
def sections(r, section):
    """{'A', 'RRSIG/A', 'NSEC', ...} of a section."""
    return {dns.rdatatype.to_text(rr.rdtype)
            + ("/" + dns.rdatatype.to_text(rr.covers) if rr.covers else "")
            for rr in getattr(r, section)}


@pytest.mark.parametrize("name,rtype,rcode,answer,authority", [
    # a signed answer: the RRset and its RRSIG
    ("www.sec-nsec.test", "A", "NOERROR", {"A", "RRSIG/A"}, set()),
    ("www.sec-alg15.test", "AAAA", "NOERROR", {"AAAA", "RRSIG/AAAA"}, set()),
    # a wildcard answer: the RRSIG and the NSEC proving no closer name
    ("x.wild.sec-nsec.test", "A", "NOERROR", {"A", "RRSIG/A"}, {"NSEC", "RRSIG/NSEC"}),
    # NXDOMAIN and NODATA: SOA, NSEC/NSEC3 and their RRSIGs in authority
    ("nope.sec-nsec.test", "A", "NXDOMAIN", set(), {"SOA", "RRSIG/SOA", "NSEC", "RRSIG/NSEC"}),
    ("www.sec-nsec.test", "MX", "NOERROR", set(), {"SOA", "RRSIG/SOA", "NSEC", "RRSIG/NSEC"}),
    ("b.sec-nsec.test", "A", "NOERROR", set(), {"SOA", "RRSIG/SOA", "NSEC", "RRSIG/NSEC"}),
    ("nope.sec-nsec3n.test", "A", "NXDOMAIN", set(),
     {"SOA", "RRSIG/SOA", "NSEC3", "RRSIG/NSEC3"}),
    ("www.sec-nsec3n.test", "MX", "NOERROR", set(),
     {"SOA", "RRSIG/SOA", "NSEC3", "RRSIG/NSEC3"}),
])
def test_do_bit_gets_the_dnssec_records(rd, name, rtype, rcode, answer, authority):
    """DO=1 (RFC 4035 3.2.1, 4.1): the client gets the RRSIGs, and the
    NSEC/NSEC3 proofs with theirs, from the resolution and from the cache."""
    for attempt in ("resolved", "cached"):
        r, _ = ask(rd, name, rtype, dnssec=True)
        assert rc(r) == rcode, (attempt, r)
        assert r.ednsflags & dns.flags.DO, (attempt, r)
        assert answer <= sections(r, "answer"), (attempt, r)
        assert authority <= sections(r, "authority"), (attempt, r)
    # and without DO, no DNSSEC records (RFC 4035 3.2.1)
    r, _ = ask(rd, name, rtype)
    dnssec_types = {"RRSIG", "NSEC", "NSEC3"}
    assert not {t.split("/")[0] for t in sections(r, "answer") | sections(r, "authority")} \
        & dnssec_types, r
