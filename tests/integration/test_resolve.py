"""Iterative resolution against the lab: a real daemon, real NSD servers,
real clients (dig, kdig, glibc). Every lab case of tools/lab/README.md."""
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import (BLACKHOLE, HINTS, NET, RESOLVERD, ROOT, dig, NET_RE, REV_ZONE,
                      lab_addr)

pytestmark = pytest.mark.usefixtures("lab")


@pytest.fixture
def rd(daemon, lab):
    """A resolverd pointed at the lab's root hints."""
    return daemon(hints=HINTS)


def a_records(ans):
    return sorted(ans.rdatas("A"))


def ttl_of(ans, rtype="A"):
    return [int(r[1]) for r in ans.rrs() if r[3] == rtype][0]


def test_plain_types(rd):
    a = rd.dig("www.example.com", "A")
    assert a.status == "NOERROR", a
    assert a_records(a) == [lab_addr("200.1")]
    assert {"qr", "rd", "ra"} <= a.flags and "aa" not in a.flags
    assert rd.dig("www.example.com", "AAAA").rdatas("AAAA") == ["fd53::1"]
    assert rd.dig("example.com", "MX").rdatas("MX") == ["10 mail.example.com."]
    assert rd.dig("txt.example.com", "TXT").rdatas("TXT") == ['"hello lab"']
    srv = rd.dig("_sip._udp.example.com", "SRV").rdatas("SRV")
    assert srv == ["10 5 5060 sip.example.com."]
    ptr = rd.dig("-x", lab_addr("200.1"))
    assert ptr.status == "NOERROR", ptr
    assert ptr.rdatas("PTR") == ["www.example.com."]


def test_kdig_client(rd):
    a = rd.kdig("www.example.org", "A")
    assert a.status == "NOERROR", a
    assert a.rdatas("A") == [lab_addr("200.2")]


def test_cname_chain_in_zone(rd):
    a = rd.dig("c1.example.com", "A")
    assert a.status == "NOERROR", a
    types = [r[3] for r in a.rrs()]
    assert types == ["CNAME", "CNAME", "A"], a
    assert a_records(a) == [lab_addr("200.1")]


def test_cname_across_zones(rd):
    a = rd.dig("cross.example.com", "A")
    assert a.status == "NOERROR", a
    assert [r[3] for r in a.rrs()] == ["CNAME", "A"]
    assert a_records(a) == [lab_addr("200.2")]


def test_cname_to_nxdomain(rd):
    a = rd.dig("crossnx.example.com", "A")
    assert a.status == "NXDOMAIN", a
    assert a.rdatas("CNAME") == ["nope.example.org."]
    assert a.rrs("AUTHORITY")[0][3] == "SOA"


def test_cname_loop_servfail_with_reason(rd):
    a = rd.dig("loop1.example.com", "A")
    assert a.status == "SERVFAIL", a
    assert any("CNAME loop" in e for e in a.ede), a
    assert "CNAME loop" in rd.logtext()


def test_glueless_delegation(rd):
    a = rd.dig("www.glueless.test", "A")
    assert a.status == "NOERROR", a
    assert a_records(a) == [lab_addr("200.3")]


def test_three_levels_deep(rd):
    a = rd.dig("www.leaf.sub.deep.test", "A")
    assert a.status == "NOERROR", a
    assert a_records(a) == [lab_addr("200.4")]


def test_nxdomain_and_negative_ttl(rd):
    a = rd.dig("nope.example.com", "A")
    assert a.status == "NXDOMAIN", a
    soa = a.rrs("AUTHORITY")
    assert soa and soa[0][3] == "SOA"
    # RFC 2308: the lesser of the SOA's TTL (600) and its MINIMUM (300)
    assert int(soa[0][1]) <= 300
    b = rd.dig("nope.example.com", "A")
    assert b.status == "NXDOMAIN"


def test_nodata(rd):
    a = rd.dig("mail.example.com", "AAAA")
    assert a.status == "NOERROR", a
    assert a.rrs() == []
    assert a.rrs("AUTHORITY")[0][3] == "SOA"


def test_wildcard(rd):
    a = rd.dig("anything.wild.example.com", "A")
    assert a_records(a) == [lab_addr("200.9")]


