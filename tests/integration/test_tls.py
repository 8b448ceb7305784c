"""DNS over TLS (RFC 7858): `tls: {listen, cert, key}`.

A test CA and server certificate for dns.test (and 127.0.0.1) are made
with certtool (gnutls-bin) in a temporary directory. Clients: kdig +tls,
gnutls-cli (resumption) and Python's ssl module (OpenSSL: TLS 1.2 and 1.3,
pipelining, a half ClientHello). Most tests run on the black-hole root
hints (every miss is a fast SERVFAIL with EDE 22, which is an answer);
the first one asks the lab for a real answer."""
import json
import re
import signal
import socket
import ssl
import struct
import subprocess
import time
import urllib.request

import dns.message
import dns.rcode
import pytest

from conftest import HINTS, RESOLVERD, free_port, lab_addr

HOST = "dns.test"


def certtool(*args, stdin=None):
    subprocess.run(["certtool", *args], check=True, capture_output=True,
                   timeout=60, input=stdin, text=True)


def server_pair(d, name, ca, ca_key, serial):
    """A key and a certificate for dns.test signed by the CA."""
    key, cert, tmpl = d / f"{name}.key", d / f"{name}.pem", d / f"{name}.tmpl"
    tmpl.write_text(f'cn = "{HOST}"\ndns_name = "{HOST}"\n'
                    'ip_address = "127.0.0.1"\ntls_www_server\n'
                    f"serial = {serial}\nexpiration_days = 2\n")
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", str(key))
    certtool("--generate-certificate", "--load-privkey", str(key),
             "--load-ca-certificate", str(ca), "--load-ca-privkey",
             str(ca_key), "--template", str(tmpl), "--outfile", str(cert))
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """{ca, cert, key, cert2, key2}: a CA and two server pairs."""
    d = tmp_path_factory.mktemp("pki")
    ca_key, ca = d / "ca.key", d / "ca.pem"
    (d / "ca.tmpl").write_text('cn = "resolverd test CA"\nca\n'
                               "cert_signing_key\nexpiration_days = 2\n")
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile",
             str(ca_key))
    certtool("--generate-self-signed", "--load-privkey", str(ca_key),
             "--template", str(d / "ca.tmpl"), "--outfile", str(ca))
    cert, key = server_pair(d, "server", ca, ca_key, 1)
    cert2, key2 = server_pair(d, "server2", ca, ca_key, 2)
    return {"dir": d, "ca": ca, "cert": cert, "key": key, "cert2": cert2,
            "key2": key2}


def tls_conf(port, cert, key, extra=""):
    return (f"tls:\n  listen: [127.0.0.1@{port}]\n"
            f"  cert: {cert}\n  key: {key}\n" + extra)


def tls_daemon(daemon, pki, extra="", hints=None, cert=None, key=None):
    port = free_port()
    d = daemon(config_extra=tls_conf(port, cert or pki["cert"],
                                     key or pki["key"], extra),
               hints=hints)
    d.tls = port
    return d


def context(pki, version=None):
    c = ssl.create_default_context(cafile=str(pki["ca"]))
    if version == "1.2":
        c.maximum_version = ssl.TLSVersion.TLSv1_2
    elif version == "1.3":
        c.minimum_version = ssl.TLSVersion.TLSv1_3
    c.set_alpn_protocols(["dot"])
    return c


def connect(d, pki, version=None, timeout=5.0):
    raw = socket.create_connection(("127.0.0.1", d.tls), timeout)
    try:
        return context(pki, version).wrap_socket(raw, server_hostname=HOST)
    except BaseException:
        raw.close()
        raise


def framed(msg):
    w = msg.to_wire()
    return struct.pack("!H", len(w)) + w


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_msg(s):
    (n,) = struct.unpack("!H", read_exact(s, 2))
    return dns.message.from_wire(read_exact(s, n))


def ask(s, name, rdtype="A"):
    q = dns.message.make_query(name, rdtype)
    s.sendall(framed(q))
    r = read_msg(s)
    assert r.id == q.id
    return r


def stats(d):
    return json.loads(d.ctl_run("stats", "--json").stdout.splitlines()[0])


