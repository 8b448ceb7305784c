"""The listening daemon: wire checks, access, TCP framing and limits,
signals, start-up. The daemons here have black-hole root hints (see
conftest.py), so every allowed, well-formed query is resolved and ends in
SERVFAIL with EDE "no reachable server": the wire-level behaviour is what
these tests look at.

Each test stops its daemon with SIGTERM and checks the exit status and that
the log holds no sanitizer report."""
import os
import shutil
import random
import signal
import socket
import struct
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import RESOLVERD, Answer

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


def stop_clean(d):
    """SIGTERM, exit 0, no sanitizer report, the stop logged."""
    rc = d.stop()
    log = d.logtext()
    for mark in SANITIZER_MARKS:
        assert mark not in log, log
    assert rc == 0, log
    assert "stopping" in log
    return log


def udp_exchange(port, data, timeout=2.0):
    """Send raw bytes over UDP; return the reply bytes or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def tcp_read_msg(s):
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, n)


def closed_by_peer(s, timeout):
    """True if the peer closes @s within @timeout seconds."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(4096):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def header(qid=0x4242, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)


def assert_servfail_ede(a):
    """The fixture's daemons have black-hole root hints: every resolution
    ends in SERVFAIL with an EDE saying no server could be reached."""
    assert a.status == "SERVFAIL", a
    assert any("no reachable server" in e for e in a.ede), a


def write_conf(d, extra):
    """Rewrite the daemon's config file as the fixture does, plus @extra."""
    d.conf.write_text(
        f"listen:\n  - 127.0.0.1@{d.port}\n"
        f"root_hints: {d.hints}\n"
        f"query_loopback: true\n"
        f"control_socket: {d.ctl}\n"
        f"workers: 1\n"
        f"log:\n  level: debug\n  dest: stderr\n" + extra)


