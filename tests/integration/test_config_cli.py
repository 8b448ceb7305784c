"""resolverd -c FILE --check: configuration errors and the printed config.

The daemon loads FILE; on an error it prints the cfg_load message
("FILE:LINE: message") to stderr and exits 2; with a good file it prints the
effective configuration (YAML that loads again) and exits 0. Nothing here
binds a socket or needs the lab."""
import errno
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import NET, RESOLVERD, ROOT

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
    ("tier-count-range",
     "tiers:\n  - name: b\n    listen: 127.0.0.1@5301\n    count: 200\n", 4,
     "'tiers.count' is out of range: 200 (must be 1..128)"),
    ("tier-fanout-too-few",
     "tiers:\n  - {name: b, count: 6, fanout: 2, listen: 127.0.0.1@5301}\n"
     "  - {name: o, count: 2, listen: 127.0.0.1@5401}\n", 1,
     "tier 'b': 6 instances, 2 per instance of 'o', need 3 of them; it has 2"),
    ("tier-listen-overlap",
     "tiers:\n  - {name: b, count: 10, listen: 127.0.0.1@5301}\n"
     "  - {name: o, listen: 127.0.0.1@5310}\n", 1,
     "listen address 127.0.0.1@5310 is given to two tier instances"),
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


@pytest.mark.parametrize("name,text,where", [
    ("rdata", "; the root\n.  3600000 NS a.root.\n"
     "a.root. 3600000 A 999.1.1.1\n", ":3: "),
    ("not-a-root-ns", "; c\n.  3600000 NS a.root.\n"
     "a.root. 3600000 A 192.0.2.1\nb. 1 A 192.0.2.2\n", ":4: "),
    ("last-line-without-newline", ".  3600000 NS a.root.\n"
     "a.root. 3600000 A 1.2.3.x", ":2: "),
    ("no-address", ".  3600000 NS a.root.\n", ": no root server"),
])
def test_hints_errors_name_the_line(conf, tmp_path, name, text, where):
    """A root-hints error names the hints file and the line of the bad
    record (ldns's counter is one past it)."""
    hints = tmp_path / f"{name}.hints"
    hints.write_text(text)
    p = check(conf(f"root_hints: {hints}\n"))
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert f"{hints}{where}" in p.stderr, p.stderr


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
    # (the default list replaced; http.access keeps its own)
    assert "\naccess:\n  - \"192.0.2.0/24\"\ncontrol_socket:" in out
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
    "tiers:\n  - {name: b, profile: browser, count: 40, fanout: 2, "
    "listen: 127.0.0.1@5301}\n"
    "  - {name: o, profile: os, count: 20, listen: \"::1@5401\"}\n"
    "  - {name: r, profile: router, count: 2, "
    "listen: [127.0.1.1@53, 127.0.1.2@53]}\n"
    "  - {name: i, profile: isp, listen: 127.0.0.1@5601}\n",
], ids=["defaults", "every-key", "edge-lists", "tier-tree"])
def test_check_round_trip(conf, text):
    first = check(conf(text))
    assert first.returncode == 0, first.stderr
    again = check(conf(first.stdout, "printed.yaml"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


# ---- the keys added with chroot, query_loopback, dnssec and chaos ----------

@pytest.fixture
def tree(tmp_path):
    """The config's directory, with a trust anchor file and a directory."""
    (tmp_path / "root.key").write_text(
        ". 172800 IN DS 20326 8 2 "
        "E06D44B8080C6B8BE8AF4C3E13E6FB5E2BCC2C1B1B0A2D5D6C1C6E3F9A4B3C2D\n")
    (tmp_path / "jail").mkdir()
    return tmp_path


def written(tree, text, name="resolverd.yaml"):
    """Write the config; {d} in @text is its directory. A control socket
    there is added at the end (lines do not move) unless one is given, so
    that no test depends on /run."""
    if "control_socket:" not in text:
        text += "control_socket: ctl\n"
    path = tree / name
    path.write_text(text.format(d=tree))
    return path


# (id, file text ({d}: its directory), a line the printed config must hold)
GOOD = [
    ("chroot", "chroot: {d}/jail\n", 'chroot: "{d}/jail"'),
    ("chroot-relative", "chroot: jail/\n", 'chroot: "{d}/jail"'),
    ("chroot-default", "", "# chroot: not set, no chroot"),
    ("query-loopback", "query_loopback: yes\n", "query_loopback: true"),
    ("query-loopback-default", "", "query_loopback: false"),
    ("validation", "dnssec:\n  validation: off\n", "  validation: false"),
    ("validation-default", "", "  validation: true"),
    ("trust-anchors", "dnssec:\n  trust_anchors: [{d}/root.key]\n",
     '    - "{d}/root.key"'),
    ("trust-anchors-relative", "dnssec:\n  trust_anchors: root.key\n",
     '    - "{d}/root.key"'),
    ("trust-anchors-default", "",
     "  trust_anchors: []  # none: the built-in root anchor"),
    ("nta", "dnssec:\n  negative_trust_anchors: [Broken.Example, x.test.]\n",
     '    - "broken.example."\n    - "x.test."'),
    ("nta-default", "", "  negative_trust_anchors: []"),
    ("chaos-version", "chaos:\n  version: \"resolverd 0.1\"\n",
     '  version: "resolverd 0.1"'),
    ("chaos-hostname", "chaos:\n  hostname: " + "h" * 255 + "\n",
     '  hostname: "' + "h" * 255 + '"'),
    ("chaos-id", "chaos: {{id: \"a: b\"}}\n", '  id: "a: b"'),
    ("chaos-default", "",
     "  # version: not set, version.bind CH TXT is refused\n"
     "  # hostname: not set, hostname.bind CH TXT is refused\n"
     "  # id: not set, id.server CH TXT is refused"),
    ("user", "user: nobody\n", 'user: "nobody"'),
    ("control-socket-owner", "control_socket_owner: \"nobody:nogroup\"\n",
     'control_socket_owner: "nobody:nogroup"'),
    ("persist-in-chroot", "chroot: jail\ncache:\n  persist: jail/c.dump\n",
     '  persist: "{d}/jail/c.dump"'),
    # the HTTP listener (metrics, health)
    ("http-default", "",
     'http:\n  listen: []  # none: no HTTP listener\n  access:\n'
     '    - "127.0.0.0/8"\n    - "::1/128"'),
    ("http-listen", "http:\n  listen: [127.0.0.1@8053, \"::1@8053\"]\n",
     '  listen:\n    - "127.0.0.1@8053"\n    - "::1@8053"\n  access:\n'
     '    - "127.0.0.0/8"'),
    ("http-access", "http:\n  listen: 0.0.0.0@9100\n  access: [192.0.2.0/24]\n",
     '  listen:\n    - "0.0.0.0@9100"\n  access:\n    - "192.0.2.0/24"'),
    ("http-access-none", "http: {{access: []}}\n", "  access: []"),
    # DNS over TLS (the files are loaded: see test_check_loads_tls_pair)
    ("tls-default", "",
     'tls:\n  listen: []  # none: no DNS-over-TLS listener\n'
     '  # cert: not set (needed with tls.listen)\n'
     '  # key: not set (needed with tls.listen)'),
]


@pytest.mark.parametrize("text,line", [g[1:] for g in GOOD],
                         ids=[g[0] for g in GOOD])
def test_new_key_good(tree, text, line):
    p = check(written(tree, text))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert line.format(d=tree) + "\n" in p.stdout, p.stdout
    again = check(written(tree, p.stdout.replace("{", "{{").replace(
        "}", "}}"), "printed.yaml"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == p.stdout


ENOENT = os.strerror(errno.ENOENT)

# (id, file text, line, the exact message after "FILE:LINE: ")
BAD = [
    ("chroot-missing", "workers: 1\nchroot: {d}/none\n", 2,
     f"chroot: {{d}}/none: {ENOENT}"),
    ("chroot-file", "chroot: root.key\n", 1,
     f"chroot: {{d}}/root.key: {os.strerror(errno.ENOTDIR)}"),
    ("query-loopback", "query_loopback: 127.0.0.1\n", 1,
     "'query_loopback' must be a boolean (true/false, yes/no, on/off), "
     "not '127.0.0.1'"),
    ("validation", "dnssec:\n  validation: sometimes\n", 2,
     "'dnssec.validation' must be a boolean (true/false, yes/no, on/off), "
     "not 'sometimes'"),
    ("dnssec-unknown", "dnssec:\n  trust_anchor: [root.key]\n", 2,
     "unknown key 'dnssec.trust_anchor' "
     "(did you mean 'dnssec.trust_anchors'?)"),
    ("trust-anchor-missing",
     "dnssec:\n  validation: yes\n  trust_anchors: [root.key, no.key]\n", 3,
     f"dnssec.trust_anchors: {{d}}/no.key: {ENOENT}"),
    ("trust-anchor-missing-block",
     "dnssec:\n  trust_anchors:\n    - root.key\n    - {d}/no.key\n", 4,
     f"dnssec.trust_anchors: {{d}}/no.key: {ENOENT}"),
    ("trust-anchor-dir", "dnssec:\n  trust_anchors: jail\n", 2,
     f"dnssec.trust_anchors: {{d}}/jail: {os.strerror(errno.EISDIR)}"),
    ("nta-empty-label", "dnssec:\n  negative_trust_anchors: [ok.test, a..b]\n",
     2, "'dnssec.negative_trust_anchors': bad domain name 'a..b': "
     "empty label"),
    ("nta-character",
     "dnssec:\n  negative_trust_anchors:\n    - \"a b.test\"\n", 3,
     "'dnssec.negative_trust_anchors': bad domain name 'a b.test': "
     "character ' ' is not allowed (letters, digits, '-' and '_')"),
    ("nta-label-too-long",
     "dnssec:\n  negative_trust_anchors: [" + "a" * 64 + ".test]\n", 2,
     "'dnssec.negative_trust_anchors': bad domain name '" + "a" * 64 +
     ".test': a label is longer than 63 bytes"),
    ("nta-root", "dnssec:\n  negative_trust_anchors: [.]\n", 2,
     "'dnssec.negative_trust_anchors': '.' (the root) would turn "
     "validation off; use 'dnssec.validation: false' for that"),
    ("chaos-too-long", "chaos:\n  version: " + "v" * 256 + "\n", 2,
     "'chaos.version' is too long: 256 bytes (at most 255)"),
    ("chaos-empty", "chaos:\n  id: \"\"\n", 2, "'chaos.id' needs a value"),
    ("chaos-unknown", "chaos:\n  version.bind: x\n", 2,
     "unknown key 'chaos.version.bind'"),
    ("persist-outside-chroot",
     "chroot: jail\ncache:\n  persist: {d}/c.dump\n", 3,
     "'cache.persist' {d}/c.dump is outside 'chroot' {d}/jail: the daemon "
     "writes it after the chroot"),
    ("owner-syntax", "control_socket_owner: \"root:\"\n", 1,
     "'control_socket_owner' must be user or user:group, not 'root:'"),
    # what the system must provide: users, groups, directories
    ("unknown-user", "workers: 1\nuser: no-such-user-x\n", 2,
     "user: no-such-user-x: no such user"),
    ("unknown-owner-user", "control_socket_owner: no-such-user-x\n", 1,
     "control_socket_owner: no-such-user-x: no such user"),
    ("unknown-owner-group",
     "\ncontrol_socket_owner: \"nobody:no-such-group-x\"\n", 2,
     "control_socket_owner: no-such-group-x: no such group"),
    ("control-socket-dir", "control_socket: run/ctl\n", 1,
     f"control_socket: {{d}}/run: {ENOENT}"),
    ("persist-dir-missing", "cache:\n  persist: var/c.dump\n", 2,
     f"cache.persist: {{d}}/var: {ENOENT}"),
    ("log-dir-missing", "log:\n  dest: log/r.log\n", 2,
     f"log.dest: {{d}}/log: {ENOENT}"),
    ("http-no-port", "http:\n  listen: [127.0.0.1]\n", 2,
     "bad http.listen address '127.0.0.1' (expected address@port, "
     "e.g. 127.0.0.1@8053 or ::1@8053)"),
    ("http-same-as-dns",
     "listen: [127.0.0.1@8053]\nhttp:\n  listen: [127.0.0.1@8053]\n", 3,
     "'http.listen' 127.0.0.1@8053 is also a DNS listen address"),
    ("http-access-bad", "http:\n  access: [10.0.0.0/33]\n", 2,
     "bad http.access prefix '10.0.0.0/33': prefix length must be 0..32"),
    ("http-unknown", "http:\n  port: 8053\n", 2,
     "unknown key 'http.port'"),
    ("tls-no-pair", "tls:\n  listen: [127.0.0.1]\n", 2,
     "'tls.listen' needs 'tls.cert' and 'tls.key'"),
    ("tls-cert-only", "tls:\n  cert: root.key\n", 2,
     "'tls.cert' is set but not 'tls.key'"),
    ("tls-cert-missing", "tls:\n  cert: no.pem\n  key: root.key\n", 2,
     f"tls.cert: {{d}}/no.pem: {ENOENT}"),
    ("tls-bad-address", "tls:\n  listen: [localhost]\n", 2,
     "bad tls.listen address 'localhost' (expected address or "
     "address@port, e.g. 127.0.0.1@853 or ::1)"),
    ("tls-same-as-dns",
     "listen: [127.0.0.1@853]\ntls:\n  listen: [127.0.0.1]\n"
     "  cert: root.key\n  key: root.key\n", 3,
     "'tls.listen' 127.0.0.1@853 is also a DNS listen address"),
    ("tls-unknown", "tls:\n  port: 853\n", 2,
     "unknown key 'tls.port' (did you mean 'tls.cert'?)"),
]


@pytest.mark.parametrize("text,line,message", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_new_key_bad(tree, text, line, message):
    path = written(tree, text)
    p = check(path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert p.stderr == f"resolverd: {path}:{line}: " \
        f"{message.format(d=tree)}\n"
    assert p.stdout == ""


@pytest.fixture
def open_dir():
    """A directory under /tmp that every user may enter (pytest's own are
    0700), owned by root, mode 0755; removed afterwards."""
    d = tempfile.mkdtemp(prefix="resolverd-cfg-", dir="/tmp")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d)


needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="chowns to nobody, as root only")


@needs_root
def test_persist_not_writable_by_user(tree, open_dir):
    """--check runs as root, but the dump is written by `user`: a directory
    owned by root, mode 0755, is refused for nobody."""
    pd = open_dir / "cache"
    pd.mkdir(mode=0o755)
    path = written(tree, f"user: nobody\ncache:\n  persist: {pd}/c.dump\n")
    p = check(path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    assert p.stderr == (f"resolverd: {path}:3: cache.persist: {pd}: "
                        "not writable by user nobody\n")
    # handed to nobody, the same file passes
    os.chown(pd, pwd.getpwnam("nobody").pw_uid, 0)
    p = check(path)
    assert p.returncode == 0, p.stderr
    assert f'  persist: "{pd}/c.dump"\n' in p.stdout
    # and without `user` the daemon stays root, who may write anywhere
    os.chown(pd, 0, 0)
    p = check(written(tree, f"cache:\n  persist: {pd}/c.dump\n"))
    assert p.returncode == 0, p.stderr


@needs_root
def test_persist_behind_closed_directory(tree):
    """nobody may write the directory but not reach it: pytest's tmp_path
    is 0700."""
    pd = tree / "cache"
    pd.mkdir()
    os.chown(pd, pwd.getpwnam("nobody").pw_uid, 0)
    path = written(tree, "user: nobody\ncache:\n  persist: cache/c.dump\n")
    p = check(path)
    assert p.returncode == EXIT_CONFIG, p.stderr
    closed = next(d for d in [*reversed(pd.parents)]
                  if not os.stat(d).st_mode & 0o001)
    assert p.stderr == (f"resolverd: {path}:3: cache.persist: {closed}: "
                        "not searchable by user nobody\n")


def test_relative_paths_from_the_files_directory(tree, tmp_path_factory):
    """Relative paths are the config file's directory's, not the working
    directory's; --check prints them absolute, and the same from anywhere."""
    (tree / "root.hints").write_text(
        ".\t3600000\tNS\tA.ROOT-SERVERS.NET.\n"
        f"A.ROOT-SERVERS.NET.\t3600000\tA\t{NET}.0.1\n")
    path = written(tree, "root_hints: root.hints\n"
                   "control_socket: ./ctl.sock\n"
                   "chroot: .\n"
                   "cache:\n  persist: var//cache.dump\n"
                   "log:\n  dest: resolverd.log\n"
                   "dnssec:\n  trust_anchors: [root.key]\n")
    (tree / "var").mkdir()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    outs = []
    for cwd, arg in [(elsewhere, str(path)), ("/", str(path)),
                     (tree.parent, f"{tree.name}/{path.name}")]:
        p = subprocess.run([str(RESOLVERD), "-c", arg, "--check"], cwd=cwd,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1] == outs[2]
    out = outs[0]
    for line in [f'root_hints: "{tree}/root.hints"',
                 f'control_socket: "{tree}/ctl.sock"',
                 f'chroot: "{tree}"',
                 f'  persist: "{tree}/var/cache.dump"',
                 f'  dest: "{tree}/resolverd.log"',
                 f'    - "{tree}/root.key"']:
        assert line + "\n" in out, out
    assert not list(elsewhere.iterdir())   # nothing looked for there
    # a relative file missing from the file's directory is named in full
    path = written(tree, "\nroot_hints: hints.missing\n")
    p = subprocess.run([str(RESOLVERD), "-c", str(path), "--check"],
                       cwd=elsewhere, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == EXIT_CONFIG
    assert p.stderr == (f"resolverd: {path}:2: root_hints: "
                        f"{tree}/hints.missing: {ENOENT}\n")


def test_example_file_is_the_defaults():
    """config/resolverd.yaml, installed as /etc/resolverd.yaml, is the
    built-in defaults written out: -c with it prints what no -c prints."""
    example = check(ROOT / "config" / "resolverd.yaml")
    assert example.returncode == 0, example.stderr
    defaults = subprocess.run([str(RESOLVERD), "--check"], capture_output=True,
                              text=True, timeout=30)
    assert defaults.returncode == 0, defaults.stderr
    assert example.stdout == defaults.stdout


def certtool(*args):
    subprocess.run(["certtool", *args], check=True, capture_output=True,
                   timeout=60)


@pytest.mark.skipif(shutil.which("certtool") is None,
                    reason="gnutls-bin not installed (tools/deps.sh test)")
def test_check_loads_tls_pair(tree):
    """--check loads the certificate and key (relative to the file): a
    good pair prints and reads back; a key that is not one, or belongs to
    another certificate, is a configuration error at its line."""
    (tree / "cert.tmpl").write_text('cn = "dns.test"\nexpiration_days = 2\n'
                                    "tls_www_server\n")
    for name in ("server", "other"):
        certtool("--generate-privkey", "--key-type=ecdsa", "--outfile",
                 str(tree / f"{name}.key"))
    certtool("--generate-self-signed", "--load-privkey",
             str(tree / "server.key"), "--template", str(tree / "cert.tmpl"),
             "--outfile", str(tree / "server.pem"))
    (tree / "bad.key").write_text("not a key\n")
    text = ("tls:\n  listen: [127.0.0.1, \"::1@8853\"]\n"
            "  cert: server.pem\n  key: {key}\n")
    p = check(written(tree, text.replace("{key}", "server.key")))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert (f'tls:\n  listen:\n    - "127.0.0.1@853"\n    - "::1@8853"\n'
            f'  cert: "{tree}/server.pem"\n  key: "{tree}/server.key"\n'
            ) in p.stdout
    again = check(written(tree, p.stdout.replace("{", "{{").replace(
        "}", "}}"), "printed.yaml"))
    assert again.returncode == 0, again.stderr
    assert again.stdout == p.stdout
    for key, why in [("bad.key", "not a private key (PEM or DER): "),
                     ("other.key", "does not match the certificate in "
                      f"{tree}/server.pem")]:
        path = written(tree, text.replace("{key}", key))
        p = check(path)
        assert p.returncode == EXIT_CONFIG, p.stderr
        assert p.stderr.startswith(
            f"resolverd: {path}:4: tls.key: {tree}/{key}: {why}"), p.stderr
        assert p.stdout == ""


def test_check_prints_the_tier_tree(conf):
    p = check(conf("tiers:\n"
                   "  - {name: b, count: 4, fanout: 2, listen: 127.0.0.1@5301}\n"
                   "  - {name: o, count: 2, listen: 127.0.0.1@5401}\n"
                   "  - {name: i, listen: 127.0.0.1@5501}\n"))
    assert p.returncode == 0, p.stderr
    assert "  - name: \"b\"\n    profile: none\n    count: 4\n    fanout: 2\n" \
        in p.stdout, p.stdout
    assert "    count: 2\n    # fanout: not set, spread evenly over the next " \
        "tier\n" in p.stdout, p.stdout
    assert "  - name: \"i\"\n    profile: none\n    count: 1\n    listen:" \
        in p.stdout, p.stdout
