"""tools/tierstudy: a small study (a few hundred queries through a tree of
tiers to the lab's study zone) whose report is checked against exact
counts: every client query answered by some tier or counted by the
authoritative server, and each tier's sums adding up."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.usefixtures("lab")
TOOL = ROOT / "tools" / "tierstudy" / "tierstudy"
TIERS = ["browser", "os", "router", "isp"]


def study(tmp_path, *args, timeout=120):
    out = tmp_path / "study"
    p = subprocess.run([sys.executable, str(TOOL), "--out", str(out), "--no-plots", *args],
                       capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ))
    return p, out


def small(tmp_path, *extra):
    # 4 browsers on 2 machines behind 2 routers; 300 queries in ~10 s;
    # TTLs of 1-2 s and 300 s, so that entries both expire and stay
    return study(tmp_path, "--browsers", "4", "--machines", "2", "--routers", "2",
                 "--names", "150", "--zipf", "0.9", "--ttl-mix", "1-2:40,300:60",
                 "--think", "0.12", "--duration", "12", "--queries", "300",
                 "--buckets", "4", "--seed", "7", *extra)


def test_small_study_adds_up(tmp_path):
    p, out = small(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads((out / "study.json").read_text())
    assert d["ok"], [c for c in d["checks"] if not c["ok"]]
    assert d["sent"] == 300
    rows = {r["tier"]: r for r in d["tiers"]}
    hits = sum(r["hits"] for r in rows.values())
    for up, down in zip(TIERS, TIERS[1:]):
        assert rows[up]["stats_forwarded"] == rows[down]["stats_queries"], (up, rows)
        assert rows[up]["reached"] == rows[up]["hits"] + rows[up]["passed_up"]
    if d["clean"]:
        # every client query: answered from some tier's cache, or it
        # reached the authoritative server (which counted it) once
        assert d["answered"] == 300
        assert hits + d["auth"]["names"] == d["sent"], (hits, d["auth"])
        assert d["auth"]["names"] == d["auth"]["by_log"] == rows["isp"]["stats_resolutions"]
        assert rows["browser"]["reached"] == d["sent"]
        for up, down in zip(TIERS, TIERS[1:]):
            assert rows[up]["passed_up"] == rows[down]["reached"], (up, rows)
        for r in rows.values():
            assert (r["stats_queries"], r["stats_hits"]) == (r["reached"], r["hits"]), r
    else:
        # a loaded machine: a tier timed out and asked again; the
        # accounting still closes, with the questions asked twice
        assert hits + d["auth"]["by_log"] + d["failed"] + d["timeouts"] == d["sent"]
        extra = d["auth"]["names"] - rows["isp"]["stats_resolutions"]
        assert 0 <= extra <= rows["isp"]["retries"], (d["auth"], rows["isp"])
    # time buckets sum to the totals
    assert sum(d["bucket_queries"]) == d["sent"]
    for r in rows.values():
        assert sum(r["b_reached"]) == r["reached"] and sum(r["b_hits"]) == r["hits"]
    assert sum(d["auth"]["b_log"]) == d["auth"]["by_log"]
    assert sum(d["auth"]["b_counted"]) == d["auth"]["names"]
    # the caches did something, and not everything: popular names hit
    assert 0 < rows["browser"]["hits"] < d["sent"]
    assert 0 < d["auth"]["names"] < d["sent"]
    # answers from a cache carry a TTL no larger than what was stored
    assert rows["browser"]["ttl_median"] <= 60

    # the report, again from the data alone
    rep = subprocess.run([sys.executable, str(TOOL), "--report", "--out", str(out),
                          "--no-plots"], capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert "FAIL" not in rep.stdout
    for t in TIERS + ["auth"]:
        assert f"\n{t} " in rep.stdout, rep.stdout
    assert (out / "report.txt").read_text() == rep.stdout


def test_replay_of_a_query_log(tmp_path):
    """A replayed log: the same name three times from one client, then
    from a second browser on the same machine: the browser, then the os
    tier answer; one query reaches the authoritative server."""
    log = tmp_path / "queries.log"
    log.write_text("# time name type client\n"
                   "0.0 site1.study.test A 0\n"
                   "0.2 site1.study.test A 0\n"
                   "0.4 site1.study.test. A 0\n"
                   "0.6 site1.study.test A 1\n")
    p, out = study(tmp_path, "--replay", str(log), "--browsers", "2", "--machines", "1",
                   "--routers", "1", "--names", "5", "--ttl-mix", "300:1", "--duration", "5")
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads((out / "study.json").read_text())
    rows = {r["tier"]: r for r in d["tiers"]}
    assert d["sent"] == 4 and d["ok"], d["checks"]
    assert [rows[t]["hits"] for t in TIERS] == [2, 1, 0, 0], rows
    assert d["auth"]["names"] == 1


def test_bad_arguments_say_so(tmp_path):
    p, _ = study(tmp_path, "--ttl-mix", "abc")
    assert p.returncode != 0 and "bad --ttl-mix" in p.stderr
    p, _ = study(tmp_path, "--sweep", "colour=1,2")
    assert p.returncode != 0 and "--sweep" in p.stderr


@pytest.mark.skipif(not any(os.path.exists(p) for p in (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1")), reason="no libfaketime")
def test_rate_ages_ttls_faster(tmp_path):
    """--rate 120: a name with a 20 s TTL asked at 0, 10 and 45 simulated
    seconds (0.375 s of real time): the second is a hit, the third finds
    every tier's copy expired and goes to the authoritative server again,
    which it could not in real time."""
    log = tmp_path / "queries.log"
    log.write_text("0 site1.study.test\n10 site1.study.test\n45 site1.study.test\n")
    p, out = study(tmp_path, "--replay", str(log), "--browsers", "1", "--machines", "1",
                   "--routers", "1", "--names", "3", "--ttl-mix", "20:1", "--duration", "60",
                   "--rate", "120")
    assert p.returncode == 0, p.stdout + p.stderr
    d = json.loads((out / "study.json").read_text())
    assert d["sent"] == 3 and d["ok"], d["checks"]
    rows = {r["tier"]: r for r in d["tiers"]}
    assert rows["browser"]["hits"] == 1, rows
    assert d["auth"]["by_log"] == 2, d["auth"]