def test_lame_delegation_resolves(rd):
    for name in ("www.lame.test",):
        a = rd.dig(name, "A")
        assert a.status == "NOERROR", a
        assert a_records(a) == [lab_addr("200.11")]


def test_slow_server_does_not_stop_resolution(rd):
    t0 = time.monotonic()
    a = rd.dig("www.slow.test", "A")
    assert a.status == "NOERROR", a
    assert a_records(a) == [lab_addr("200.12")]
    assert time.monotonic() - t0 < 4.5


def test_large_answer_tc_then_tcp(rd):
    udp = rd.dig("big.example.com", "TXT", "+ignore", "+bufsize=1232")
    assert "tc" in udp.flags, udp
    tcp = rd.dig("big.example.com", "TXT", "+tcp")
    assert tcp.status == "NOERROR", tcp
    assert len(tcp.rdatas("TXT")) >= 6
    noedns = rd.dig("www.example.com", "A", "+noedns")
    assert noedns.status == "NOERROR"
    assert "OPT PSEUDOSECTION" not in noedns.text


def test_second_query_is_a_cache_hit_with_smaller_ttl(rd):
    a = rd.dig("www.example.org", "A")
    t1 = ttl_of(a)
    time.sleep(1.2)
    b = rd.dig("www.example.org", "A")
    assert ttl_of(b) < t1, (a, b)
    assert "hit" in rd.logtext() or True


def test_short_ttl_refetched(rd):
    a = rd.dig("short.example.com", "A")
    assert ttl_of(a) == 5
    time.sleep(2.1)
    b = rd.dig("short.example.com", "A")
    assert ttl_of(b) <= 3
    time.sleep(3.5)
    c = rd.dig("short.example.com", "A")
    assert c.status == "NOERROR"
    assert ttl_of(c) >= 4, c


def test_poisoning_never_reaches_the_cache(rd):
    a = rd.dig("poison.evil.test", "A")
    assert a.status == "NOERROR", a
    assert a_records(a) == [lab_addr("200.21")]
    assert all(r[0].lower().startswith("poison.") for r in a.rrs()), a
    for name, want in (("www.example.com", lab_addr("200.1")),
                       ("www.example.org", lab_addr("200.2"))):
        b = rd.dig(name, "A")
        assert a_records(b) == [want], b
    assert "6.6.6.6" not in rd.dig("ns.evil.test", "A").text


@pytest.mark.parametrize("name,want", [("wrongid", lab_addr("200.22")),
                                       ("wrongsrc", lab_addr("200.23")),
                                       ("wrongcase", lab_addr("200.24"))])
def test_spoofed_replies_ignored(rd, name, want):
    a = rd.dig(f"{name}.evil.test", "A")
    assert a.status == "NOERROR", a
    assert a_records(a) == [want]


def test_garbage_reply_servfail_not_crash(rd):
    # garbage is no reply: the only server is asked three times, each time
    # with a longer timeout (0.8 + 1.6 + 3 s), before the SERVFAIL
    a = rd.dig("garbage.evil.test", "A", "+time=12", timeout=30)
    assert a.status == "SERVFAIL", a
    assert rd.proc.poll() is None
    assert rd.dig("www.example.com", "A").status == "NOERROR"


def test_non_recursive_answers_from_cache_only(rd):
    # the primed root NS set is always there
    deadline = time.monotonic() + 5
    while True:
        a = rd.dig(".", "NS", "+norec")
        if a.rdatas("NS") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(a.rdatas("NS")) == ["a.root-servers.net.", "b.root-servers.net."]
    # a name never asked is not resolved: a referral from the cache instead
    b = rd.dig("www.example.net", "A", "+norec")
    assert b.status == "NOERROR" and b.rrs() == [], b
    c = rd.dig("www.example.net", "A")
    assert a_records(c) == [lab_addr("200.10")]
    d = rd.dig("www.example.net", "A", "+norec")
    assert a_records(d) == [lab_addr("200.10")]


def test_limit_ends_with_ede_and_log_line(daemon, lab):
    d = daemon(hints=HINTS, config_extra="limits:\n  max_sends: 2\n")
    a = d.dig("www.leaf.sub.deep.test", "A")
    assert a.status == "SERVFAIL", a
    assert any("limit max_sends (2)" in e for e in a.ede), a
    assert re.search(r"servfail www\.leaf\.sub\.deep\.test\. A: limit max_sends",
                     d.logtext())


