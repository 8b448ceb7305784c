"""Serve-stale (RFC 8767) and prefetch against the lab: stale.test has its
own NSD (NET.24.1) with short TTLs, which these tests stop with SIGSTOP
and start again with SIGCONT, so that it hangs like a dead server: no
answer, no ICMP. Every process stopped is started again, whatever happens.
"""
import contextlib
import json
import os
import re
import signal
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import HINTS, LAB_RUN, lab_addr

pytestmark = pytest.mark.usefixtures("lab")

STALE_NS = lab_addr("24.1")
MAX_TIME_MS = 1500
CONF = f"limits:\n  max_time: {MAX_TIME_MS}\n"


def mk(daemon, extra=""):
    """A resolverd on the lab with the query log on."""
    d = daemon(hints=HINTS, config_extra=CONF + extra, start=False)
    d.conf.write_text(d.conf.read_text().replace(
        "  dest: stderr\n", "  dest: stderr\n  queries: true\n"))
    return d.start()


def server_pid(addr):
    man = json.loads((LAB_RUN / "lab.json").read_text())
    pidfile = [s["pidfile"] for s in man["servers"] if s["addr"] == addr][0]
    return int(open(pidfile).read().split()[0])


@contextlib.contextmanager
def stopped(addr):
    """The lab's server at addr stopped (SIGSTOP) for the block."""
    pid = server_pid(addr)
    # NSD answers from a child process: stop its whole process group (its
    # own, the lab starts each server in one)
    assert os.getpgid(pid) == pid, "the server is not a group leader"
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def ask(d, name, timeout=MAX_TIME_MS / 1000 + 3):
    q = dns.message.make_query(name, "A", use_edns=0)
    t0 = time.monotonic()
    r = dns.query.udp(q, "127.0.0.1", port=d.port, timeout=timeout)
    return r, time.monotonic() - t0


def ede(r):
    return [(o.code, o.text) for o in r.options if o.otype == 15]


def stats(d):
    out = d.ctl_run("stats", "--json").stdout
    return json.loads(out.strip().splitlines()[-1])


def a_of(r):
    return [(rr.ttl, rd.address) for rr in r.answer for rd in rr
            if rr.rdtype == 1]


def test_serve_stale_when_the_server_stops(daemon):
    """www.stale.test (TTL 3) is resolved; its only server stops; once the
    TTL ran out the answer is the expired data, TTL 30 and EDE 3, after the
    resolution failed; the next questions get it at once, without asking
    the dead server again (held 30 s). A fresh name of that zone is still
    SERVFAIL: there is nothing stale to give."""
    d = mk(daemon)
    r, _ = ask(d, "www.stale.test")
    assert r.rcode() == dns.rcode.NOERROR and a_of(r)[0][1] == lab_addr("206.1"), r
    with stopped(STALE_NS):
        time.sleep(3.2)                   # the TTL runs out
        r, took = ask(d, "www.stale.test")
        assert r.rcode() == dns.rcode.NOERROR, r
        assert a_of(r) == [(30, lab_addr("206.1"))], r
        codes = ede(r)
        assert codes and codes[0][0] == 3, r           # Stale Answer
        assert "stale answer" in codes[0][1], codes
        assert took >= 0.3, took                       # it did try first
        s0 = stats(d)
        assert s0["answers.stale"] == 1, s0
        # held: at once, no new resolution, nothing sent upstream
        for _ in range(5):
            r, took = ask(d, "www.stale.test")
            assert a_of(r) == [(30, lab_addr("206.1"))], r
            assert ede(r)[0][0] == 3, r
            assert took < 0.3, took
        s1 = stats(d)
        assert s1["answers.stale"] == 6, s1
        assert s1["resolutions"] == s0["resolutions"], (s0, s1)
        assert s1["upstream.queries"] == s0["upstream.queries"], (s0, s1)
        assert s1["stale.refreshes"] == 0, s1
        # nothing stale for a name never resolved
        r, _ = ask(d, "nope.stale.test")
        assert r.rcode() == dns.rcode.SERVFAIL, r
    # the server is back: a refresh (after the hold) brings fresh data; a
    # dump shows no stale entry (it has no time left to show)
    dump = d.ctl_run("dump", "--name", "www.stale.test").stdout
    assert "www.stale.test." not in dump, dump
    assert re.search(r"query 127\.0\.0\.1 www\.stale\.test\. A NOERROR stale",
                     d.logtext()), d.logtext()[-2000:]


def test_serve_stale_off(daemon):
    """cache.serve_stale: 0: the expired data is gone; SERVFAIL."""
    d = mk(daemon, "cache:\n  serve_stale: 0\n")
    r, _ = ask(d, "www.stale.test")
    assert r.rcode() == dns.rcode.NOERROR, r
    with stopped(STALE_NS):
        time.sleep(3.2)
        r, _ = ask(d, "www.stale.test")
        assert r.rcode() == dns.rcode.SERVFAIL, r
        assert not any(c == 3 for c, _ in ede(r)), r
    assert stats(d)["answers.stale"] == 0


def test_serve_stale_not_for_bogus(daemon):
    """A DNSSEC failure is no reason for stale data: a bogus name stays
    SERVFAIL with its own EDE (here it never had good data either)."""
    d = mk(daemon)
    r, _ = ask(d, "www.bogus-edited.test")
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert all(c != 3 for c, _ in ede(r)), r


def hits_and_misses(log, name):
    pat = re.compile(r"query 127\.0\.0\.1 " + re.escape(name) + r"\. A (\w+) (\w+)")
    return [m.group(2) for m in pat.finditer(log)]


def test_prefetch_keeps_a_short_ttl_name_hot(daemon):
    """pf.stale.test has a TTL of 6 s. Asked every 0.15 s for 15 s (two
    TTLs and a half), it is a miss the first time only: asked in the last
    tenth of its TTL, it is refreshed in the background while the client
    gets the cached answer."""
    d = mk(daemon)
    end = time.monotonic() + 15
    n = 0
    while time.monotonic() < end:
        r, _ = ask(d, "pf.stale.test")
        assert r.rcode() == dns.rcode.NOERROR and a_of(r), r
        n += 1
        time.sleep(0.15)
    how = hits_and_misses(d.logtext(), "pf.stale.test")
    assert len(how) == n, (n, how)
    assert how[0] == "miss" and how[1:] == ["hit"] * (n - 1), how
    s = stats(d)
    assert s["prefetches"] >= 2, s


def test_prefetch_off_misses(daemon):
    """cache.prefetch: false: the same client sees a miss each time the
    TTL runs out."""
    d = mk(daemon, "cache:\n  prefetch: false\n")
    end = time.monotonic() + 7.5
    while time.monotonic() < end:
        ask(d, "x.pf.stale.test")
        time.sleep(0.15)
    how = hits_and_misses(d.logtext(), "x.pf.stale.test")
    assert how.count("miss") >= 2, how
    assert stats(d)["prefetches"] == 0
