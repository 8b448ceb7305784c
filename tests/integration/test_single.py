"""One resolverd per address: a second daemon with the same control socket
or the same listen address refuses to start (exit status 1) and names the
process that holds it, and the first one keeps serving; so does a daemon
whose port another program took with SO_REUSEPORT (which would otherwise
let the two share the queries). resolverd's own worker threads still
share their ports. No lab needed."""
import os
import socket

from conftest import free_port

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:")


def refused(d):
    """Start @d, expect exit status 1 before it serves; return its log."""
    d.start(wait=False)
    rc = d.proc.wait(30)
    log = d.logtext()
    assert rc == 1, log
    assert " started: " not in log
    for mark in SANITIZER_MARKS:
        assert mark not in log, log
    return log


def still_serving(d):
    assert d.dig("x.test", "A").status == "SERVFAIL"  # black-hole hints
    assert "queries" in d.ctl_run("stats").stdout


def test_same_control_socket(daemon):
    first = daemon()
    second = daemon(start=False)
    second.conf.write_text(second.conf.read_text().replace(
        second.ctl, first.ctl))
    log = refused(second)
    assert (f"control socket {first.ctl}: already in use by resolverd "
            f"(pid {first.proc.pid})") in log, log
    # nothing was bound: the second one's port is still free
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", second.port))
    still_serving(first)
    assert first.stop() == 0


def test_same_listen_address(daemon):
    first = daemon()
    second = daemon(start=False)
    second.conf.write_text(second.conf.read_text().replace(
        f"127.0.0.1@{second.port}", f"127.0.0.1@{first.port}"))
    second.port = first.port
    log = refused(second)
    assert (f"listen 127.0.0.1@{first.port}: already in use by resolverd "
            f"(pid {first.proc.pid})") in log, log
    # the first one's control socket was not touched
    assert os.path.exists(first.ctl)
    still_serving(first)
    assert first.stop() == 0


def test_same_address_in_a_tier(daemon):
    first = daemon()
    port2 = free_port()
    second = daemon(start=False, config_extra=(
        "tiers:\n"
        f"  - name: a\n    listen: [127.0.0.1@{port2}]\n"
        f"  - name: b\n    listen: [127.0.0.1@{first.port}]\n"))
    log = refused(second)
    assert (f"listen 127.0.0.1@{first.port}: already in use by resolverd "
            f"(pid {first.proc.pid})") in log, log
    still_serving(first)
    assert first.stop() == 0


def test_port_taken_by_another_program_with_reuseport(daemon):
    """SO_REUSEPORT on both sides would let the kernel share the port;
    resolverd looks first and refuses."""
    d = daemon(start=False)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", d.port))
        log = refused(d)
    assert (f"listen 127.0.0.1@{d.port}: already in use by a process "
            f"(pid {os.getpid()}, ") in log, log


def test_tcp_port_taken(daemon):
    d = daemon(start=False)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", d.port))
        s.listen(1)
        log = refused(d)
    assert (f"listen 127.0.0.1@{d.port}: already in use by a process "
            f"(pid {os.getpid()}, ") in log and "(over TCP)" in log, log


def test_own_worker_threads_share_the_port(daemon):
    d = daemon(start=False)
    d.conf.write_text(d.conf.read_text().replace("workers: 1\n",
                                                 "workers: 2\n"))
    d.start()
    assert "(2 workers)" in d.logtext()
    still_serving(d)
    assert d.stop() == 0
    # and after a stop the same address is free for the next daemon
    again = daemon(start=False)
    again.conf.write_text(d.conf.read_text())
    again.port = d.port
    again.ctl = d.ctl
    again.start()
    still_serving(again)
    assert again.stop() == 0
