"""Several worker threads: one join table for questions in flight, and the
threads serve only after privileges were dropped."""
import os
import pwd
import re
import socket
import threading
import time

import dns.message
import dns.rcode

from conftest import lab_addr

MAX_TIME_MS = 1500


class DeadServer:
    """A UDP 'root server' that never answers and counts what it is asked,
    by lowercased question name."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 53))
        self.sock.settimeout(0.2)
        self.counts = {}
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                data, _ = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
                name = q.question[0].name.to_text().lower()
            except Exception:  # garbage counts too, under its own key
                name = "?"
            with self.lock:
                self.counts[name] = self.counts.get(name, 0) + 1

    def count(self, name):
        with self.lock:
            return self.counts.get(name, 0)

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def ask_many(port, name, n):
    """n clients (n sockets, so the kernel spreads them over the workers)
    ask the same question at once. Returns [(rcode, seconds)]."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(10)
        socks.append(s)
    wire = dns.message.make_query(name, "A").to_wire()
    t0 = time.monotonic()
    for s in socks:
        s.sendto(wire, ("127.0.0.1", port))
    out = []
    for s in socks:
        try:
            data, _ = s.recvfrom(65535)
            out.append((dns.message.from_wire(data).rcode(),
                        time.monotonic() - t0))
        except socket.timeout:
            out.append((None, time.monotonic() - t0))
        s.close()
    return out


def test_one_resolution_for_clients_on_every_worker(daemon, tmp_path):
    """N clients on N workers, for a name whose servers time out: every one
    gets SERVFAIL after one max_time (not two), and the dead server sees the
    queries of one resolution, not one per worker."""
    dead = DeadServer(lab_addr("255.253"))
    try:
        hints = tmp_path / "dead.hints"
        hints.write_text(". 3600000 NS dead.invalid.\n"
                         f"dead.invalid. 3600000 A {lab_addr('255.253')}\n")
        d = daemon(hints=hints, start=False)
        d.conf.write_text(d.conf.read_text().replace("workers: 1", "workers: 4")
                          + f"limits:\n  max_time: {MAX_TIME_MS}\n")
        d.start()
        # one client alone: what one resolution sends
        solo = ask_many(d.port, "solotest.", 1)
        assert solo[0][0] == dns.rcode.SERVFAIL
        one = dead.count("solotest.")
        assert one >= 1
        res = ask_many(d.port, "flighttest.", 24)
        assert all(r == dns.rcode.SERVFAIL for r, _ in res), res
        slowest = max(t for _, t in res)
        assert slowest < MAX_TIME_MS / 1000 * 1.5, res
        # the same resolution, once (+1 for a retry that a timer race may
        # add), however many workers had clients for it
        assert dead.count("flighttest.") <= one + 1, (dead.counts, one)
        stats = d.ctl_run("stats").stdout
        joined = int(re.search(r"^joined\s+(\d+)", stats, re.M).group(1))
        other = int(re.search(r"^joined.other_worker\s+(\d+)", stats,
                              re.M).group(1))
        assert joined == 23, stats
        assert other >= 1, stats  # several workers had clients
        assert d.stop() == 0
        assert "Sanitizer" not in d.logtext()
    finally:
        dead.close()


def test_workers_serve_as_the_user(daemon, tmp_path):
    """With `user`, every worker thread runs as that user before the first
    query is answered: the threads wait, bound, until the main thread has
    dropped privileges."""
    nobody = pwd.getpwnam("nobody")
    d = daemon(start=False)
    d.conf.write_text(d.conf.read_text().replace("workers: 1", "workers: 3")
                      .replace("  dest: stderr\n",
                               "  dest: stderr\n  queries: true\n")
                      + "user: nobody\n")
    d.start()
    assert d.dig("www.example.com", "A").status == "SERVFAIL"
    log = d.logtext()
    lines = log.splitlines()
    serving = [i for i, l in enumerate(lines) if "serving as uid" in l]
    assert len(serving) == 3, log
    for i in serving:
        assert f"uid {nobody.pw_uid} gid {nobody.pw_gid}" in lines[i], log
    first_query = next(i for i, l in enumerate(lines) if " query " in l)
    assert max(serving) < first_query, log
    # and the kernel agrees, for every thread of the process
    tasks = os.listdir(f"/proc/{d.proc.pid}/task")
    assert len(tasks) >= 3
    for t in tasks:
        status = open(f"/proc/{d.proc.pid}/task/{t}/status").read()
        uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M)
        assert uids.groups() == (str(nobody.pw_uid),) * 3, status
    assert d.stop() == 0