def wait_log(d, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in d.logtext():
            return True
        time.sleep(0.05)
    return False


# ---- wire checks ---------------------------------------------------------

def test_formerr_qdcount_2(daemon):
    d = daemon()
    pkt = header(qd=2) + QUESTION + QUESTION
    r = dns.message.from_wire(udp_exchange(d.port, pkt), question_only=True)
    assert r.id == 0x4242
    assert r.rcode() == dns.rcode.FORMERR
    assert r.flags & dns.flags.QR and r.flags & dns.flags.RA
    stop_clean(d)


def test_formerr_qdcount_0(daemon):
    d = daemon()
    reply = udp_exchange(d.port, header(qd=0))
    r = dns.message.from_wire(reply)
    assert r.rcode() == dns.rcode.FORMERR
    assert len(r.question) == 0
    stop_clean(d)


def test_notimp(daemon):
    d = daemon()
    a = d.dig("+opcode=notify", "example.com")
    assert a.status == "NOTIMP", a
    pkt = header(flags=4 << 11) + QUESTION
    r = dns.message.from_wire(udp_exchange(d.port, pkt))
    assert r.rcode() == dns.rcode.NOTIMP
    assert r.opcode() == dns.opcode.NOTIFY
    stop_clean(d)


def test_badvers(daemon):
    d = daemon()
    a = d.dig("+edns=1", "+noednsnegotiation", "example.com")
    assert a.status == "BADVERS", a
    stop_clean(d)


def test_refused_outside_access(daemon):
    d = daemon(config_extra="access:\n  - 10.0.0.0/8\n")
    a = d.dig("example.com")
    assert a.status == "REFUSED", a
    a = d.dig("+tcp", "example.com")
    assert a.status == "REFUSED", a
    stop_clean(d)


def test_axfr_tcp_refused(daemon):
    d = daemon()
    q = dns.message.make_query("example.com", "AXFR")
    r = dns.query.tcp(q, "127.0.0.1", port=d.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    q = dns.message.make_query("example.com", "AXFR")
    r = dns.query.udp(q, "127.0.0.1", port=d.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    stop_clean(d)


def test_qr_set_no_reply(daemon):
    d = daemon()
    pkt = header(flags=0x8100) + QUESTION
    assert udp_exchange(d.port, pkt, timeout=1.0) is None
    assert udp_exchange(d.port, b"\x12\x34\x01", timeout=0.5) is None
    assert_servfail_ede(d.dig("example.com"))
    stop_clean(d)


def test_edns_answered(daemon):
    d = daemon()
    a = d.dig("example.com")
    assert "udp: 1232" in a.text, a
    assert_servfail_ede(a)
    a = d.dig("+noedns", "example.com")
    assert a.status == "SERVFAIL"
    assert "OPT PSEUDOSECTION" not in a.text
    q = dns.message.make_query("example.com", "A", use_edns=0,
                               want_dnssec=True, payload=4096)
    r = dns.query.udp(q, "127.0.0.1", port=d.port, timeout=5)
    assert r.edns == 0 and r.payload == 1232
    assert r.ednsflags & dns.flags.DO
    assert r.id == q.id
    stop_clean(d)


# ---- TCP -----------------------------------------------------------------

def test_tcp_query(daemon):
    d = daemon()
    assert_servfail_ede(d.dig("+tcp", "example.com"))
    assert_servfail_ede(d.kdig("+tcp", "+edns", "example.com"))
    stop_clean(d)


def test_tcp_pipelined(daemon):
    d = daemon()
    n = 100  # more than the per-connection pipeline cap (32)
    ids = list(range(1000, 1000 + n))
    data = b""
    for i in ids:
        w = dns.message.make_query(f"q{i}.example.", "A", id=i).to_wire()
        data += struct.pack("!H", len(w)) + w
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        s.settimeout(10)
        s.sendall(data)
        got = []
        for _ in ids:
            r = dns.message.from_wire(tcp_read_msg(s))
            assert r.rcode() == dns.rcode.SERVFAIL
            assert r.question[0].name.to_text() == f"q{r.id}.example."
            got.append(r.id)
    assert sorted(got) == ids
    stop_clean(d)


def test_tcp_half_close_still_answered(daemon):
    d = daemon()
    w = dns.message.make_query("example.com", "A", id=77).to_wire()
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        s.settimeout(5)
        s.sendall(struct.pack("!H", len(w)) + w)
        s.shutdown(socket.SHUT_WR)
        r = dns.message.from_wire(tcp_read_msg(s))
        assert r.id == 77
        assert closed_by_peer(s, 5)
    stop_clean(d)


def test_tcp_short_length_closes(daemon):
    d = daemon()
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        s.sendall(b"\x00\x05hello")
        assert closed_by_peer(s, 5)
    assert_servfail_ede(d.dig("+tcp", "example.com"))
    stop_clean(d)


def test_tcp_idle_timeout(daemon):
    d = daemon(config_extra="tcp:\n  idle_timeout: 500\n")
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        t0 = time.monotonic()
        assert closed_by_peer(s, 5)
        assert 0.3 < time.monotonic() - t0 < 4
    # A query resets the timer; the connection serves it first.
    w = dns.message.make_query("example.com", "A", id=5).to_wire()
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        s.settimeout(5)
        time.sleep(0.3)
        s.sendall(struct.pack("!H", len(w)) + w)
        assert dns.message.from_wire(tcp_read_msg(s)).id == 5
        assert closed_by_peer(s, 5)
    stop_clean(d)


def test_tcp_connection_cap(daemon):
    d = daemon(config_extra="tcp:\n  max_clients: 2\n")
    w = dns.message.make_query("example.com", "A", id=9).to_wire()
    held = []
    try:
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", d.port), 5)
            s.settimeout(5)
            s.sendall(struct.pack("!H", len(w)) + w)
            assert dns.message.from_wire(tcp_read_msg(s)).id == 9
            held.append(s)
        with socket.create_connection(("127.0.0.1", d.port), 5) as s:
            assert closed_by_peer(s, 5)
        # The connections already open still work.
        held[0].sendall(struct.pack("!H", len(w)) + w)
        assert dns.message.from_wire(tcp_read_msg(held[0])).id == 9
    finally:
        for s in held:
            s.close()
    # Once they are gone, new connections are served again.
    deadline = time.monotonic() + 5
    while True:
        a = d.dig("+tcp", "example.com")
        if a.status == "SERVFAIL" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert_servfail_ede(a)
    stop_clean(d)


def test_tcp_connection_cap_is_daemon_wide(daemon):
    """tcp.max_clients bounds the whole daemon, not each worker thread:
    with two workers and a cap of 3, at most 3 of 8 clients are held."""
    d = daemon(config_extra="tcp:\n  max_clients: 3\n", start=False)
    d.conf.write_text(d.conf.read_text().replace("workers: 1", "workers: 2"))
    d.start()
    assert "(2 workers)" in d.logtext()
    w = dns.message.make_query("example.com", "A", id=7).to_wire()
    socks, served = [], 0
    try:
        for _ in range(8):
            # distinct source ports spread over both threads' listeners
            s = socket.create_connection(("127.0.0.1", d.port), 5)
            s.settimeout(3)
            socks.append(s)
        for s in socks:
            try:
                s.sendall(struct.pack("!H", len(w)) + w)
                if dns.message.from_wire(tcp_read_msg(s)).id == 7:
                    served += 1
            except (OSError, ValueError, EOFError):
                pass
    finally:
        for s in socks:
            s.close()
    assert served == 3, served
    stop_clean(d)


# ---- garbage -------------------------------------------------------------

def mutations(rng, n):
    """Random datagrams: pure noise, and valid queries with flipped bytes."""
    base = [dns.message.make_query("www.example.com", "A").to_wire(),
            dns.message.make_query("example.org", "AAAA", use_edns=0,
                                   want_dnssec=True).to_wire()]
    for i in range(n):
        if i % 2:
            yield rng.randbytes(rng.randrange(0, 600))
        else:
            b = bytearray(rng.choice(base))
            for _ in range(rng.randrange(1, 6)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            if rng.random() < 0.2:
                b += rng.randbytes(rng.randrange(1, 40))
            if rng.random() < 0.2:
                del b[rng.randrange(len(b)):]
            yield bytes(b)


def test_garbage_udp(daemon):
    d = daemon()
    rng = random.Random(53)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        for i, pkt in enumerate(mutations(rng, 1000)):
            s.sendto(pkt, ("127.0.0.1", d.port))
            if i % 50 == 0:
                time.sleep(0.01)
            try:
                while s.recv(65535):
                    pass
            except BlockingIOError:
                pass
    assert d.proc.poll() is None
    assert_servfail_ede(d.dig("example.com"))
    assert_servfail_ede(d.dig("+tcp", "example.com"))
    stop_clean(d)


def test_udp_burst_each_query_answered_once(daemon):
    """A burst is read in batches (recvmmsg) and answered in batches
    (sendmmsg): every client still gets exactly its own answers, each with
    its ID and the right rcode."""
    d = daemon()
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    question = b"\x07example\x03com\x00\x00\x01\x00\x01"
    want, got = {}, {}
    try:
        # rounds of 60 datagrams: a batch's worth several times over, yet
        # well within the daemon's socket buffer even when it is starved
        # of CPU for a moment (a small datagram costs ~1 KB of it)
        for rnd in range(5):
            for i in range(rnd * 60, rnd * 60 + 60):
                qid = 1000 + i
                if i % 2:       # opcode STATUS: NOTIMP
                    pkt = struct.pack(">HHHHHH", qid, 2 << 11, 1, 0, 0,
                                      0) + question
                    want[(i % 3, qid)] = dns.rcode.NOTIMP
                else:           # no question: FORMERR
                    pkt = struct.pack(">HHHHHH", qid, 0x0100, 0, 0, 0, 0)
                    want[(i % 3, qid)] = dns.rcode.FORMERR
                socks[i % 3].sendto(pkt, ("127.0.0.1", d.port))
            deadline = time.monotonic() + 10
            while len(got) < len(want) and time.monotonic() < deadline:
                for k, s in enumerate(socks):
                    s.settimeout(0.05)
                    try:
                        data = s.recv(65535)
                    except socket.timeout:
                        continue
                    qid, flags = struct.unpack(">HH", data[:4])
                    assert (k, qid) not in got, f"answered twice: {qid}"
                    got[(k, qid)] = flags & 0xF
    finally:
        for s in socks:
            s.close()
    assert got == want
    assert d.proc.poll() is None
    stop_clean(d)


def test_udp_listener_has_a_large_receive_buffer(daemon):
    """A burst of queries waits in the listener's receive buffer while the
    loop is busy: the kernel's default (~200 small datagrams) lost 1 % of a
    dnsperf run with 500 queries outstanding. As root the daemon forces
    4 MiB (the kernel reports twice what was set)."""
    d = daemon()
    out = subprocess.run(["ss", "-u", "-l", "-n", "-m"], capture_output=True,
                         text=True, timeout=10).stdout
    lines = out.splitlines()
    where = [i for i, ln in enumerate(lines) if f"127.0.0.1:{d.port} " in ln]
    assert where, out
    mem = " ".join(lines[where[0]:where[0] + 2])
    rb = int(mem.split(",rb")[1].split(",")[0])
    if os.geteuid() == 0:
        assert rb >= 4 << 20, mem
    else:
        assert rb > 0, mem
    stop_clean(d)


def test_kernel_drops_are_counted(daemon):
    """Queries the kernel dropped before the daemon could read them show in
    `resolverctl stats` as dropped.kernel: stop the daemon, overfill its
    receive buffer with responses (QR set: the daemon drops them without a
    reply), let it go on."""
    d = daemon()

    def kernel_drops():
        out = d.ctl_run("stats").stdout
        return int(out.split("dropped.kernel")[1].split()[0])

    assert kernel_drops() == 0
    resp = struct.pack(">HHHHHH", 1, 0x8180, 0, 0, 0, 0)
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            for _ in range(40000):      # ~40 MB of kernel memory > 8 MB
                try:
                    s.sendto(resp, ("127.0.0.1", d.port))
                except BlockingIOError:
                    time.sleep(0.001)
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while kernel_drops() == 0:
        assert time.monotonic() < deadline, "no kernel drops counted"
        time.sleep(0.1)
    assert d.proc.poll() is None
    stop_clean(d)


def test_garbage_tcp(daemon):
    d = daemon()
    rng = random.Random(35)
    for i in range(60):
        with socket.create_connection(("127.0.0.1", d.port), 5) as s:
            if i % 3 == 0:
                data = rng.randbytes(rng.randrange(1, 3000))
            else:
                data = b""
                for pkt in mutations(rng, rng.randrange(1, 8)):
                    pkt = pkt[:65535]
                    data += struct.pack("!H", len(pkt)) + pkt
                if i % 3 == 2:
                    data = data[:rng.randrange(len(data) + 1)]
            try:
                s.sendall(data)
                s.settimeout(0.2)
                while s.recv(65535):
                    pass
            except (OSError, socket.timeout):
                pass
    # A message announced as 65535 bytes and never finished, then closed.
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        s.sendall(b"\xff\xff" + rng.randbytes(40000))
    assert d.proc.poll() is None
    assert_servfail_ede(d.dig("+tcp", "example.com"))
    assert_servfail_ede(d.dig("example.com"))
    stop_clean(d)


# ---- CH class: who are you ------------------------------------------------

def test_chaos_default_refused(daemon):
    """Unless told to, the daemon does not say its version or name."""
    d = daemon()
    for name in ("version.bind", "hostname.bind", "id.server"):
        a = d.dig(name, "TXT", "CH")
        assert a.status == "REFUSED", a.text
        assert a.ede, a.text
    stop_clean(d)


def test_chaos_configured_answers(daemon):
    d = daemon(config_extra='chaos:\n  version: "resolverd test"\n'
               '  id: "lab-1"\n')
    a = d.dig("VERSION.bind", "TXT", "CH")
    assert a.status == "NOERROR" and "aa" in a.flags, a.text
    assert a.rdatas("TXT") == ['"resolverd test"'], a.text
    assert a.rrs()[0][2] == "CH", a.text
    assert d.dig("id.server", "TXT", "CH").rdatas("TXT") == ['"lab-1"']
    # unset key, other names and other classes stay refused
    assert d.dig("hostname.bind", "TXT", "CH").status == "REFUSED"
    assert d.dig("version.bind", "A", "CH").status == "REFUSED"
    assert d.dig("authors.bind", "TXT", "CH").status == "REFUSED"
    assert d.dig("version.bind", "TXT", "HS").status == "REFUSED"
    # and RD=0 asks the same
    a = d.dig("+norec", "version.bind", "TXT", "CH")
    assert a.rdatas("TXT") == ['"resolverd test"'], a.text
    stop_clean(d)


# ---- signals and configuration -------------------------------------------

def test_sighup_broken_keeps_old(daemon):
    d = daemon()
    assert_servfail_ede(d.dig("example.com"))
    write_conf(d, "access:\n  - 10.0.0.0/8\ntcp:\n  max_clients: [oops\n")
    d.signal(signal.SIGHUP)
    assert wait_log(d, "reload failed"), d.logtext()
    assert f"{d.conf}:" in d.logtext()
    assert_servfail_ede(d.dig("example.com"))  # not REFUSED: old access
    stop_clean(d)


def test_sighup_applies_new(daemon):
    d = daemon()
    assert_servfail_ede(d.dig("example.com"))
    write_conf(d, "access:\n  - 10.0.0.0/8\n")
    d.signal(signal.SIGHUP)
    assert wait_log(d, "reloaded configuration"), d.logtext()
    assert d.dig("example.com").status == "REFUSED"
    # And back: 127.0.0.1 allowed again.
    write_conf(d, "access:\n  - 127.0.0.1\n")
    d.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while d.logtext().count("reloaded configuration") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert_servfail_ede(d.dig("example.com"))
    # the listen addresses did not change: no warning that they did
    assert "listen addresses changed" not in d.logtext(), d.logtext()
    stop_clean(d)


def test_sighup_listen_change_warns(daemon):
    d = daemon()
    d.conf.write_text(d.conf.read_text().replace(
        f"127.0.0.1@{d.port}", f"127.0.0.1@{d.port}\n  - 127.0.0.2@{d.port}"))
    d.signal(signal.SIGHUP)
    assert wait_log(d, "reloaded configuration"), d.logtext()
    assert "listen addresses changed; they take effect after a restart" \
        in d.logtext()
    stop_clean(d)


def test_sigterm_exit_0(daemon):
    d = daemon()
    assert_servfail_ede(d.dig("+tcp", "example.com"))
    log = stop_clean(d)
    assert "started: listening on 127.0.0.1@" in log


def test_sigint_with_open_connection(daemon):
    d = daemon()
    with socket.create_connection(("127.0.0.1", d.port), 5) as s:
        s.sendall(b"\x00\x40abc")  # a partial message pending
        time.sleep(0.1)
        d.signal(signal.SIGINT)
        assert d.proc.wait(10) == 0
    log = d.logtext()
    for mark in SANITIZER_MARKS:
        assert mark not in log, log
    d.stop()


def test_bind_error_fatal(daemon):
    d = daemon(start=False)
    d.conf.write_text(d.conf.read_text().replace(
        f"127.0.0.1@{d.port}", f"127.0.0.1@{d.port}\n  - 192.0.2.1@{d.port}"))
    d.start(wait=False)
    assert d.proc.wait(10) == 1
    assert "192.0.2.1" in d.logtext()
    d.stop()


# ---- command line --------------------------------------------------------

def run_rd(*args):
    return subprocess.run([str(RESOLVERD)] + list(args), capture_output=True,
                          text=True, timeout=10)


def test_check_option(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("listen:\n  - 127.0.0.1@5353\n")
    p = run_rd("--check", "-c", str(good))
    assert p.returncode == 0, p.stderr
    assert "127.0.0.1@5353" in p.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen:\n  - 127.0.0.1@5353\nno_such_key: 1\n")
    p = run_rd("--check", "--config", str(bad))
    assert p.returncode == 2
    assert f"{bad}:3" in p.stderr
    p = run_rd("-c", str(bad))
    assert p.returncode == 2
    assert f"{bad}:3" in p.stderr
    p = run_rd("-c", str(tmp_path / "missing.yaml"))
    assert p.returncode == 2 and p.stderr
    p = run_rd("--check")
    assert p.returncode == 0 and "127.0.0.1@53" in p.stdout


def test_help_version_usage():
    p = run_rd("--version")
    assert p.returncode == 0 and p.stdout.startswith("resolverd ")
    p = run_rd("-h")
    assert p.returncode == 0 and "--config" in p.stdout
    p = run_rd("--bogus")
    assert p.returncode == 2
    p = run_rd("extra-argument")
    assert p.returncode == 2


def port53_free():
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", 53))
        except OSError:
            return False
        finally:
            s.close()
    return True


def test_defaults_no_config(tmp_path):
    """resolverd with no config at all: built-in defaults, IANA root hints.
    It runs in a private network namespace holding only a loopback, so its
    priming and resolution cannot send a packet off this machine."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private network namespace")
    logpath = tmp_path / "resolverd.log"
    script = f"""
ip link set lo up || exit 90
{RESOLVERD} >{logpath} 2>&1 &
pid=$!
for i in $(seq 1 100); do
    dig @127.0.0.1 +tcp +tries=1 +time=1 . NS >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || exit 91
    sleep 0.1
done
dig @127.0.0.1 +tries=1 +time=8 example.com
kill -TERM $pid
wait $pid
echo "EXIT=$?"
"""
    p = subprocess.run(["unshare", "-n", "bash", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "EXIT=0" in p.stdout, p.stdout
    assert_servfail_ede(Answer(p.stdout, 0))
    log = logpath.read_text()
    assert "started: listening on 127.0.0.1@53" in log
    for mark in SANITIZER_MARKS:
        assert mark not in log, log
    # no root server answers: said once, with what to try instead, however
    # many workers primed and questions failed the same way
    offline = [ln for ln in log.splitlines() if "no root server answers" in ln]
    assert len(offline) == 1, log
    assert "is this machine offline?" in offline[0] and "`make demo`" in offline[0]
    assert log.count("no reachable server for zone .") >= 2, log