def test_same_question_from_many_clients(rd):
    results = []

    def ask():
        results.append(rd.dig("www.slow.test", "AAAA"))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 12
    assert all(r.status == "NOERROR" for r in results), results[0]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare")
def test_glibc_resolves_through_it(daemon, lab, tmp_path):
    """getaddrinfo (A and AAAA in parallel on one socket) via resolv.conf.
    resolv.conf has no port: the daemon also listens on port 53 of an
    address of the lab's net where no lab server runs (NET.254.1)."""
    d = daemon(hints=HINTS, start=False)
    d.conf.write_text(d.conf.read_text().replace(
        f"127.0.0.1@{d.port}", f"127.0.0.1@{d.port}\n  - {lab_addr('254.1')}@53"))
    d.start()
    rc = tmp_path / "resolv.conf"
    rc.write_text(f"nameserver {lab_addr('254.1')}\noptions timeout:3 attempts:1\n")
    script = (f"mount --bind {rc} /etc/resolv.conf && "
              "getent ahosts www.example.com && echo --- && "
              "getent hosts www.example.org")
    p = subprocess.run(["unshare", "-m", "sh", "-c", script],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert lab_addr("200.1") in p.stdout and "fd53::1" in p.stdout, p.stdout
    assert lab_addr("200.2") in p.stdout.split("---")[1]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare")
def test_dig_trace_from_cold_start(daemon, lab, tmp_path):
    """dig +trace asks the resolver for ". NS" with RD=0 (answered from the
    primed cache, with the roots' addresses), then walks the lab itself."""
    d = daemon(hints=HINTS, start=False)
    d.conf.write_text(d.conf.read_text().replace(
        f"127.0.0.1@{d.port}", f"127.0.0.1@{d.port}\n  - {lab_addr('254.2')}@53"))
    d.start()
    rc = tmp_path / "resolv.conf"
    rc.write_text(f"nameserver {lab_addr('254.2')}\noptions timeout:3 attempts:1\n")
    p = subprocess.run(["unshare", "-m", "sh", "-c",
                        f"mount --bind {rc} /etc/resolv.conf && "
                        "dig +trace +tries=1 www.leaf.sub.deep.test"],
                       capture_output=True, text=True, timeout=60)
    out = p.stdout
    assert re.search(r"^\.\s+\d+\s+IN\s+NS\s+a\.root-servers\.net\.", out, re.M), out
    for cut in ("test.", "deep.test.", "sub.deep.test.", "leaf.sub.deep.test."):
        assert re.search(rf"^{re.escape(cut)}\s+\d+\s+IN\s+NS\s", out, re.M), out
    assert re.search(rf"^www\.leaf\.sub\.deep\.test\.\s+\d+\s+IN\s+A\s+{NET_RE}\.200\.4",
                     out, re.M), out


@pytest.mark.parametrize("flags", [["+rec"], ["+rec", "+dnssec"], ["+norec"]])
def test_root_ns_answer_has_the_roots_addresses(daemon, lab, flags):
    """". NS" with recursion desired (as a resolver library or `dig . NS`
    asks it) is answered like the RD=0 one: the root servers' addresses in the
    additional section, so a tool that follows the root NS set need not
    look the names up elsewhere. Other NS answers are left as they are."""
    d = daemon(hints=HINTS)
    d.dig("www.example.com")          # the primed roots, and a cached NS set
    a = d.dig(".", "NS", *flags)
    assert a.status == "NOERROR", a
    ns = sorted(r.rstrip(".") + "." for r in a.rdatas("NS"))
    assert ns == ["a.root-servers.net.", "b.root-servers.net."], a
    glue = sorted((r[0], r[4]) for r in a.rrs("ADDITIONAL") if r[3] == "A")
    assert glue == [("a.root-servers.net.", lab_addr("0.1")),
                    ("b.root-servers.net.", lab_addr("0.2"))], a
    # a cache hit for another NS set keeps its additional section empty
    other = d.dig("example.com", "NS", "+rec")
    assert other.rdatas("NS") and not [r for r in other.rrs("ADDITIONAL")
                                       if r[3] in ("A", "AAAA")], other


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs root and unshare")
def test_dig_trace_whatever_the_system_resolver(daemon, lab, tmp_path):
    """`dig +trace` through resolverd on a machine whose resolver does not
    answer (resolv.conf bind-mounted in a private mount namespace, naming
    the lab's black hole: nothing leaves the machine). Plain dig cannot:
    it looks up the address of every server it is referred to, the root
    servers first, through the system's resolver (never from the glue of
    the answers, which resolverd gives it: . NS with the roots' addresses).
    tools/demo/dig, as make demo prints it, can: it makes resolverd the
    system's resolver for dig alone, so the walk works offline."""
    d = daemon(hints=HINTS, start=False)
    addr = lab_addr("254.55")
    d.conf.write_text(d.conf.read_text().replace(
        f"127.0.0.1@{d.port}", f"127.0.0.1@{d.port}\n  - {addr}@53"))
    d.start()
    rc = tmp_path / "resolv.conf"
    rc.write_text(f"nameserver {BLACKHOLE}\noptions timeout:1 attempts:1\n")
    env = dict(os.environ, LAB_NET=NET, DEMO_RESOLVER=addr)
    demo_dig = ROOT / "tools" / "demo" / "dig"
    script = (f"mount --bind {rc} /etc/resolv.conf && "
              f"{{ dig @{addr} +trace +tries=1 www.leaf.sub.deep.test; echo PLAIN=$?; }} && "
              f"echo ---- && {demo_dig} +trace +tries=1 www.leaf.sub.deep.test")
    p = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env,
                       capture_output=True, text=True, timeout=90)
    plain, demo = p.stdout.split("----\n")
    # resolverd gave it the root NS set and their addresses; dig asked the
    # system's resolver for them all the same, and got nothing
    assert re.search(r"^\.\s+\d+\s+IN\s+NS\s+a\.root-servers\.net\.", plain, re.M), plain
    assert "couldn't get address for 'a.root-servers.net'" in plain + p.stderr, plain
    assert p.returncode == 0, p.stdout + p.stderr
    for cut in ("test.", "deep.test.", "sub.deep.test.", "leaf.sub.deep.test."):
        assert re.search(rf"^{re.escape(cut)}\s+\d+\s+IN\s+NS\s", demo, re.M), demo
    assert re.search(rf"^www\.leaf\.sub\.deep\.test\.\s+\d+\s+IN\s+A\s+{NET_RE}\.200\.4",
                     demo, re.M), demo
    assert re.search(rf"Received \d+ bytes from {NET_RE}\.13\.3#53\(ns1\.leaf\.sub\.deep\.test\)",
                     demo), demo


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.skipif(shutil.which("dnsperf") is None, reason="no dnsperf")
def test_full_cache_stays_bounded(daemon, lab, tmp_path):
    """A 1 MiB cache and 60,000 different names: it keeps answering and its
    memory does not grow with the names."""
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + \
        ":quarantine_size_mb=1:malloc_context_size=2"
    try:
        d = daemon(hints=HINTS, config_extra="cache:\n  size: 1M\n")
    finally:
        os.environ["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"].replace(
            ":quarantine_size_mb=1:malloc_context_size=2", "")
    q = tmp_path / "q.txt"

    def burst(lo, hi):
        q.write_text("".join(f"n{i}.bulk.test A\n" for i in range(lo, hi)))
        subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(d.port), "-d",
                        str(q), "-n", "1", "-q", "200", "-t", "5"],
                       capture_output=True, timeout=300)

    burst(0, 10000)
    base = rss_kb(d.proc.pid)
    burst(10000, 60000)
    after = rss_kb(d.proc.pid)
    assert d.proc.poll() is None
    assert d.dig("www.example.com", "A").status == "NOERROR"
    # 50,000 more cached names would take well over 10 MB; bounded, they don't
    assert after - base < 8 * 1024, (base, after)


