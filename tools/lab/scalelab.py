"""Scale-out behind dnsdist: several resolverd instances, one dnsdist in
front (the pieces of tools/lab/scale and tests/integration/test_scale.py).

Each resolverd instance has its own address, control socket, log and
cache.persist file, and resolves from the lab's root. dnsdist (Debian's)
spreads the clients' queries over them: `chashed` hashes the query name
onto a ring of points (weight = points per backend), so a name always goes
to the same instance and lives in one cache only; `roundrobin` hands each
query to the next instance, so every cache holds every name. Health checks
(`. NS`, answered from the primed root NS set, never sent upstream) run
every check_interval seconds; one failure marks a backend down, one
success up again. The backends' state and query counters are read from
dnsdist's HTTP API; its console works too (`dnsdist -C CONF -c -e
'showServers()'`). dnsdist's security-status poll (a DNS query to the
outside) is off.

Every process started here is stopped by stop(); every wait is bounded."""
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import labnet

ROOT = Path(__file__).resolve().parents[2]
DNSDIST = shutil.which("dnsdist") or "/usr/bin/dnsdist"
DNSPERF = shutil.which("dnsperf") or "/usr/bin/dnsperf"


class Failed(Exception):
    pass


def build_dir():
    b = Path(os.environ.get("RESOLVERD_BUILD", "build"))
    return b if b.is_absolute() else ROOT / b


def wait_until(fn, timeout, step=0.05, what="condition"):
    """Poll fn() until it returns a true value; return it. Raise Failed
    after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def udp_answers(addr, port, timeout=0.5):
    """Does a DNS server answer `. NS` at addr:port over UDP?"""
    q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
         b"\x00\x00\x02\x00\x01")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, (addr, port))
        data, _ = s.recvfrom(4096)
        return len(data) >= 12 and data[:2] == b"\x12\x34"
    except OSError:
        return False
    finally:
        s.close()


class Resolver:
    """One resolverd on addr:port with its own files in directory d."""

    def __init__(self, name, addr, port, d, extra="", build=None):
        self.name, self.addr, self.port, self.dir = name, addr, port, Path(d)
        self.build = Path(build) if build else build_dir()
        self.conf = self.dir / f"{name}.yaml"
        self.ctl = self.dir / f"{name}.ctl"
        self.persist = self.dir / f"{name}.cache"
        self.log = self.dir / f"{name}.log"
        self.extra = extra
        self.proc = None
        run = labnet.run_dir()
        self.conf.write_text(
            f"# written by tools/lab/scalelab.py\n"
            f"listen: [{addr}@{port}]\n"
            f"root_hints: {run / 'root.hints'}\n"
            f"dnssec:\n  trust_anchors: [{run / 'root.anchor'}]\n"
            "query_loopback: true\n"
            f"control_socket: {self.ctl}\n"
            "workers: 1\n"
            f"cache:\n  persist: {self.persist}\n{extra}"
            f"log:\n  dest: {self.log}\n")

    def start(self, timeout=15):
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.started_at = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(
            [str(self.build / "resolverd"), "-c", str(self.conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise Failed(f"{self.name}: resolverd exited "
                             f"{self.proc.returncode}: {self.tail()}")
            return " started: " in self.logtext(self.started_at) and \
                udp_answers(self.addr, self.port)
        wait_until(ready, timeout, what=f"{self.name} to start")
        return self

    def logtext(self, start=0):
        try:
            with open(self.log, "rb") as f:
                f.seek(start)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, n=5):
        return "".join(self.logtext().splitlines(True)[-n:])

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stop (SIGTERM writes cache.persist); KILL after timeout."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise Failed(f"{self.name} did not stop in {timeout} s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stats(self):
        p = subprocess.run([str(self.build / "resolverctl"), "-s",
                            str(self.ctl), "stats", "--json"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise Failed(f"{self.name}: resolverctl stats: {p.stderr}")
        return json.loads(p.stdout.splitlines()[0])


class Dnsdist:
    """dnsdist on addr:port in front of @backends (Resolver objects)."""

    def __init__(self, d, addr, port, backends, policy="chashed",
                 check_interval=1, api_port=None, console_port=None,
                 listeners=1):
        self.dir, self.addr, self.port = Path(d), addr, port
        self.backends, self.policy = list(backends), policy
        self.check_interval = check_interval
        self.api_port = api_port or free_port(addr)
        self.console_port = console_port or free_port(addr)
        self.listeners = listeners
        self.conf = self.dir / "dnsdist.conf"
        self.log = self.dir / "dnsdist.log"
        self.api_key = base64.b64encode(os.urandom(18)).decode()
        self.proc = None
        self.write()

    def write(self):
        key = base64.b64encode(os.urandom(32)).decode()
        lines = [
            "-- written by tools/lab/scalelab.py",
            "setSecurityPollSuffix('')  -- no status query to the outside",
            f"setLocal('{self.addr}:{self.port}', {{reusePort=true}})",
        ]
        # more UDP listeners, each its own thread, on the same address
        lines += [f"addLocal('{self.addr}:{self.port}', {{reusePort=true}})"
                  for _ in range(self.listeners - 1)]
        lines += [
            "setACL({'127.0.0.0/8'})",
            "-- a burst waits in the socket instead of being dropped, as",
            "-- resolverd's own listeners have it",
            "setUDPSocketBufferSizes(4194304, 4194304)",
            f"controlSocket('{self.addr}:{self.console_port}')",
            f"setKey('{key}')",
            f"webserver('{self.addr}:{self.api_port}')",
            "setWebserverConfig({apiKey=hashPassword('%s'), "
            "password=hashPassword('%s'), acl='127.0.0.0/8'})"
            % (self.api_key, self.api_key),
        ]
        for b in self.backends:
            lines.append(
                f"newServer({{address='{b.addr}:{b.port}', name='{b.name}', "
                f"weight=1000, checkName='.', checkType='NS', "
                f"checkInterval={self.check_interval}, checkTimeout=300, "
                "maxCheckFailures=1, rise=1})")
        lines += [f"setServerPolicy({self.policy})",
                  "setServFailWhenNoServer(true)"]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout=20):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [DNSDIST, "--supervised", "--disable-syslog", "-C",
             str(self.conf)], stdin=subprocess.DEVNULL, stdout=self.logf,
            stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise Failed(f"dnsdist exited {self.proc.returncode}; see "
                             f"{self.log}")
            try:
                s = self.servers()
            except OSError:
                return False
            return all(x["state"] == "up" for x in s) and \
                udp_answers(self.addr, self.port)
        wait_until(ready, timeout, step=0.1,
                   what="dnsdist and its backends to be up")
        return self

    def servers(self):
        """dnsdist's view of each backend: name, state ("up", "down"),
        queries sent to it, ..."""
        req = urllib.request.Request(
            f"http://{self.addr}:{self.api_port}/api/v1/servers/localhost",
            headers={"X-API-Key": self.api_key})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read().decode())["servers"]

    def backend(self, name):
        return next(s for s in self.servers() if s["name"] == name)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        finally:
            self.logf.close()


def free_port(addr="127.0.0.1"):
    """A port free for both UDP and TCP on @addr."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((addr, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((addr, port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise Failed("no free port")