def closed_within(s, seconds):
    """True when the server closes @s (EOF, reset or a TLS alert) within
    @seconds."""
    s.settimeout(seconds)
    try:
        return s.recv(100) == b""
    except socket.timeout:
        return False
    except (ConnectionError, ssl.SSLError):
        return True


def test_kdig_gets_the_answer(lab, daemon, pki):
    """kdig +tls, verifying the certificate against the test CA: the lab's
    answer, over TLS 1.3; counted as a TLS query, not a TCP one."""
    d = tls_daemon(daemon, pki, hints=HINTS)
    p = subprocess.run(["kdig", "@127.0.0.1", "-p", str(d.tls), "+tls",
                        f"+tls-ca={pki['ca']}", f"+tls-hostname={HOST}",
                        "+timeout=5", "+retry=0", "www.example.com", "A"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "status: NOERROR" in p.stdout, p.stdout
    assert re.search(r"www\.example\.com\.\s+\d+\s+IN\s+A\s+" +
                     re.escape(lab_addr("200.1")), p.stdout), p.stdout
    assert "TLS session (TLS1.3)" in p.stdout, p.stdout
    s = stats(d)
    assert s["queries.tls"] == 1
    assert s["queries.tcp"] == 0 and s["queries.udp"] == 0
    assert s["tls.handshakes"] == 1


def test_wrong_hostname_is_refused_by_the_client(daemon, pki):
    """The certificate is checked by the client: another name fails (so the
    test above shows a verified session, not any session)."""
    d = tls_daemon(daemon, pki)
    p = subprocess.run(["kdig", "@127.0.0.1", "-p", str(d.tls), "+tls",
                        f"+tls-ca={pki['ca']}", "+tls-hostname=other.test",
                        "+timeout=3", "+retry=0", "x.test", "A"],
                       capture_output=True, text=True, timeout=30)
    assert "status:" not in p.stdout, p.stdout


@pytest.mark.parametrize("version,name", [("1.2", "TLSv1.2"),
                                          ("1.3", "TLSv1.3")])
def test_tls_versions(daemon, pki, version, name):
    """TLS 1.2 and 1.3 both serve, with ALPN "dot"."""
    d = tls_daemon(daemon, pki)
    with connect(d, pki, version) as s:
        assert s.version() == name
        assert s.selected_alpn_protocol() == "dot"
        r = ask(s, "v.test")
        assert r.rcode() == dns.rcode.SERVFAIL
        assert r.question[0].name.to_text() == "v.test."
    assert stats(d)["queries.tls"] == 1


def test_old_versions_refused(daemon, pki):
    """TLS 1.1 and older are not offered."""
    d = tls_daemon(daemon, pki)
    p = subprocess.run(["gnutls-cli", f"--x509cafile={pki['ca']}",
                        "--port", str(d.tls), "--verify-hostname", HOST,
                        "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.1",
                        "127.0.0.1"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "Handshake was completed" not in p.stdout + p.stderr


@pytest.mark.parametrize("priority", ["NORMAL:-VERS-ALL:+VERS-TLS1.3",
                                      "NORMAL:-VERS-ALL:+VERS-TLS1.2"])
def test_session_resumption(daemon, pki, priority):
    """gnutls-cli --resume: the second connection resumes the first's
    session from its ticket, in TLS 1.3 and in TLS 1.2 (workers: 2, so the
    two connections may well land on different threads: the ticket key is
    the process's)."""
    d = tls_daemon(daemon, pki)
    d.conf.write_text(d.conf.read_text().replace("workers: 1\n",
                                                 "workers: 2\n"))
    d.stop()
    d.start()
    p = subprocess.run(["gnutls-cli", f"--x509cafile={pki['ca']}",
                        "--port", str(d.tls), "--verify-hostname", HOST,
                        "--priority", priority, "--resume", "127.0.0.1"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    assert "*** This is a resumed session" in p.stdout, p.stdout + p.stderr
    s = stats(d)
    assert s["tls.handshakes"] == 2
    assert s["tls.resumed"] == 1


def test_pipelined_queries(daemon, pki):
    """Twenty queries in one write: twenty answers, each matching its
    query (in whatever order they come)."""
    d = tls_daemon(daemon, pki)
    with connect(d, pki) as s:
        qs = [dns.message.make_query(f"p{i}.test", "A") for i in range(20)]
        s.sendall(b"".join(framed(q) for q in qs))
        got = {}
        for _ in qs:
            r = read_msg(s)
            got[r.id] = r.question[0].name.to_text()
        assert got == {q.id: q.question[0].name.to_text() for q in qs}
    assert stats(d)["queries.tls"] == 20


def client_hello(pki):
    """The first flight of a real TLS client, as bytes."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context(pki).wrap_bio(inc, out, server_hostname=HOST)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_stalled_handshakes_block_nobody(daemon, pki):
    """One worker thread; a client that connects and says nothing, and one
    that sends half a ClientHello and stops. Another client meanwhile
    completes its handshake and gets each of its answers at once; the two
    stalled ones are closed by the handshake deadline (here the idle
    timeout, 1.5 s, being shorter than 5 s)."""
    d = tls_daemon(daemon, pki, extra="tcp:\n  idle_timeout: 1500\n")
    hello = client_hello(pki)
    silent = socket.create_connection(("127.0.0.1", d.tls), 5)
    half = socket.create_connection(("127.0.0.1", d.tls), 5)
    try:
        half.sendall(hello[:len(hello) // 2])
        time.sleep(0.2)
        start = time.monotonic()
        with connect(d, pki, timeout=1.0) as s:
            for i in range(5):
                t = time.monotonic()
                assert ask(s, f"prompt{i}.test").rcode() == dns.rcode.SERVFAIL
                assert time.monotonic() - t < 1.0
        assert time.monotonic() - start < 1.5
        # the stalled ones are closed by the deadline, not before
        assert closed_within(silent, 4.0)
        assert closed_within(half, 1.0)
        assert time.monotonic() - start > 1.0
    finally:
        silent.close()
        half.close()
    s = stats(d)
    assert s["tls.handshake_timeouts"] == 2
    assert s["tls.handshakes"] == 1


def test_idle_connection_closed(daemon, pki):
    """After the handshake a TLS connection has the idle timeout of TCP."""
    d = tls_daemon(daemon, pki, extra="tcp:\n  idle_timeout: 500\n")
    with connect(d, pki) as s:
        assert ask(s, "idle.test").rcode() == dns.rcode.SERVFAIL
        t = time.monotonic()
        assert closed_within(s, 5.0)
        assert time.monotonic() - t > 0.3
    s = stats(d)
    assert s["tls.handshake_timeouts"] == 0


def test_tls_counts_in_max_clients(daemon, pki):
    """tcp.max_clients bounds TCP and TLS connections together: with one
    of each open and a cap of 2, a third (TLS) is closed at once; when one
    goes, a new one is served."""
    d = tls_daemon(daemon, pki, extra="tcp:\n  max_clients: 2\n")
    a = connect(d, pki)
    b = socket.create_connection(("127.0.0.1", d.port), 5)
    try:
        assert ask(a, "a.test").rcode() == dns.rcode.SERVFAIL
        b.sendall(framed(dns.message.make_query("b.test", "A")))
        assert read_msg(b).rcode() == dns.rcode.SERVFAIL
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            with connect(d, pki, timeout=3.0) as c:
                ask(c, "c.test")
        a.close()
        deadline = time.monotonic() + 5
        while True:
            try:
                with connect(d, pki, timeout=3.0) as c:
                    assert ask(c, "d.test").rcode() == dns.rcode.SERVFAIL
                break
            except (ssl.SSLError, ConnectionError, EOFError, OSError):
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        a.close()
        b.close()


def test_garbage_closes_the_connection(daemon, pki):
    """Bytes that are not TLS: the connection is closed, counted as a TLS
    failure; the daemon goes on serving."""
    d = tls_daemon(daemon, pki)
    with socket.create_connection(("127.0.0.1", d.tls), 5) as g:
        g.sendall(b"GET / HTTP/1.0\r\n\r\n" * 4)
        assert closed_within(g, 3.0)
    with connect(d, pki) as s:
        assert ask(s, "after.test").rcode() == dns.rcode.SERVFAIL
    assert stats(d)["tls.failed"] == 1


@pytest.mark.parametrize("case", ["garbage-key", "other-key", "not-a-cert"])
def test_bad_pair_at_start(daemon, pki, tmp_path, case):
    """A key or certificate that does not load stops the start (and
    --check) with status 2 and FILE:LINE: the key, the file and why."""
    bad = tmp_path / "bad.pem"
    bad.write_text("this is not PEM\n")
    cert, key = pki["cert"], pki["key"]
    if case == "garbage-key":
        key, why = bad, f"tls.key: {bad}: not a private key"
    elif case == "other-key":
        key = pki["key2"]
        why = f"tls.key: {key}: does not match the certificate in {cert}"
    else:
        cert, why = bad, f"tls.cert: {bad}: no certificate in it"
    port = free_port()
    d = daemon(config_extra=tls_conf(port, cert, key), start=False)
    field = "cert" if case == "not-a-cert" else "key"
    line = next(i for i, text in enumerate(d.conf.read_text().splitlines(), 1)
                if text.startswith(f"  {field}: "))
    for args in ([], ["--check"]):
        p = subprocess.run([str(RESOLVERD), "-c", str(d.conf), *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith(f"resolverd: {d.conf}:{line}: {why}"), \
            p.stderr
    # and nothing was left listening
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), 1).close()


def peer_cert(d, pki):
    with connect(d, pki) as s:
        return s.getpeercert(binary_form=True)


def der(path):
    return ssl.PEM_cert_to_DER_cert(path.read_text()[
        path.read_text().index("-----BEGIN CERTIFICATE-----"):])


def wait_log(d, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while text not in d.logtext():
        assert time.monotonic() < deadline, d.logtext()[-2000:]
        time.sleep(0.05)


def test_reload_certificate(daemon, pki, tmp_path):
    """SIGHUP loads the pair again: a key that does not load is reported
    and the pair in use kept; a renewed pair is used by new connections,
    while a connection made before goes on with the old one."""
    cert, key = tmp_path / "live.pem", tmp_path / "live.key"
    cert.write_bytes(pki["cert"].read_bytes())
    key.write_bytes(pki["key"].read_bytes())
    d = tls_daemon(daemon, pki, cert=cert, key=key)
    first = der(pki["cert"])
    assert peer_cert(d, pki) == first

    key.write_text("garbage\n")
    d.signal(signal.SIGHUP)
    wait_log(d, "keeping the TLS certificate and key in use")
    assert f"tls.key: {key}: not a private key" in d.logtext()
    assert peer_cert(d, pki) == first

    old = connect(d, pki)
    try:
        cert.write_bytes(pki["cert2"].read_bytes())
        key.write_bytes(pki["key2"].read_bytes())
        d.signal(signal.SIGHUP)
        wait_log(d, f"reload: TLS certificate {cert} and key {key} loaded")
        assert peer_cert(d, pki) == der(pki["cert2"]) != first
        assert ask(old, "old.test").rcode() == dns.rcode.SERVFAIL
    finally:
        old.close()


def test_metrics_transport_tls(daemon, pki):
    """GET /metrics has transport="tls" rows: the queries read and the
    answers by rcode, apart from TCP's."""
    http = free_port()
    d = tls_daemon(daemon, pki,
                   extra=f"http:\n  listen: [127.0.0.1@{http}]\n")
    with connect(d, pki) as s:
        for i in range(3):
            assert ask(s, f"m{i}.test").rcode() == dns.rcode.SERVFAIL
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics",
                                timeout=10) as r:
        text = r.read().decode()
    rows = dict(line.rsplit(" ", 1) for line in text.splitlines()
                if line and not line.startswith("#"))
    t = 'tier="main"'
    assert rows[f'resolverd_queries_received_total{{{t},transport="tls"}}'] \
        == "3"
    assert rows[f'resolverd_queries_received_total{{{t},transport="tcp"}}'] \
        == "0"
    assert rows[f'resolverd_queries_total{{{t},transport="tls",'
                'rcode="SERVFAIL"}'] == "3"
    assert rows[f'resolverd_queries_total{{{t},transport="tcp",'
                'rcode="SERVFAIL"}'] == "0"
