"""Several worker threads under load while the main thread and the control
thread pool touch what they share: the caches, the join table, the log
sink, the counters. Written for ThreadSanitizer (make tsan runs it, marked
multiworker by conftest.py for its `workers:`); in every build it checks
that each question is answered and the daemon stops cleanly."""
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import dns.message
import dns.query
import dns.rcode

from conftest import HINTS


def test_reload_stats_dump_flush_while_every_worker_answers(daemon, lab):
    """workers: 3 under a steady load of queries (hits, misses, joined
    flights), while the main thread reloads, reads every worker's counters,
    and the control thread pool dumps and flushes the shared cache. Under
    ThreadSanitizer (make tsan) this is where the state the threads share
    is touched from both sides at once; in every build it checks that every
    question is answered and the daemon stops cleanly."""
    d = daemon(hints=HINTS, start=False)
    d.conf.write_text(d.conf.read_text().replace("workers: 1", "workers: 3")
                      .replace("  dest: stderr\n",
                               "  dest: stderr\n  queries: true\n"))
    d.start()
    names = ["www.example.com", "www.example.org", "nope.example.com",
             "www.leaf.sub.deep.test"] + [f"n{i}.bulk.test" for i in range(40)]
    stop = time.monotonic() + 4
    bad = []

    def client(k):
        """One client: its own socket, questions until the time is up."""
        n = 0
        while time.monotonic() < stop and n < 5000:
            q = dns.message.make_query(names[(k * 7 + n) % len(names)], "A")
            try:
                r = dns.query.udp(q, "127.0.0.1", port=d.port, timeout=5)
            except Exception as e:  # a timeout is a failure here
                bad.append(repr(e))
                return n
            if r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                bad.append(dns.rcode.to_text(r.rcode()))
            n += 1
        return n

    def reloaded():
        return d.logtext().count("reloaded configuration")

    with ThreadPoolExecutor(6) as ex:
        futs = [ex.submit(client, k) for k in range(6)]
        reloads = 0
        while time.monotonic() < stop:
            d.signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while reloaded() == reloads:  # one signal, one reload
                assert time.monotonic() < deadline, d.logtext()[-3000:]
                time.sleep(0.02)
            reloads += 1
            assert "queries " in d.ctl_run("stats").stdout
            d.ctl_run("dump")
            d.ctl_run("flush", "www.example.com")
        done = sum(f.result(timeout=30) for f in futs)
    assert not bad, bad[:10]
    assert done > 100 and reloads >= 2, (done, reloads)
    assert d.stop() == 0
    assert "Sanitizer" not in d.logtext()
