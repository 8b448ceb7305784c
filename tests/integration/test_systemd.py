"""systemd integration: the notifications of Type=notify (READY=1 when the
listeners answer, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 at
the stop, in that order), the unit file as `systemd-analyze verify` sees
it, and `make install DESTDIR=...` putting every file where README.md says.
No lab, no systemd manager: the test owns the NOTIFY_SOCKET."""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, ROOT

UNIT_IN = ROOT / "dist" / "systemd" / "resolverd.service.in"


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A unix datagram socket the daemon is told about (NOTIFY_SOCKET)."""
    path = tmp_path / "notify"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield s
    s.close()


def next_message(s, timeout=15):
    s.settimeout(timeout)
    return dict(line.split("=", 1)
                for line in s.recv(4096).decode().splitlines())


def test_notify_ready_reload_stop(daemon, notify_socket):
    d = daemon(start=False)
    d.start(wait=False)
    ready = next_message(notify_socket)
    assert ready["READY"] == "1", ready
    assert f"127.0.0.1@{d.port}" in ready["STATUS"]
    # READY=1 comes when the listeners answer: no waiting needed
    assert d.dig("x.test", "A").status == "SERVFAIL"
    assert " started: " in d.logtext()
    before = time.monotonic_ns() // 1000
    d.signal(signal.SIGHUP)
    reloading = next_message(notify_socket)
    assert reloading["RELOADING"] == "1", reloading
    # CLOCK_MONOTONIC microseconds, as systemd >= 253 wants
    assert before <= int(reloading["MONOTONIC_USEC"]) \
        <= time.monotonic_ns() // 1000
    assert next_message(notify_socket) == {"READY": "1"}
    assert "reloaded configuration" in d.logtext()
    # a reload that fails also ends in READY=1
    good = d.conf.read_text()
    d.conf.write_text(good + "cache: [bad]\n")
    d.signal(signal.SIGHUP)
    assert next_message(notify_socket)["RELOADING"] == "1"
    assert next_message(notify_socket) == {"READY": "1"}
    assert "reload failed" in d.logtext()
    d.signal(signal.SIGTERM)
    assert next_message(notify_socket) == {"STOPPING": "1"}
    assert d.proc.wait(15) == 0, d.logtext()
    d.logf.close()
    # nothing after STOPPING=1
    notify_socket.settimeout(0.2)
    with pytest.raises(socket.timeout):
        notify_socket.recv(4096)


def test_notify_nothing_when_start_fails(daemon, notify_socket):
    first = daemon()  # it sees NOTIFY_SOCKET too
    assert next_message(notify_socket)["READY"] == "1"
    second = daemon(start=False)
    second.conf.write_text(second.conf.read_text().replace(
        f"@{second.port}", f"@{first.port}"))
    second.start(wait=False)
    assert second.proc.wait(30) == 1
    notify_socket.settimeout(0.5)
    with pytest.raises(socket.timeout):
        notify_socket.recv(4096)
    assert first.stop() == 0


def test_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (tools/deps.sh does)")
    unit = tmp_path / "resolverd.service"
    text = UNIT_IN.read_text()
    assert "@SBINDIR@/resolverd" in text
    unit.write_text(text.replace("@SBINDIR@", str(BUILD)))
    # Documentation= names man pages: let man find ours
    for sec in ("5", "8"):
        (tmp_path / "man" / f"man{sec}").mkdir(parents=True)
        for page in (ROOT / "man").glob(f"*.{sec}"):
            shutil.copy(page, tmp_path / "man" / f"man{sec}")
    env = dict(os.environ, MANPATH=str(tmp_path / "man"))
    p = subprocess.run([analyze, "verify", str(unit)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    # no warning either (unknown keys are only warned about)
    assert p.stderr.strip() == "", p.stderr
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "StateDirectory=resolverd", "RuntimeDirectory=resolverd",
                 "DynamicUser=yes"):
        assert f"\n{line}\n" in text, line
    # a unit that is wrong fails the same check: the test can fail
    bad = tmp_path / "bad.service"
    bad.write_text(text.replace("@SBINDIR@", str(tmp_path / "nowhere")))
    p = subprocess.run([analyze, "verify", str(bad)], capture_output=True,
                       text=True, timeout=120, env=env)
    assert p.returncode != 0


def make_install(dest, *extra):
    build = BUILD.name
    return subprocess.run(
        ["make", "-s", "install", f"DESTDIR={dest}", f"BUILD={build}",
         "-o", f"{build}/resolverd", "-o", f"{build}/resolverctl", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_make_install(tmp_path):
    dest = tmp_path / "root"
    p = make_install(dest, "PREFIX=/usr/local")
    assert p.returncode == 0, p.stdout + p.stderr
    files = sorted(str(f.relative_to(dest)) for f in dest.rglob("*")
                   if f.is_file())
    assert files == [
        "etc/resolverd.yaml",
        "usr/local/lib/systemd/system/resolverd.service",
        "usr/local/sbin/resolverctl",
        "usr/local/sbin/resolverd",
        "usr/local/share/man/man5/resolverd.yaml.5",
        "usr/local/share/man/man8/resolverctl.8",
        "usr/local/share/man/man8/resolverd.8",
    ]
    unit = (dest / "usr/local/lib/systemd/system/resolverd.service").read_text()
    assert "\nExecStart=/usr/local/sbin/resolverd -c /etc/resolverd.yaml\n" \
        in unit
    assert "@" not in unit.replace("@system-service", "")
    assert (dest / "etc/resolverd.yaml").read_text() == \
        (ROOT / "config/resolverd.yaml").read_text()
    assert os.access(dest / "usr/local/sbin/resolverd", os.X_OK)
    assert (dest / "usr/local/sbin/resolverd").read_bytes() == \
        (BUILD / "resolverd").read_bytes()
    # an existing configuration is kept
    (dest / "etc/resolverd.yaml").write_text("workers: 3\n")
    p = make_install(dest, "PREFIX=/usr/local")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "exists: kept" in p.stdout
    assert (dest / "etc/resolverd.yaml").read_text() == "workers: 3\n"
    # PREFIX=/usr: the unit goes where Debian's are
    dest2 = tmp_path / "root2"
    p = make_install(dest2, "PREFIX=/usr")
    assert p.returncode == 0, p.stdout + p.stderr
    unit = (dest2 / "usr/lib/systemd/system/resolverd.service").read_text()
    assert "\nExecStart=/usr/sbin/resolverd -c /etc/resolverd.yaml\n" in unit
