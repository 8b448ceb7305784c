"""resolverd -c FILE --check: configuration errors and the printed config.

The daemon loads FILE; on an error it prints the cfg_load message
("FILE:LINE: message") to stderr and exits 2; with a good file it prints the
effective configuration (YAML that loads again) and exits 0. Nothing here
binds a socket or needs the lab."""
import subprocess

import pytest

from conftest import RESOLVERD, NET

EXIT_CONFIG = 2


def check(path, *extra):
    return subprocess.run([str(RESOLVERD), "-c", str(path), "--check", *extra],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def conf(tmp_path):
    """Write a config file; return its path."""
    def write(text, name="resolverd.yaml"):
        p = tmp_path / name
        p.write_text(text)
        return p
    return write


# (id, file text, line of the error, a fragment of the message)
ERRORS = [
    ("syntax", "workers: 1\nlisten: [127.0.0.1\nuser: x\n", 3,
     "YAML syntax error"),
    ("syntax-indent", "cache:\n  size: 1M\n bad: x\n", 3,
     "YAML syntax error"),
    ("unknown-key", "# comment\nworkers: 2\nlsiten: 127.0.0.1@53\n", 3,
     "unknown key 'lsiten' (did you mean 'listen'?)"),
    ("unknown-nested-key", "cache:\n  max_ttl: 60\n  sise: 1M\n", 3,
     "unknown key 'cache.sise' (did you mean 'cache.size'?)"),
    ("duplicate-key", "workers: 1\nuser: a\nworkers: 2\n", 3,
     "duplicate key 'workers'"),
    ("mapping-for-scalar", "workers: 1\nuser:\n  name: x\n", 2,
     "'user' must be a scalar, not a mapping"),
    ("scalar-for-mapping", "cache: 64M\n", 1,
     "'cache' must be a mapping, not a scalar"),
    ("sequence-for-scalar", "\nworkers: [1, 2]\n", 2,
     "'workers' must be a scalar, not a sequence"),
    ("bad-address", "listen:\n  - 127.0.0.1@53\n  - 300.1.2.3@53\n", 3,
     "bad listen address '300.1.2.3@53'"),
    ("bad-port", "listen: 127.0.0.1@70000\n", 1,
     "bad listen address"),
    ("bad-cidr", "access:\n  - 10.0.0.0/33\n", 2,
     "bad access prefix '10.0.0.0/33'"),
    ("host-bits", "access:\n  - 127.0.0.0/8\n  - 10.0.0.1/8\n", 3,
     "host bits set in 10.0.0.1/8"),
    ("out-of-range", "workers: 1\ncache:\n  max_ttl: 604801\n", 3,
     "0..604800"),
    ("out-of-range-top", "workers: 257\n", 1, "0..256"),
    ("not-a-number", "tcp:\n  max_clients: many\n", 2, "1..65535"),
    ("min-above-max", "cache:\n  max_ttl: 10\n  min_ttl: 20\n", 3,
     "must not exceed"),
    ("bad-size-suffix", "cache:\n  size: 64X\n", 2, "bad size suffix"),
    ("size-out-of-range", "cache:\n  size: 1k\n", 2, "64k..64G"),
    ("bad-bool", "qname_minimisation: perhaps\n", 1, "boolean"),
    ("bad-level", "log:\n  level: loud\n", 2, "'log.level'"),
    ("top-level-sequence", "- listen\n- access\n", 1,
     "top level must be a mapping"),
    ("top-level-scalar", "\nhello\n", 2, "top level must be a mapping"),
    ("too-many-listen",
     "listen:\n" + "".join(f"  - 127.0.0.1@{5000 + i}\n" for i in range(17)),
     18, "too many 'listen' entries"),
    ("too-many-access",
     "access:\n" + "".join(f"  - 10.{i}.0.0/16\n" for i in range(65)),
     66, "too many 'access' entries"),
]


@pytest.mark.parametrize("text,line,fragment",
                         [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_config_error(conf, text, line, fragment):
    path = conf(text)
    p = check(path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert f"{path}:{line}: " in p.stderr, p.stderr
    assert fragment in p.stderr, p.stderr
    assert p.stdout == ""


def test_missing_hints_file(conf, tmp_path):
    missing = tmp_path / "no-such.hints"
    path = conf(f"workers: 1\n\nroot_hints: {missing}\n")
    p = check(path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert f"{path}:3: " in p.stderr, p.stderr
    assert str(missing) in p.stderr


def test_missing_config_file(tmp_path):
    path = tmp_path / "missing.yaml"
    p = check(path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert f"{path}: cannot open" in p.stderr, p.stderr


def test_missing_config_file_without_check(tmp_path):
    path = tmp_path / "missing.yaml"
    p = subprocess.run([str(RESOLVERD), "-c", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert str(path) in p.stderr


def test_check_prints_effective_config(conf, tmp_path):
    hints = tmp_path / "root.hints"
    hints.write_text(".\t3600000\tNS\tA.ROOT-SERVERS.NET.\n"
                     f"A.ROOT-SERVERS.NET.\t3600000\tA\t{NET}.0.1\n")
    path = conf("listen:\n  - 127.0.0.1@5353\n  - \"::1@5354\"\n"
                f"root_hints: {hints}\n"
                "access: [192.0.2.0/24]\n"
                "cache:\n  size: 16M\n  max_ttl: 3600\n"
                "log:\n  level: debug\n")
    p = check(path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    # the values given
    assert "listen:" in out
    assert "127.0.0.1@5353" in out and "::1@5354" in out
    assert "127.0.0.1@53\"" not in out      # the default list was replaced
    assert str(hints) in out
    assert "192.0.2.0/24" in out and "127.0.0.0/8" not in out
    assert "size: 16M" in out and "max_ttl: 3600" in out
    assert "level: debug" in out
    # and the defaults for the rest
    assert "control_socket: \"/run/resolverd.ctl\"" in out
    assert "workers: 0" in out
    assert "min_ttl: 0" in out and "negative_ttl: 3600" in out
    assert "dest: \"stderr\"" in out and "queries: false" in out
    assert "qname_minimisation: true" in out
    assert "idle_timeout: 10000" in out and "max_clients: 256" in out
    assert "max_sends: 32" in out and "max_time: 10000" in out


def test_check_empty_file_is_defaults(conf):
    p = check(conf("# only a comment\n"))
    assert p.returncode == 0, p.stderr
    assert "127.0.0.1@53" in p.stdout and "::1@53" in p.stdout
    assert "127.0.0.0/8" in p.stdout and "::1/128" in p.stdout


@pytest.mark.parametrize("text", [
    "",
    "listen: 127.0.0.1@5353\nworkers: 3\nuser: nobody\n"
    "cache: {size: 100000, min_ttl: 5, max_ttl: 600, negative_ttl: 60}\n"
    "log: {level: warning, dest: syslog, queries: yes}\n"
    "qname_minimisation: off\n"
    "tcp: {idle_timeout: 250, max_clients: 9}\n"
    "limits: {max_sends: 7, max_glueless: 0, max_cname: 3, max_depth: 4, "
    "max_time: 1500}\n",
    "access: []\nlisten: [\"fe80::1%1@53\", 0.0.0.0@53]\n",
], ids=["defaults", "every-key", "edge-lists"])
def test_check_round_trip(conf, text):
    first = check(conf(text))
    assert first.returncode == 0, first.stderr
    again = check(conf(first.stdout, "printed.yaml"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