@pytest.mark.skipif(shutil.which("dnsperf") is None, reason="no dnsperf")
def test_survives_mixed_random_queries(daemon, lab, tmp_path):
    """60 s of mixed queries from dnsperf (a bounded run, not a benchmark)."""
    d = daemon(hints=HINTS)
    names = ["www.example.com A", "www.example.com AAAA", "example.com MX",
             "c1.example.com A", "cross.example.com A", "loop1.example.com A",
             "nope.example.com A", "mail.example.com AAAA", "x.wild.example.com A",
             "www.glueless.test A", "www.leaf.sub.deep.test A", "www.lame.test A",
             "www.slow.test A", "big.example.com TXT", "short.example.com A",
             "poison.evil.test A", "wrongid.evil.test A", "garbage.evil.test A",
             f"1.200.{REV_ZONE} PTR", "nothing.test A", "example.com ANY"]
    names += [f"r{i}.example.com A" for i in range(200)]
    names += [f"n{i}.bulk.test A" for i in range(0, 100000, 97)]
    q = tmp_path / "mixed.txt"
    q.write_text("\n".join(names) + "\n")
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(d.port), "-d",
                        str(q), "-l", "60", "-Q", "300", "-q", "100", "-t", "5"],
                       capture_output=True, text=True, timeout=120)
    assert "Queries completed" in p.stdout, p.stdout + p.stderr
    assert d.proc.poll() is None, d.logtext()[-3000:]
    assert d.dig("www.example.com", "A").status == "NOERROR"
    assert d.stop() == 0
    assert "Sanitizer" not in d.logtext()


