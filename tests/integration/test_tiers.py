"""The cache-tier lab: browser -> os -> router -> isp in one resolverd,
chained over loopback; and a real dnsmasq standing in for the router."""
import re
import shutil
import subprocess
import time

import pytest

from conftest import HINTS, free_port, NET, lab_addr

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
    assert a.status == "NOERROR" and a.rdatas("A") == [lab_addr("200.1")], a
    lines = log_lines(d, n)
    for tier in ("browser", "os", "router", "isp"):
        assert outcome(lines, tier) == "miss", lines
    assert ttl(a) <= 2                       # the browser's cap

    # 2. second query: the browser answers from its own cache
    n = len(d.logtext().splitlines())
    b = ask(d, browser)
    assert b.rdatas("A") == [lab_addr("200.1")]
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
        assert a.rdatas("A") == [lab_addr("200.1")]
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


# ---- the tier-aware tools: resolverctl trace, stats, dump, flush, load

def tier_lines(out, when):
    """{tier: (hit, ttl, orig_ttl)} from a text trace's "tiers WHEN" block."""
    block = out.split(f"tiers {when}, from ")[1].split("\n", 1)[1]
    res = {}
    for ln in block.splitlines():
        m = re.match(r"  (\w+)\s+127\.0\.0\.1@\d+\s+(hit|miss)"
                     r"(?:: \w+, (\d+) s left of (\d+))?", ln)
        if not m:
            break
        res[m.group(1)] = (m.group(2) == "hit",
                           int(m.group(3)) if m.group(3) else None,
                           int(m.group(4)) if m.group(4) else None)
    return res


def stats_table(d):
    rows = {}
    out = d.ctl_run("stats").stdout.splitlines()
    tiers = out[0].split()
    for ln in out[1:]:
        name, *vals = ln.split()
        rows[name] = dict(zip(tiers, map(int, vals)))
    return rows