def bulk_names(path, names, count=None, seed=1):
    """A dnsperf input of bulk.test names n0 .. n{names-1}: each once in
    order, or @count lines drawn at random (seeded)."""
    rnd = random.Random(seed)
    with open(path, "w") as f:
        if count is None:
            for i in range(names):
                f.write(f"n{i}.bulk.test A\n")
        else:
            for _ in range(count):
                f.write(f"n{rnd.randrange(names)}.bulk.test A\n")
    return path


def dnsperf_args(addr, port, names_file, seconds=None, qps=None,
                 passes=None, outstanding=100, clients=1, timeout=2):
    a = [DNSPERF, "-s", addr, "-p", str(port), "-d", str(names_file),
         "-q", str(outstanding), "-c", str(clients), "-t", str(timeout)]
    if seconds is not None:
        a += ["-l", str(seconds)]
    if passes is not None:
        a += ["-n", str(passes)]
    if qps is not None:
        a += ["-Q", str(qps)]
    return a


def parse_dnsperf(out):
    """{sent, completed, lost, qps, latency_ms} from dnsperf's summary."""
    def num(pattern, cast=int):
        m = re.search(pattern, out)
        if not m:
            raise Failed("dnsperf: no '%s' in its output:\n%s"
                         % (pattern, out[-800:]))
        return cast(m.group(1))
    return {"sent": num(r"Queries sent:\s+(\d+)"),
            "completed": num(r"Queries completed:\s+(\d+)"),
            "lost": num(r"Queries lost:\s+(\d+)"),
            "qps": num(r"Queries per second:\s+([\d.]+)", float),
            "latency_ms": num(r"Average Latency \(s\):\s+([\d.]+)",
                              float) * 1000}


def dnsperf(*args, **kw):
    """Run dnsperf to the end (bounded) and parse its summary."""
    a = dnsperf_args(*args, **kw)
    limit = (kw.get("seconds") or 60) + kw.get("timeout", 2) + 60
    p = subprocess.run(a, capture_output=True, text=True, timeout=limit)
    if p.returncode != 0:
        raise Failed(f"dnsperf exited {p.returncode}: {p.stderr[-500:]}")
    return parse_dnsperf(p.stdout)
