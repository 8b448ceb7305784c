"""Shared fixtures for the integration tests: the lab (a real DNS hierarchy
on NET.0.0/16, served by NSD; NET is $LAB_NET, default 127.53) and resolverd
daemons on free ports. Tests never write a lab address literally: they use
lab_addr("10.1") (NET.10.1), NET, NET_RE (NET as a regular expression) and
REV_ZONE (the lab's reverse zone, 53.127.in-addr.arpa for 127.53).

Every process a fixture starts, it stops, even when a test fails."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("RESOLVERD_BUILD", "build")
RESOLVERD = BUILD / "resolverd"
RESOLVERCTL = BUILD / "resolverctl"
LAB = ROOT / "tools" / "lab"
sys.path.insert(0, str(LAB))
import labnet  # noqa: E402  (tools/lab/labnet.py: the one definition of the net)

NET = labnet.net()
NET_RE = re.escape(NET)
REV_ZONE = labnet.rev_zone()
LAB_RUN = labnet.run_dir()
HINTS = LAB_RUN / "root.hints"


def lab_addr(suffix):
    """The lab address NET.suffix: lab_addr("10.1") is 127.53.10.1 by default."""
    return labnet.addr(suffix)


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            continue
        u.close()
        t.close()
        return port
    raise RuntimeError("no free port")


@pytest.fixture(scope="session")
def lab():
    """Start the lab once per test session; stop it at the end. With
    RESOLVERD_LAB_RUNNING=1 the lab already running is used as it is (and
    left running), so that several test runs can share it."""
    if os.environ.get("RESOLVERD_LAB_RUNNING") == "1" and HINTS.exists():
        yield LAB_RUN
        return
    subprocess.run([str(LAB / "start")], check=True, timeout=300)
    try:
        yield LAB_RUN
    finally:
        subprocess.run([str(LAB / "stop")], timeout=60)


@pytest.fixture(scope="session")
def lab_anchor(lab):
    """The lab root's trust anchor: a zone-format file of DS records (its
    DNSKEY is beside it, in root.anchor.dnskey). Fresh keys every lab start."""
    path = lab / "root.anchor"
    assert path.exists(), f"no {path}: the lab was generated without DNSSEC"
    return path


BLACKHOLE = lab_addr("255.254")


def blackhole_hints(directory):
    """A hints file whose only root server is a loopback address where
    nothing listens: a daemon that must not resolve (or must never send a
    packet off this machine) gets SERVFAIL "no reachable server"."""
    path = directory / "blackhole.hints"
    path.write_text(". 3600000 NS blackhole.invalid.\n"
                    f"blackhole.invalid. 3600000 A {BLACKHOLE}\n")
    return path


class Daemon:
    """One resolverd process with a generated config, on a free port.
    Without @hints it gets the black-hole hints: a test daemon never asks
    the real root servers."""

    def __init__(self, tmp_path, config_extra="", hints=None, args=()):
        self.port = free_port()
        self.dir = tmp_path
        self.ctl = str(tmp_path / "ctl.sock")
        self.log = tmp_path / "resolverd.log"
        self.conf = tmp_path / "resolverd.yaml"
        self.hints = hints or blackhole_hints(tmp_path)
        hints_line = f"root_hints: {self.hints}\n"
        if self.hints == HINTS and "dnssec:" not in config_extra:
            # the lab's root is signed with the lab's own keys
            hints_line += ("dnssec:\n  trust_anchors:\n"
                           f"    - {LAB_RUN / 'root.anchor'}\n")
        elif hints is not None and "dnssec:" not in config_extra:
            # a test's own root has no keys anybody could trust
            hints_line += "dnssec:\n  validation: false\n"
        self.conf.write_text(
            f"listen:\n  - 127.0.0.1@{self.port}\n"
            f"{hints_line}"
            f"control_socket: {self.ctl}\n"
            f"workers: 1\n"
            # the lab lives on 127/8, which a resolver must not query by default
            f"query_loopback: true\n"
            f"log:\n  level: debug\n  dest: stderr\n"
            + config_extra)
        self.args = list(args)
        self.proc = None

    def start(self, wait=True):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(RESOLVERD), "-c", str(self.conf)] + self.args,
            stdout=self.logf, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        """Wait until the TCP listener accepts (the UDP one is bound first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"resolverd exited {self.proc.returncode}: {self.logtext()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            # the kernel accepts as soon as the socket listens; the daemon
            # serves once it has logged that it started
            if " started: " in self.logtext():
                return
            time.sleep(0.02)
        raise RuntimeError("resolverd did not start: " + self.logtext())

    def logtext(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM and wait; return the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
        finally:
            self.logf.close()

    def dig(self, *args, timeout=15):
        return dig("127.0.0.1", self.port, *args, timeout=timeout)

    def kdig(self, *args, timeout=15):
        return kdig("127.0.0.1", self.port, *args, timeout=timeout)

    def ctl_run(self, *args, check=True, timeout=30):
        p = subprocess.run([str(RESOLVERCTL), "-s", self.ctl] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"resolverctl {args}: {p.returncode} {p.stderr}")
        return p


@pytest.fixture
def daemon(tmp_path):
    """Factory: daemon(config_extra=..., hints=..., start=True)."""
    started = []

    def make(config_extra="", hints=None, start=True, args=()):
        ddir = tmp_path / f"d{len(started)}"
        ddir.mkdir(parents=True, exist_ok=True)
        d = Daemon(ddir, config_extra, hints, args)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(5)


class Answer:
    """A parsed dig/kdig reply: status, flags, sections as lists of RR lines."""

    def __init__(self, text, rc):
        self.text = text
        self.rc = rc
        m = re.search(r"status: (\w+)", text)
        self.status = m.group(1) if m else None
        m = re.search(r"flags: ([\w ]*);", text)
        self.flags = set(m.group(1).split()) if m else set()
        self.sections = {}
        cur = None
        for line in text.splitlines():
            h = re.match(r";; (\w+) SECTION:", line)
            if h:
                cur = h.group(1)
                self.sections[cur] = []
                continue
            if cur and line.strip() and not line.startswith(";"):
                self.sections[cur].append(line.split())
            elif not line.strip():
                cur = None
        self.ede = re.findall(r"EDE: ([^\n]*)", text)

    def rrs(self, section="ANSWER"):
        return self.sections.get(section, [])

    def rdatas(self, rtype, section="ANSWER"):
        return [" ".join(r[4:]) for r in self.rrs(section) if r[3] == rtype]

    def __repr__(self):
        return self.text


def dig(server, port, *args, timeout=15):
    p = subprocess.run(["dig", f"@{server}", "-p", str(port), "+tries=1",
                        "+time=5"] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    return Answer(p.stdout, p.returncode)


def kdig(server, port, *args, timeout=15):
    p = subprocess.run(["kdig", f"@{server}", "-p", str(port), "+retry=0",
                        "+timeout=5"] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    return Answer(p.stdout, p.returncode)


# ---- the multiworker marker (make tsan runs these under ThreadSanitizer) ----
MULTIWORKER = re.compile(r"workers: *([2-9]|[1-9][0-9]+)\b")
# modules whose every test runs threads sharing state: the cache tiers (one
# resolverd, instances chained over loopback); the page (HTTP threads handing
# requests to the main loop)
MULTIWORKER_MODULES = {"test_tiers.py", "test_page.py"}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "multiworker: runs resolverd with several threads sharing "
        "the caches (make tsan runs these under ThreadSanitizer)")


def pytest_collection_modifyitems(config, items):
    """Mark `multiworker` every test that starts a daemon and says
    `workers:` above 1 in its source, and every test of MULTIWORKER_MODULES."""
    import inspect

    for item in items:
        if item.path.name in MULTIWORKER_MODULES:
            item.add_marker(pytest.mark.multiworker)
            continue
        fn = getattr(item, "function", None)
        if fn is None or "daemon" not in getattr(item, "fixturenames", ()):
            continue
        try:
            src = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        if MULTIWORKER.search(src):
            item.add_marker(pytest.mark.multiworker)