def test_trace_through_the_tiers(daemon):
    """The walkthrough driven by resolverctl: trace shows, tier by tier, hit
    or miss with what is left of the TTL, and the walk from the root when
    the isp misses; stats count per tier; dump labels every entry; a flush
    of one tier sends the next question down to the next tier."""
    d, ports = start_tiers(daemon, browser_ttl=2)
    tiers = ["browser", "os", "router", "isp"]

    # 1. every tier misses; the isp walks root -> TLD -> zone; the answer
    #    travels up and every tier stores it, the browser under its cap
    out = d.ctl_run("trace", NAME).stdout
    before = tier_lines(out, "before")
    assert list(before) == tiers, out
    assert not any(hit for hit, _, _ in before.values()), out
    walk = out.split("the last tier walks from the root:")[1]
    for server in (f"{NET}.0.", f"{NET}.1.", f"{NET}.10."):
        assert f"({server}" in walk, out
    chain = out.split("the question through the chain:")[1]
    assert "ask forwarder. (127.0.0.1@%d)" % ports[1] in chain, out
    after = tier_lines(out, "after")
    assert all(hit for hit, _, _ in after.values()), out
    assert after["browser"][2] == 2 and after["browser"][1] <= 2, out
    assert after["isp"][2] == 300, out
    for hit, left, orig in after.values():
        assert left <= orig, out

    # stats per tier: each forwarding tier missed once and forwarded once
    st = stats_table(d)
    for t in ("os", "router"):
        assert st["cache.misses"][t] == 1, st
        assert st["upstream.forwarded"][t] == 1, st
    assert st["upstream.forwarded"]["browser"] == 1, st
    assert st["upstream.forwarded"]["isp"] == 0, st
    assert st["upstream.queries"]["isp"] >= 3, st

    # 2. the same question again: the browser has it, nobody else is asked
    out = d.ctl_run("trace", NAME).stdout
    assert tier_lines(out, "before")["browser"][0], out
    assert "0 upstream queries" in out.split("through the chain:")[1], out
    assert "walks from the root" not in out, out
    st2 = stats_table(d)
    assert st2["queries"]["os"] == st["queries"]["os"], (st, st2)

    # 3. after the browser's cap: browser misses, os hits with an older TTL
    time.sleep(2.2)
    out = d.ctl_run("trace", NAME).stdout
    before = tier_lines(out, "before")
    assert not before["browser"][0] and before["os"][0], out
    assert before["os"][1] < 300, out
    assert "walks from the root" not in out, out
    st3 = stats_table(d)
    assert st3["cache.hits"]["os"] == st2["cache.hits"]["os"] + 1, st3
    assert st3["queries"]["router"] == st2["queries"]["router"], st3

    # dump: all tiers by default, every entry labelled with its tier, and
    # no tier holds the name longer than its cap or than its upstream does
    dump = d.ctl_run("dump", "--name", NAME, "--type", "A").stdout
    held = {}
    for ln in dump.splitlines():
        if ln.startswith(";"):
            continue
        m = re.search(r"\t(\d+)\tIN\tA\t.*orig_ttl=(\d+) .* tier=(\w+)$", ln)
        assert m, ln
        held[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    assert set(held) == set(tiers), dump
    assert held["browser"][0] <= 2 and held["browser"][1] == 2, dump
    assert held["os"][0] <= held["router"][0] + 1, dump
    assert held["router"][0] <= held["isp"][0] + 1, dump
    one = d.ctl_run("dump", "--tier", "os", "--name", NAME).stdout
    assert "tier=os" in one and "tier=isp" not in one, one

    # 4. flush the os and browser tiers: the next question goes down to
    #    the router, which still has it
    assert "removed 1 entry from os" in d.ctl_run(
        "flush", NAME, "A", "--tier", "os").stdout
    d.ctl_run("flush", NAME, "A", "--tier", "browser")
    out = d.ctl_run("trace", NAME).stdout
    before = tier_lines(out, "before")
    assert [before[t][0] for t in tiers] == [False, False, True, True], out
    after = tier_lines(out, "after")
    assert after["os"][1] <= after["router"][1], out

    # flush without --tier empties every tier
    out = d.ctl_run("flush", NAME).stdout
    assert re.match(r"removed \d+ entries: browser 1, os 1, router 1, "
                    r"isp 1", out), out


def test_tier_dump_loads_back_into_each_tier(daemon, tmp_path):
    d, ports = start_tiers(daemon, browser_ttl=60)
    ask(d, ports[0])
    dump = d.ctl_run("dump").stdout
    path = tmp_path / "tiers.dump"
    path.write_text(dump)
    d.ctl_run("flush", "--all")
    out = d.ctl_run("load", str(path)).stdout
    assert re.search(r"into browser \(\d+\), os \(\d+\), router \(\d+\), "
                     r"isp \(\d+\)", out), out
    again = d.ctl_run("dump", "--name", NAME, "--type", "A").stdout
    labels = [re.search(r" tier=(\w+)$", ln).group(1)
              for ln in again.splitlines() if not ln.startswith(";")]
    assert sorted(labels) == ["browser", "isp", "os", "router"], again


def test_trace_tiers_json_and_cold(daemon):
    import json
    d, ports = start_tiers(daemon, browser_ttl=60)
    lines = [json.loads(ln) for ln in
             d.ctl_run("trace", NAME, "--json").stdout.splitlines()]
    tiers = [o for o in lines if "when" in o]
    assert [(o["tier"], o["when"], o["hit"]) for o in tiers[:4]] == [
        ("browser", "before", False), ("os", "before", False),
        ("router", "before", False), ("isp", "before", False)], tiers
    assert all(o["hit"] and o["ttl"] <= o["orig_ttl"] for o in tiers[4:]), tiers
    assert {"walk": "isp", "phase": "root"} in lines, lines
    # --cold walks from the root on an empty cache and touches no tier
    d.ctl_run("flush", "--all")
    out = d.ctl_run("trace", NAME, "--cold").stdout
    assert "--cold" in out and "tiers before" not in out, out
    assert f"({NET}.0." in out, out
    assert "removed 0 entries" in d.ctl_run("flush", NAME, "A").stdout


# ---- tiers as a tree: count, fanout, instances

def tree_config(base, os_ports):
    """4 browsers (ports base..base+3), 2 per os instance; 2 os instances
    on the ports listed; one isp."""
    return (
        "tiers:\n"
        "  - name: browser\n    profile: browser\n    count: 4\n"
        f"    fanout: 2\n    listen: [127.0.0.1@{base}]\n"
        "    cache: {max_ttl: 60}\n"
        "  - name: os\n    profile: os\n    count: 2\n"
        f"    listen: [127.0.0.1@{os_ports[0]}, 127.0.0.1@{os_ports[1]}]\n"
        "  - name: isp\n    profile: isp\n"
        f"    listen: [127.0.0.1@{os_ports[2]}]\n")


def free_run(n):
    """n consecutive free ports."""
    for _ in range(50):
        base = free_port()
        if base + n < 65535 and all(port_free(base + k) for k in range(n)):
            return base
    raise AssertionError("no run of free ports")


def port_free(port):
    import socket
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def stats_json(d, *args):
    import json
    return {o["tier"]: o for o in map(
        json.loads, d.ctl_run("stats", "--json", *args).stdout.splitlines())}


def test_tree_of_instances(daemon):
    """browser-1..4 -> os-1, os-2 (fanout 2) -> isp: each instance its own
    cache and address; stats, dump, flush and trace per instance
    (--tier browser-3) and summed per tier (--tier browser)."""
    d = daemon(hints=HINTS, start=False)
    base = free_run(4)
    os_ports = [free_port(), free_port(), free_port()]
    conf = d.conf.read_text().replace("  dest: stderr\n",
                                      "  dest: stderr\n  queries: true\n")
    d.conf.write_text(conf + tree_config(base, os_ports))
    d.port = base
    d.start()

    tiers = d.ctl_run("tiers").stdout.splitlines()
    assert tiers == [
        f"browser-1 127.0.0.1@{base} -> os-1",
        f"browser-2 127.0.0.1@{base + 1} -> os-1",
        f"browser-3 127.0.0.1@{base + 2} -> os-2",
        f"browser-4 127.0.0.1@{base + 3} -> os-2",
        f"os-1 127.0.0.1@{os_ports[0]} -> isp",
        f"os-2 127.0.0.1@{os_ports[1]} -> isp",
        f"isp 127.0.0.1@{os_ports[2]} -> root"], tiers

    # each browser asks once: each misses; each os misses for its first
    # browser and answers its second from its cache; the isp is asked
    # once per os and walks once
    for k in range(4):
        a = ask(d, base + k)
        assert a.status == "NOERROR" and a.rdatas("A") == [lab_addr("200.1")], a
    st = stats_json(d)
    assert list(st) == ["browser", "os", "isp"], st
    assert st["browser"]["instances"] == 4 and st["os"]["instances"] == 2
    assert "instances" not in st["isp"]
    assert (st["browser"]["queries"], st["browser"]["cache.hits"]) == (4, 0), st
    assert st["browser"]["upstream.forwarded"] == 4, st
    assert (st["os"]["queries"], st["os"]["cache.hits"]) == (4, 2), st
    assert st["os"]["upstream.forwarded"] == 2, st
    assert (st["isp"]["queries"], st["isp"]["cache.hits"]) == (2, 1), st
    assert st["isp"]["resolutions"] == 1, st
    each = stats_json(d, "--instances")
    assert [each[f"browser-{k}"]["queries"] for k in (1, 2, 3, 4)] == [1] * 4
    assert [each[f"os-{k}"]["queries"] for k in (1, 2)] == [2, 2]
    one = d.ctl_run("stats", "--tier", "browser-3").stdout
    assert re.search(r"(?m)^queries +1$", one), one
    summed = d.ctl_run("stats", "--tier", "browser").stdout
    assert re.search(r"(?m)^queries +4$", summed), summed
    table = stats_table(d)
    assert table["queries"] == {"browser": 4, "os": 4, "isp": 2}, table

    # dump: every instance labelled; --tier os: both os instances only
    dump = d.ctl_run("dump", "--tier", "os", "--name", NAME, "--type",
                     "A").stdout
    labels = sorted(re.findall(r"(?m)^[^;].* tier=(\S+)$", dump))
    assert labels == ["os-1", "os-2"], dump

    # trace from browser-3: through os-2 (its parent), not os-1
    out = d.ctl_run("trace", "www.example.org", "--tier", "browser-3").stdout
    assert "tiers before, from browser-3 down:" in out, out
    before = out.split("tiers before, from ")[1].split("\n", 1)[1]
    path = re.findall(r"(?m)^  (\S+)\s+127\.0\.0\.1@(\d+)", before)[:3]
    assert path == [("browser-3", str(base + 2)), ("os-2", str(os_ports[1])),
                    ("isp", str(os_ports[2]))], out
    after = out.split("tiers after, from ")[1]
    assert re.search(r"(?m)^  os-2 .* hit", after), out
    from conftest import dig
    assert dig("127.0.0.1", os_ports[0], "+norec", "www.example.org"
               ).rdatas("A") == [], "os-1 was not asked"

    # flush: a tier of several, summed; then every tier
    out = d.ctl_run("flush", NAME, "A", "--tier", "browser").stdout
    assert out == "removed 4 entries from browser (4 instances)\n", out
    out = d.ctl_run("flush", NAME).stdout
    assert re.match(r"removed 3 entries: browser 0, os 2, isp 1$", out), out
    r = d.ctl_run("stats", "--tier", "browser-9", check=False)
    assert r.returncode == 1 and "no tier or tier instance named" in r.stderr


def test_tree_reload_keeps_instances_and_refuses_a_new_count(daemon):
    d = daemon(hints=HINTS, start=False)
    base = free_run(4)
    os_ports = [free_port(), free_port(), free_port()]
    d.conf.write_text(d.conf.read_text() + tree_config(base, os_ports))
    d.port = base
    d.start()
    assert ask(d, base + 3).status == "NOERROR"
    # a new cache policy is taken; a new count needs a restart
    d.conf.write_text(d.conf.read_text().replace("max_ttl: 60", "max_ttl: 5"))
    d.ctl_run("reload")
    time.sleep(0.5)
    d.conf.write_text(d.conf.read_text().replace("count: 4", "count: 3"))
    d.ctl_run("reload")
    deadline = time.monotonic() + 10
    while "count or fanout" not in d.logtext() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "the tiers changed (names, number, count or fanout)" in d.logtext()
    from conftest import dig
    a = dig("127.0.0.1", base + 3, "www.example.org", "A")
    assert a.status == "NOERROR" and ttl(a) <= 5, a
    assert len(d.ctl_run("tiers").stdout.splitlines()) == 7


def test_tree_with_worker_threads_sums_each_instance(daemon):
    """workers: 2: every instance has a copy on the second thread (its own
    sockets, the same cache); stats add the copies of one instance up, and
    only those."""
    d = daemon(hints=HINTS, start=False)
    base = free_run(4)
    os_ports = [free_port(), free_port(), free_port()]
    conf = d.conf.read_text().replace("workers: 1\n", "workers: 2\n")
    d.conf.write_text(conf + tree_config(base, os_ports))
    d.port = base
    d.start()
    for k in range(4):
        for _ in range(3):
            assert ask(d, base + k).status == "NOERROR"
    each = stats_json(d, "--instances")
    assert [each[f"browser-{k}"]["queries"] for k in (1, 2, 3, 4)] == [3] * 4, each
    assert [each[f"browser-{k}"]["cache.hits"] for k in (1, 2, 3, 4)] == [2] * 4, each
    assert [each[f"os-{k}"]["queries"] for k in (1, 2)] == [2, 2], each
    st = stats_json(d)
    assert st["browser"]["queries"] == 12 and st["os"]["queries"] == 4, st
    assert st["isp"]["queries"] == 2 and st["isp"]["resolutions"] == 1, st
