"""The HTTP listener (http.listen): GET /metrics in the Prometheus text
format, read by promtool and by a real Prometheus server; GET /healthz;
404 and 405; 403 outside http.access; an address already taken.

No lab: the cache is filled with `resolverctl load`, so the hits are
known, and every miss fails fast on the black-hole root hints (SERVFAIL,
EDE 22). Prometheus runs on loopback, on a free port, with its storage in
the test's temporary directory, and is stopped by the test."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None,
                                reason="prometheus not installed "
                                       "(tools/deps.sh installs it)")

DUMP = (";; resolverd-dump 1 time={now} (now) tier=main\n"
        "hit1.test.\t3600\tIN\tA\t192.0.2.1\t; kind=answer rank=5 "
        "orig_ttl=3600\n"
        "hit2.test.\t3600\tIN\tA\t192.0.2.2\t; kind=answer rank=5 "
        "orig_ttl=3600\n")


def get(port, path, method="GET", timeout=10):
    """(status, body) of one request to 127.0.0.1:port."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse(text):
    """{'name{labels}': value} of a metrics page, labels as printed."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def http_daemon(daemon, extra="", workers=1):
    port = free_port()
    d = daemon(config_extra=f"http:\n  listen: [127.0.0.1@{port}]\n" + extra,
               start=False)
    d.conf.write_text(d.conf.read_text().replace(
        "workers: 1\n", f"workers: {workers}\n"))
    d.http = port
    return d.start()


def known_traffic(d, hits_after=0):
    """Two cached names asked once each (hits), three uncached (misses,
    SERVFAIL EDE 22), then @hits_after more hits."""
    dump = d.dir / "cache.dump"
    dump.write_text(DUMP.format(now=int(time.time() * 1000)))
    d.ctl_run("load", str(dump))
    for name in ("hit1.test", "hit2.test"):
        a = d.dig(name, "A")
        assert a.status == "NOERROR", a
    for i in range(3):
        a = d.dig(f"miss{i}.test", "A")
        assert a.status == "SERVFAIL", a
        assert any(e.startswith("22 ") or "(No Reachable Authority)" in e
                   for e in a.ede), a
    for i in range(hits_after):
        assert d.dig("hit1.test", "A").status == "NOERROR"


def test_metrics_after_known_traffic(daemon, tmp_path):
    d = http_daemon(daemon)
    # 59 more hits: the 64th query is a hit, the one sampled for timing
    known_traffic(d, hits_after=59)
    status, text = get(d.http, "/metrics")
    assert status == 200
    m = parse(text)
    t = 'tier="main"'
    assert m[f'resolverd_cache_hits_total{{{t}}}'] == 61
    assert m[f'resolverd_cache_misses_total{{{t}}}'] == 3
    assert m[f'resolverd_queries_total{{{t},transport="udp",'
             'rcode="NOERROR"}'] == 61
    assert m[f'resolverd_queries_total{{{t},transport="udp",'
             'rcode="SERVFAIL"}'] == 3
    assert m[f'resolverd_queries_total{{{t},transport="tcp",'
             'rcode="NOERROR"}'] == 0
    assert m[f'resolverd_queries_received_total{{{t},transport="udp"}}'] \
        == 64
    assert m[f'resolverd_ede_total{{{t},code="22"}}'] == 3
    assert m[f'resolverd_cache_entries{{{t}}}'] >= 2
    assert m[f'resolverd_cache_bytes{{{t}}}'] > 0
    assert m[f'resolverd_upstream_queries_total{{{t}}}'] >= 0
    for res in ("secure", "insecure", "bogus"):
        assert m[f'resolverd_validation_total{{{t},result="{res}"}}'] == 0
    for lim in ("max_sends", "max_glueless", "max_cname", "max_depth",
                "max_time_ms", "other"):
        assert m[f'resolverd_limit_hits_total{{{t},limit="{lim}"}}'] == 0
    h = "resolverd_answer_duration_seconds"
    assert m[f'{h}_count{{{t},cache="miss"}}'] == 3
    assert m[f'{h}_bucket{{{t},cache="miss",le="+Inf"}}'] == 3
    assert m[f'{h}_count{{{t},cache="hit"}}'] == 1
    assert 0 < m[f'{h}_sum{{{t},cache="hit"}}'] < 1
    assert m['resolverd_build_info{version="0.1.0"}'] == 1
    # every family has HELP and TYPE; counters end in _total
    for fam, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        assert f"# HELP {fam} " in text
        assert fam.startswith("resolverd_")
        assert (kind == "counter") == fam.endswith("_total"), fam
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "" and p.stderr.strip() == "", p.stderr
    # TCP answers are counted as TCP
    a = d.dig("+tcp", "hit2.test", "A")
    assert a.status == "NOERROR", a
    m = parse(get(d.http, "/metrics")[1])
    assert m[f'resolverd_queries_total{{{t},transport="tcp",'
             'rcode="NOERROR"}'] == 1
    assert m[f'resolverd_queries_total{{{t},transport="udp",'
             'rcode="NOERROR"}'] == 61
    assert d.stop() == 0


def test_healthz_and_other_paths(daemon):
    d = http_daemon(daemon, workers=2)
    assert get(d.http, "/healthz") == (200, "ok\n")
    assert get(d.http, "/")[0] == 200            # the page (test_page.py)
    assert get(d.http, "/nope")[0] == 404
    assert get(d.http, "/metrics/x")[0] == 404
    assert get(d.http, "/healthz", method="POST")[0] == 405
    assert "http listener on 127.0.0.1@%d" % d.http in d.logtext()
    assert d.stop() == 0
    # the listener is gone with the daemon
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", d.http), 1).close()


def test_access_refused_outside_http_access(daemon):
    d = http_daemon(daemon, "  access: [192.0.2.0/24, \"2001:db8::/32\"]\n")
    status, body = get(d.http, "/metrics")
    assert status == 403, body
    assert get(d.http, "/healthz")[0] == 403
    # the DNS side is not affected by http.access
    assert d.dig("hit1.test", "A").status == "SERVFAIL"
    assert d.stop() == 0


def test_reload_changes_http_access(daemon):
    d = http_daemon(daemon)
    assert get(d.http, "/healthz")[0] == 200
    d.conf.write_text(d.conf.read_text() + "  access: [192.0.2.0/24]\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while get(d.http, "/healthz")[0] != 403:
        assert time.monotonic() < deadline, d.logtext()
        time.sleep(0.1)
    assert d.stop() == 0


def test_http_address_in_use(daemon):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        d = daemon(config_extra=f"http:\n  listen: [127.0.0.1@{port}]\n",
                   start=False)
        d.start(wait=False)
        assert d.proc.wait(30) == 1
        log = d.logtext()
        assert (f"http.listen 127.0.0.1@{port}: already in use by a "
                f"process (pid {os.getpid()}") in log, log
        assert " started: " not in log


@pytest.fixture
def prometheus(tmp_path):
    """Start Prometheus scraping the given port every second; yield its
    query function; stop it."""
    procs = []

    def start(target_port):
        port = free_port()
        conf = tmp_path / "prometheus.yml"
        conf.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: resolverd\n"
            f"    static_configs:\n      - targets: "
            f"['127.0.0.1:{target_port}']\n")
        log = open(tmp_path / "prometheus.log", "wb")
        p = subprocess.Popen(
            ["prometheus", f"--config.file={conf}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}",
             "--storage.tsdb.retention.time=1h"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        procs.append((p, log))

        def query(expr):
            url = (f"http://127.0.0.1:{port}/api/v1/query?" +
                   urllib.parse.urlencode({"query": expr}))
            with urllib.request.urlopen(url, timeout=5) as r:
                data = json.load(r)
            assert data["status"] == "success", data
            return [(x["metric"], float(x["value"][1]))
                    for x in data["data"]["result"]]
        return query

    yield start
    for p, log in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
        log.close()


def wait_value(query, expr, want, timeout=60):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        try:
            got = query(expr)
        except (OSError, urllib.error.URLError):
            got = None
        if got and len(got) == 1 and got[0][1] == want:
            return got[0][0]
        time.sleep(0.5)
    raise AssertionError(f"{expr}: want {want}, last answer {got}")


def test_prometheus_scrapes_metrics(daemon, prometheus, tmp_path):
    d = http_daemon(daemon)
    query = prometheus(d.http)
    wait_value(query, 'up{job="resolverd"}', 1)
    known_traffic(d)
    labels = wait_value(query, "resolverd_cache_hits_total", 2)
    assert labels["tier"] == "main" and labels["job"] == "resolverd"
    wait_value(query, "resolverd_cache_misses_total", 3)
    wait_value(query, 'resolverd_queries_total{transport="udp",'
                      'rcode="SERVFAIL"}', 3)
    wait_value(query, 'resolverd_ede_total{code="22"}', 3)
    wait_value(query, 'sum(resolverd_answer_duration_seconds_count'
                      '{cache="miss"})', 3)
    assert d.stop() == 0