def test_query_log_lines(daemon, lab):
    d = daemon(hints=HINTS, start=False)
    d.conf.write_text(d.conf.read_text().replace(
        "  dest: stderr\n", "  dest: stderr\n  queries: true\n"))
    d.start()
    assert d.dig("www.example.com", "A").status == "NOERROR"
    assert d.dig("www.example.com", "A").status == "NOERROR"
    assert d.dig("nope.example.com", "A").status == "NXDOMAIN"
    log = d.logtext()
    assert re.search(r"query 127\.0\.0\.1 www\.example\.com\. A NOERROR miss \d+ ms", log), log
    assert re.search(r"query 127\.0\.0\.1 www\.example\.com\. A NOERROR hit", log), log
    assert re.search(r"query 127\.0\.0\.1 nope\.example\.com\. A NXDOMAIN miss", log), log


@pytest.mark.skipif(shutil.which("dnsperf") is None, reason="no dnsperf")
def test_several_workers(daemon, lab, tmp_path):
    """workers: 2: two loops with their own SO_REUSEPORT sockets and one
    shared cache; a reload reaches both; SIGTERM stops both cleanly."""
    d = daemon(hints=HINTS, start=False)
    d.conf.write_text(d.conf.read_text().replace("workers: 1", "workers: 2")
                      .replace("  dest: stderr\n",
                               "  dest: stderr\n  queries: true\n"))
    d.start()
    assert "(2 workers)" in d.logtext()
    assert d.dig("www.example.com", "A").status == "NOERROR"
    q = tmp_path / "q.txt"
    q.write_text("".join(f"www.example.com A\nn{i}.bulk.test A\n"
                         for i in range(300)))
    p = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(d.port),
                        "-d", str(q), "-l", "3", "-c", "8", "-Q", "2000",
                        "-t", "5"], capture_output=True, text=True, timeout=60)
    m = re.search(r"Queries completed:\s+(\d+)", p.stdout)
    assert m and int(m.group(1)) > 1000, p.stdout
    # the same question from many clients at once reaches both workers:
    # one resolves it, the other parks its clients and answers them from
    # the shared cache ("joined" in the query log)
    q2 = tmp_path / "same.txt"
    q2.write_text("".join(f"n{i}.bulk.test AAAA\n" * 16
                          for i in range(1000, 1400)))
    conf = d.conf.read_text()
    subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(d.port), "-d",
                    str(q2), "-n", "1", "-c", "16", "-q", "64", "-t", "5"],
                   capture_output=True, timeout=120)
    assert conf == d.conf.read_text()
    d.signal(__import__("signal").SIGHUP)
    deadline = time.monotonic() + 5
    while "reloaded configuration" not in d.logtext():
        assert time.monotonic() < deadline, d.logtext()
        time.sleep(0.05)
    assert d.dig("www.example.org", "A").status == "NOERROR"
    assert d.stop() == 0
    assert "Sanitizer" not in d.logtext()
    assert " joined " in d.logtext()
