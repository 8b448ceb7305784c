"""The benchmark harness, smoke-sized: tools/bench/run --smoke on the session's
lab (--no-lab: the harness must not restart the lab the other tests share).

It checks that every part ran (servers up, dnsperf against each, the table,
results.json), not the numbers: this is usually a sanitizer build."""
import json
import os
import subprocess
import sys

from conftest import BUILD, ROOT

BENCH = ROOT / "tools" / "bench" / "run"


def test_bench_smoke(lab, tmp_path):
    out = tmp_path / "results"
    env = dict(os.environ, RESOLVERD_BUILD=str(BUILD))
    p = subprocess.run(["/usr/bin/python3", str(BENCH), "--smoke", "--no-lab", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=90)
    sys.stdout.write(p.stdout[-4000:])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    assert "error" not in res
    for phase in ("hits_saturated", "hits_fixed"):
        for server in ("resolverd", "unbound", "null"):
            assert res[phase][server]["completed"] > 0, (phase, server)
    for phase in ("misses_fixed", "misses_max", "misses_validated"):
        for server in ("resolverd", "unbound"):
            assert res[phase][server]["completed"] > 0, (phase, server)
    # both validate: the sample of signed names asked again with DO has AD
    for server in ("resolverd", "unbound"):
        v = res["validated_ad"][server]
        assert v["noerror_ad"] == len(v["names"]) > 0, (server, v)
    assert res["elapsed_s"] < 60
    assert "| hits, saturated: QPS" in p.stdout
    assert "| validated misses @max: QPS" in p.stdout
    assert (out / "table.md").exists()
    # the latency plot beside the table: a PNG, and no note that it failed
    assert not [n for n in res["notes"] if n.startswith("latency plot")], res["notes"]
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"latency plot: {out / 'latency.png'}" in p.stdout
