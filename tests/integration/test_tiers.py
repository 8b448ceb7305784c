"""The cache-tier lab: browser -> os -> router -> isp in one resolverd,
chained over loopback; and a real dnsmasq standing in for the router."""
import re
import shutil
import subprocess
import time

import pytest

from conftest import HINTS, free_port

pytestmark = pytest.mark.usefixtures("lab")
NAME = "www.example.com"


def tier_config(ports, browser_ttl=2, router_upstream=None, skip_router=False):
    names = ["browser", "os", "router", "isp"]
    out = "tiers:\n"
    for name, port in zip(names, ports):
        if skip_router and name == "router":
            continue
        out += f"  - name: {name}\n    profile: {name}\n"
        out += f"    listen: [127.0.0.1@{port}]\n"
        if name == "browser":
            out += f"    cache: {{max_ttl: {browser_ttl}}}\n"
        if name == "os" and router_upstream:
            out += f"    upstream: {router_upstream}\n"
    return out


def start_tiers(daemon, extra_ports=3, **kw):
    d = daemon(hints=HINTS, start=False)
    ports = [d.port] + [free_port() for _ in range(extra_ports)]
    conf = d.conf.read_text().replace("  dest: stderr\n",
                                      "  dest: stderr\n  queries: true\n")
    d.conf.write_text(conf + tier_config(ports, **kw))
    d.start()
    return d, ports


def ask(d, port, *args):
    from conftest import dig
    return dig("127.0.0.1", port, NAME, "A", *args)


def ttl(ans):
    rrs = [r for r in ans.rrs() if r[3] == "A"]
    return int(rrs[0][1]) if rrs else None


def log_lines(d, since):
    return d.logtext().splitlines()[since:]


def outcome(lines, tier):
    """hit or miss for the last query logged by @tier."""
    found = [ln for ln in lines if f"tier {tier}: query" in ln and NAME in ln]
    assert found, lines
    return re.search(r" (hit|miss|norec) ", found[-1]).group(1)


def test_walkthrough(daemon):
    d, ports = start_tiers(daemon, browser_ttl=2)
    browser, os_, router, isp = ports

    # 1. first query: every tier misses, the isp walks root -> TLD -> zone
    n = len(d.logtext().splitlines())
    a = ask(d, browser)
    assert a.status == "NOERROR" and a.rdatas("A") == ["127.53.200.1"], a
    lines = log_lines(d, n)
    for tier in ("browser", "os", "router", "isp"):
        assert outcome(lines, tier) == "miss", lines
    assert ttl(a) <= 2                       # the browser's cap

    # 2. second query: the browser answers from its own cache
    n = len(d.logtext().splitlines())
    b = ask(d, browser)
    assert b.rdatas("A") == ["127.53.200.1"]
    lines = log_lines(d, n)
    assert outcome(lines, "browser") == "hit", lines
    assert not any("tier os: query" in ln for ln in lines), lines

    # 3. after the browser's cap: browser misses, the os tier answers with
    #    an older TTL than it was given
    time.sleep(2.2)
    n = len(d.logtext().splitlines())
    c = ask(d, browser)
    lines = log_lines(d, n)
    assert outcome(lines, "browser") == "miss", lines
    assert outcome(lines, "os") == "hit", lines
    assert not any("tier router: query" in ln for ln in lines), lines
    os_ttl = ttl(ask(d, os_, "+norec"))
    assert os_ttl is not None and os_ttl < 300

    # consistency: no tier serves past its cap, none holds an entry longer
    # than the TTL its upstream gave it (ceil rounding: 1 s of slack)
    held = {p: ttl(ask(d, p, "+norec")) for p in ports}
    assert held[browser] <= 2
    assert held[os_] <= held[router] + 1
    assert held[router] <= held[isp] + 1
    assert held[isp] <= 300


def test_tier_that_cannot_reach_its_upstream_says_so(daemon):
    d = daemon(hints=HINTS, start=False)
    dead = free_port()
    d.conf.write_text(d.conf.read_text() + (
        "tiers:\n"
        f"  - name: browser\n    listen: [127.0.0.1@{d.port}]\n"
        f"    upstream: 127.0.0.1@{dead}\n"))
    d.start()
    a = ask(d, d.port)
    assert a.status == "SERVFAIL", a
    assert any("no reachable forwarder" in e for e in a.ede), a


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="no dnsmasq")
def test_real_dnsmasq_as_the_router(daemon, tmp_path):
    """browser -> os -> dnsmasq -> isp: the chain still works, and the tiers
    around dnsmasq hold the TTLs it passed on."""
    d = daemon(hints=HINTS, start=False)
    browser = d.port
    os_, router, isp = free_port(), free_port(), free_port()
    pidfile = tmp_path / "dnsmasq.pid"
    dm = subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
         f"--port={router}", "--listen-address=127.0.0.1",
         "--bind-interfaces", "--no-resolv", "--no-hosts", "--no-poll",
         f"--server=127.0.0.1#{isp}", "--cache-size=150", "--user=root",
         f"--pid-file={pidfile}", "--log-facility=-"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conf = d.conf.read_text().replace("  dest: stderr\n",
                                          "  dest: stderr\n  queries: true\n")
        d.conf.write_text(conf + tier_config(
            [browser, os_, router, isp], browser_ttl=60,
            router_upstream=f"127.0.0.1@{router}", skip_router=True))
        d.start()
        a = ask(d, browser)
        assert a.status == "NOERROR", a
        assert a.rdatas("A") == ["127.53.200.1"]
        log = d.logtext()
        assert "tier isp: query" in log and "tier os: query" in log
        # dnsmasq passed the isp's TTL on; the os tier holds no more than it
        time.sleep(1.1)
        held_os = ttl(ask(d, os_, "+norec"))
        held_isp = ttl(ask(d, isp, "+norec"))
        via_dnsmasq = ttl(ask(d, router))
        assert held_os is not None and held_isp is not None
        assert held_os <= held_isp + 1
        assert via_dnsmasq <= held_isp + 1
        assert held_isp < 300
    finally:
        dm.terminate()
        dm.wait(10)
