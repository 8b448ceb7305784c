"""Scale-out behind dnsdist (tools/lab/scalelab.py): three resolverd
instances on the lab, dnsdist in front with consistent hashing and 1 s
health checks. Under a steady dnsperf load through dnsdist one instance is
stopped: dnsdist marks it down within its health-check interval and the
queries lost meanwhile are bounded; restarted, the instance has its cache
back from cache.persist at once, dnsdist marks it up, and its share of the
names (the same names: the ring did not move) comes back to it, answered
from the restored cache."""
import shutil
import subprocess
import sys
import time

import pytest

from conftest import LAB

sys.path.insert(0, str(LAB))
import scalelab  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("dnsdist") is None or shutil.which("dnsperf") is None,
    reason="dnsdist or dnsperf not installed (tools/deps.sh test)")

QPS = 1000           # the steady load
SECONDS = 9          # its length
CHECK_INTERVAL = 1   # dnsdist's health checks, s
NAMES = 600          # bulk.test names, each cached on one instance


@pytest.fixture
def scale(lab, tmp_path):
    rs = [scalelab.Resolver(f"r{i}", "127.0.0.1", scalelab.free_port(),
                            tmp_path) for i in (1, 2, 3)]
    dd = scalelab.Dnsdist(tmp_path, "127.0.0.1", scalelab.free_port(), rs,
                          policy="chashed", check_interval=CHECK_INTERVAL)
    try:
        for r in rs:
            r.start()
        dd.start()
        yield rs, dd, tmp_path
    finally:
        dd.stop()
        for r in rs:
            r.stop()


def test_instance_lost_and_back(scale):
    rs, dd, tmp = scale
    names = scalelab.bulk_names(tmp / "names.txt", NAMES)
    warm = scalelab.dnsperf("127.0.0.1", dd.port, names, passes=1,
                            outstanding=50)
    assert warm["lost"] == 0, warm
    share = {s["name"]: s["queries"] for s in dd.servers()}
    # consistent hashing spreads the names over all three
    assert all(share[r.name] > NAMES / 6 for r in rs), share
    r2 = rs[1]
    r2_names = r2.stats()["cache.misses"]

    start = time.monotonic()
    load = subprocess.Popen(
        scalelab.dnsperf_args("127.0.0.1", dd.port, names, seconds=SECONDS,
                              qps=QPS, outstanding=1000, timeout=1),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        t0 = time.monotonic()
        assert r2.stop() == 0
        scalelab.wait_until(lambda: dd.backend("r2")["state"] == "down",
                            CHECK_INTERVAL + 2, what="r2 marked down")
        detected = time.monotonic() - t0
        time.sleep(1)
        r2.start()
        # the dump written at its stop is loaded before it serves
        restored = r2.stats()["cache.entries"]
        t1 = time.monotonic()
        scalelab.wait_until(lambda: dd.backend("r2")["state"] == "up",
                            CHECK_INTERVAL + 2, what="r2 marked up")
        up_at = time.monotonic()
        back = up_at - t1
        q_up = dd.backend("r2")["queries"]
        out, err = load.communicate(timeout=SECONDS + 30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(5)
    run = scalelab.parse_dnsperf(out)
    after = dd.backend("r2")["queries"] - q_up
    st = r2.stats()
    print(f"\nload {run}; r2 down detected in {detected:.2f} s, up again "
          f"in {back:.2f} s; {restored} entries restored; after: "
          f"{after} queries to r2, {st['cache.hits']} hits, "
          f"{st['cache.misses']} misses")

    assert detected <= CHECK_INTERVAL + 1.0
    assert restored >= r2_names
    # lost: about what went to r2 until dnsdist noticed (a third of the
    # load for at most the check interval and the check's 0.3 s timeout),
    # nothing once the others took r2's names, nor once r2 was back
    assert run["lost"] <= QPS / 3 * (CHECK_INTERVAL + 0.3 + 0.5), run
    assert run["completed"] >= QPS * SECONDS * 0.85, run
    # its share came back: about a third of what was sent since
    expected = QPS * (start + SECONDS - up_at) / 3
    assert expected > 300
    assert after >= 0.5 * expected, (after, expected)
    # the same names, from the restored cache: hits, hardly a miss
    assert st["cache.hits"] > 0
    assert st["cache.misses"] <= 0.1 * (st["cache.hits"] + st["cache.misses"])
