"""DNSSEC validation, end to end: resolverd on the lab's signed tree
(tools/lab/README.md, "DNSSEC": which zone must come out secure, insecure
or bogus, and with which EDE code), asked by dig, kdig and delv (BIND's
validating client, which checks every signature itself from the lab's root
key: "fully validated" only if resolverd passed the whole chain through).

What a correct validator does, per RFC 4033-4035, 5155, 6840, 8914 and
9276, as Unbound and Knot Resolver do it:
  secure     NOERROR/NXDOMAIN with AD when the client set AD or DO
  insecure   the data, AD clear (EDE 27 for NSEC3 iterations above the cap)
  bogus      SERVFAIL with the EDE of the failure, whose text names the zone,
             the RRset and the key tag; the data itself with CD=1
Every query is bounded (dig +time=5 +tries=1, subprocess timeouts); every
daemon is stopped by the `daemon` fixture or by this module's own fixture."""
import base64
import json
import os
import re
import statistics
import subprocess
import threading
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import HINTS, LAB_RUN, Daemon, lab_addr

pytestmark = pytest.mark.usefixtures("lab")

KEYS = LAB_RUN / "keys"          # the lab's key files: K<zone>.+<alg>+<tag>.key
DNSSEC_NS = lab_addr("30.1")     # ns1.dnssec.test: every DNSSEC leaf zone
BOGUS_TTL = 60                   # the longest a bogus answer may be cached


# ---------------------------------------------------------------- helpers --
class Reply:
    """A dig or kdig reply: status, header flags, EDNS flags, EDE codes and
    texts, sections as lists of RR fields [owner, ttl, class, type, rdata...]."""

    def __init__(self, text, rc, argv):
        self.text = text
        self.rc = rc
        self.argv = argv
        m = re.search(r"status: (\w+)", text)
        self.status = m.group(1) if m else None
        # dig ";; flags: qr rd ra ad; QUERY", kdig ";; Flags: qr rd ra ad; QUERY"
        m = re.search(r"^;; [Ff]lags: ([\w ]*);", text, re.M)
        self.flags = set(m.group(1).split()) if m else set()
        # dig "; EDNS: version: 0, flags: do; udp", kdig ";; Version: 0; flags: do; UDP"
        m = re.search(r"[Vv]ersion: \d+[,;] flags: ?([\w ]*);", text)
        self.edns_flags = set(m.group(1).split()) if m else set()
        # dig "; EDE: 7 (Signature Expired): (text)", kdig ";; EDE: 7 (...): 'text'"
        self.ede = []
        for m in re.finditer(r"^;+ EDE: (\d+)(?: \([^)]*\))?(?::\s*(.*))?$", text, re.M):
            t = (m.group(2) or "").strip()
            if len(t) >= 2 and (t[0], t[-1]) in (("(", ")"), ("'", "'")):
                t = t[1:-1]
            self.ede.append((int(m.group(1)), t))
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

    @property
    def ad(self):
        return "ad" in self.flags

    @property
    def ede_codes(self):
        return {c for c, _ in self.ede}

    def rrs(self, section="ANSWER"):
        return self.sections.get(section, [])

    def types(self, section="ANSWER"):
        """{'A', 'RRSIG/A', 'NSEC', ...} of a section."""
        return {r[3] + ("/" + r[4] if r[3] == "RRSIG" else "") for r in self.rrs(section)}

    def rdatas(self, rtype, section="ANSWER"):
        return [" ".join(r[4:]) for r in self.rrs(section) if r[3] == rtype]

    def ttls(self, rtype, section="ANSWER"):
        return [int(r[1]) for r in self.rrs(section) if r[3] == rtype]

    def summary(self):
        return (f"{self.status} flags={' '.join(sorted(self.flags))} ede={self.ede} "
                f"answer={[' '.join(x[3:]) for x in self.rrs()][:4]}")

    def __repr__(self):
        return f"{' '.join(self.argv[6:])} => {self.summary()}\n{self.text}"


def run_client(argv, timeout=15):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return p.stdout + p.stderr, p.returncode


def dig(d, name, rtype="A", *opts):
    argv = ["dig", "@127.0.0.1", "-p", str(d.port), "+tries=1", "+time=5",
            name, rtype] + list(opts)
    return Reply(*run_client(argv), argv)


def kdig(d, name, rtype="A", *opts):
    argv = ["kdig", "@127.0.0.1", "-p", str(d.port), "+retry=0", "+timeout=5",
            name, rtype] + list(opts)
    return Reply(*run_client(argv), argv)


def delv_anchor(directory):
    """A delv -a file (BIND's trust-anchors clause) holding the lab root's
    DNSKEY, from RUN/root.anchor.dnskey."""
    path = directory / "delv-anchor.conf"
    for line in (LAB_RUN / "root.anchor.dnskey").read_text().splitlines():
        f = line.split(";")[0].split()
        if "DNSKEY" in f:
            i = f.index("DNSKEY")
            key = "".join(f[i + 4:])
            base64.b64decode(key)   # a key, not garbage
            path.write_text("trust-anchors {\n"
                            f'  . static-key {f[i + 1]} {f[i + 2]} {f[i + 3]} "{key}";\n'
                            "};\n")
            return path
    raise AssertionError("no DNSKEY in root.anchor.dnskey")


class DelvReply:
    """delv's verdict: 'fully validated', 'unsigned answer', 'negative
    response, ...' or 'resolution failed: ...' (delv 9.18 writes the last
    to stderr), and the records it printed."""

    def __init__(self, text, rc, argv):
        self.text, self.rc, self.argv = text, rc, argv
        self.validated = bool(re.search(r"^; (negative response, )?fully validated$", text, re.M))
        self.unsigned = bool(re.search(r"^; (negative response, )?unsigned answer$", text, re.M))
        self.negative = bool(re.search(r"^; negative response", text, re.M))
        self.failed = ";; resolution failed" in text and not self.negative
        self.records = [ln.split() for ln in text.splitlines()
                        if ln.strip() and not ln.startswith(";")]

    def rdatas(self, rtype):
        return [" ".join(r[4:]) for r in self.records if len(r) > 4 and r[3] == rtype]

    def __repr__(self):
        return " ".join(self.argv) + "\n" + self.text


def delv(d, anchor, name, rtype="A", *opts):
    argv = ["delv", "@127.0.0.1", "-p", str(d.port), "-a", str(anchor), "+root=.",
            name, rtype] + list(opts)
    return DelvReply(*run_client(argv, timeout=30), argv)


def key_tag(zone):
    """The key tag of the lab's key for @zone, from its key file's name
    (K<zone>.+<alg>+<tag>.key; only the name is read)."""
    found = sorted(KEYS.glob(f"K{zone}.+*+*.key"))
    assert len(found) == 1, (zone, found)
    return int(found[0].name.rsplit("+", 1)[1].split(".")[0])


def stats(d):
    out = d.ctl_run("stats", "--json").stdout
    return json.loads(out.strip().splitlines()[-1])


def ask_raw(d, name, rtype="A", flags=dns.flags.RD, edns=False, do=False, timeout=5):
    """A query whose header flags are exactly @flags (dig and kdig set AD by
    default); returns the dnspython reply."""
    q = dns.message.make_query(name, rtype, use_edns=0 if (edns or do) else False,
                               want_dnssec=do)
    q.flags = flags
    return dns.query.udp(q, "127.0.0.1", port=d.port, timeout=timeout)


def check_every_rrset_signed(r, section="ANSWER"):
    """Every RRset of the section has an RRSIG of the same owner over its type."""
    sets = {(x[0].lower(), x[3]) for x in r.rrs(section) if x[3] != "RRSIG"}
    sigs = {(x[0].lower(), x[4]) for x in r.rrs(section) if x[3] == "RRSIG"}
    missing = sets - sigs
    assert not missing, (f"{section}: no RRSIG over {sorted(missing)}", r)


# -------------------------------------------------- what the lab must yield --
# (name, type, rcode): AD set with DO or AD, delv "fully validated"
SECURE = [
    ("www.sec-nsec.test", "A", "NOERROR"),
    ("x.wild.sec-nsec.test", "A", "NOERROR"),       # wildcard, NSEC
    ("b.sec-nsec.test", "A", "NOERROR"),            # empty non-terminal, NSEC
    ("www.sec-nsec.test", "MX", "NOERROR"),         # NODATA, NSEC
    ("nope.sec-nsec.test", "A", "NXDOMAIN"),        # NXDOMAIN, NSEC
    ("www.sec-nsec3.test", "A", "NOERROR"),         # NSEC3 opt-out zone
    ("www.sub.sec-nsec3.test", "A", "NOERROR"),     # secure delegation below opt-out
    ("nope.sec-nsec3n.test", "A", "NXDOMAIN"),      # NXDOMAIN, NSEC3
    ("www.sec-nsec3n.test", "MX", "NOERROR"),       # NODATA, NSEC3
    ("x.wild.sec-nsec3n.test", "A", "NOERROR"),     # wildcard, NSEC3 (RFC 5155 8.8)
    ("b.sec-nsec3n.test", "A", "NOERROR"),          # empty non-terminal, NSEC3
    ("www.sec-alg8.test", "A", "NOERROR"),          # RSASHA256, DS digest 2
    ("www.sec-alg14.test", "A", "NOERROR"),         # ECDSAP384SHA384, DS digest 4
    ("www.sec-alg15.test", "A", "NOERROR"),         # Ed25519, DS digest 2
    ("www.sec-alg16.test", "A", "NOERROR"),         # Ed448, DS digest 4
    ("www.nsec3-iter500.test", "A", "NOERROR"),     # a positive answer needs no NSEC3
]
# (name, type, rcode, EDE codes allowed, EDE codes required)
INSECURE = [
    ("www.insecure.test", "A", "NOERROR", set(), set()),            # no DS
    ("nope.insecure.test", "A", "NXDOMAIN", set(), set()),
    ("www.insec.sec-nsec3.test", "A", "NOERROR", set(), set()),     # opt-out span
    ("nope.sec-nsec3.test", "A", "NXDOMAIN", set(), set()),         # opt-out cannot prove it
    ("www.alg-unknown.test", "A", "NOERROR", {1}, set()),           # algorithm 200
    ("www.alg-dsa.test", "A", "NOERROR", {1}, set()),               # algorithm 3, RFC 8624
    ("www.ds-digest-unknown.test", "A", "NOERROR", {2}, set()),     # digest 200
    ("nope.nsec3-iter500.test", "A", "NXDOMAIN", {27}, {27}),       # RFC 9276
    ("www.nsec3-iter500.test", "MX", "NOERROR", {27}, {27}),
]


def _tags(*zones):
    return lambda: [key_tag(z) for z in zones]


# (name, type, EDE code, words the EDE text must hold, key tags one of which it names)
BOGUS = [
    ("www.bogus-expired.test", "A", 7, ["bogus-expired.test"], _tags("bogus-expired.test")),
    ("www.bogus-future.test", "A", 8, ["bogus-future.test"], _tags("bogus-future.test")),
    ("www.bogus-edited.test", "A", 6, ["www.bogus-edited.test", "A"],
     _tags("bogus-edited.test")),
    # the DS in test is of the key "wrong-ds.invalid" (generated, never published)
    ("www.bogus-ds.test", "A", 9, ["bogus-ds.test"], _tags("wrong-ds.invalid", "bogus-ds.test")),
    ("www.bogus-nodnskey.test", "A", 9, ["bogus-nodnskey.test", "DNSKEY"], None),
    ("www.bogus-nosig.test", "A", 10, ["bogus-nosig.test", "RRSIG"], None),
    ("nope.bogus-nonsec.test", "A", 12, ["bogus-nonsec.test", "NSEC"], None),
]


def case_id(c):
    return f"{c[0]}/{c[1]}"


def check_bogus(r, case):
    name, rtype, code, words, tags = case
    assert r.status == "SERVFAIL", r
    assert not r.ad, r
    assert not r.rrs(), ("a bogus answer's records must not reach a CD=0 client", r)
    assert code in r.ede_codes, (f"want EDE {code}", r)
    text = " ".join(t for c, t in r.ede if c == code)
    for w in words:
        assert re.search(rf"(^|[\s(.]){re.escape(w)}\.?($|[\s:)])", text), \
            (f"the EDE text does not name {w!r}", r)
    if tags is not None:
        want = tags()
        assert any(re.search(rf"\b{t}\b", text) for t in want), \
            (f"the EDE text names none of the key tags {want}", r)


# ------------------------------------------------------------- the daemons --
@pytest.fixture(scope="module")
def vds(lab, tmp_path_factory):
    """One validating resolverd per client (dig, kdig, delv) for the matrix,
    so that each client's first question of a name is resolved cold (the
    tests ask again, for the answer from the cache); made on first use,
    all stopped (and their exit checked) at the end of the module."""
    made = {}

    def get(client):
        if client not in made:
            d = Daemon(tmp_path_factory.mktemp(f"vd-{client}"), hints=HINTS)
            made[client] = d
            d.start()
        return made[client]

    yield get
    for d in made.values():
        stop_checked(d)


SANITIZER_RX = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


def stop_checked(d):
    """Stop @d; it must exit 0 with no sanitizer report in its log."""
    if d.proc is None:
        return
    try:
        rc = d.stop()
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(5)
    bad = SANITIZER_RX.search(d.logtext())
    assert rc == 0 and not bad, (f"resolverd exit {rc}", d.logtext()[-3000:])


@pytest.fixture
def mkd(daemon):
    """The conftest `daemon` factory, each daemon stopped at the end with
    its exit status and log checked (the sanitizer build reports there)."""
    made = []

    def make(*args, **kw):
        d = daemon(*args, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        stop_checked(d)


@pytest.fixture(scope="module")
def anchor_conf(lab, tmp_path_factory):
    return delv_anchor(tmp_path_factory.mktemp("delv"))


@pytest.fixture
def vd(mkd, lab):
    """A fresh validating resolverd (the lab's root anchor, from conftest)."""
    return mkd(hints=HINTS)


# ------------------------------------- 1. the matrix, with three clients ---
@pytest.mark.parametrize("client", ["dig", "kdig"])
@pytest.mark.parametrize("case", SECURE, ids=case_id)
def test_secure_has_ad(vds, client, case):
    name, rtype, rcode = case
    d = vds(client)
    ask = dig if client == "dig" else kdig
    for attempt in ("resolved", "cached"):
        r = ask(d, name, rtype, "+dnssec")
        assert r.status == rcode, (attempt, r)
        assert r.ad, (attempt, "a secure answer to a DO=1 client has AD (RFC 4035 3.2.3)", r)
        assert not r.ede, (attempt, r)
        if rcode == "NOERROR" and rtype == "A" and not name.startswith("b."):
            assert r.rdatas("A"), (attempt, r)


@pytest.mark.parametrize("case", SECURE, ids=case_id)
def test_secure_delv_fully_validated(vds, anchor_conf, case):
    """delv validates what resolverd hands it (with the RRSIGs, DNSKEYs, DS
    and NSEC/NSEC3 it asks for) from the lab's root key."""
    name, rtype, rcode = case
    r = delv(vds("delv"), anchor_conf, name, rtype)
    assert r.validated, r
    assert r.negative == (rcode == "NXDOMAIN" or rtype == "MX" or name.startswith("b.")), r


@pytest.mark.parametrize("client", ["dig", "kdig"])
@pytest.mark.parametrize("case", INSECURE, ids=case_id)
def test_insecure_has_no_ad(vds, client, case):
    name, rtype, rcode, allowed, required = case
    d = vds(client)
    ask = dig if client == "dig" else kdig
    for attempt in ("resolved", "cached"):
        r = ask(d, name, rtype, "+dnssec")
        assert r.status == rcode, (attempt, r)
        assert not r.ad, (attempt, "an insecure answer must not have AD", r)
        assert required <= r.ede_codes, (attempt, f"want EDE {sorted(required)}", r)
        assert r.ede_codes <= allowed, (attempt, f"EDE other than {sorted(allowed)}", r)
        if rcode == "NOERROR" and rtype == "A":
            assert r.rdatas("A"), (attempt, r)


@pytest.mark.parametrize("case", INSECURE, ids=case_id)
def test_insecure_delv(vds, anchor_conf, case):
    """delv finds the same chain insecure ("unsigned answer"). Except the
    opt-out NXDOMAIN: BIND calls it validated, Unbound and the lab's table
    insecure (RFC 5155 9.2); delv must then at least get the NXDOMAIN."""
    name, rtype, rcode, _, _ = case
    r = delv(vds("delv"), anchor_conf, name, rtype)
    if name == "nope.sec-nsec3.test":
        assert r.negative, r
        return
    assert r.unsigned, r
    assert r.negative == (rcode == "NXDOMAIN" or rtype != "A"), r


@pytest.mark.parametrize("client", ["dig", "kdig"])
@pytest.mark.parametrize("case", BOGUS, ids=case_id)
def test_bogus_servfail_with_ede(vds, client, case):
    d = vds(client)
    ask = dig if client == "dig" else kdig
    check_bogus(ask(d, case[0], case[1], "+dnssec"), case)
    # the same without DO: SERVFAIL still, the EDE too (RFC 8914 needs only
    # EDNS; kdig sends none unless told)
    check_bogus(ask(d, case[0], case[1], "+edns"), case)


@pytest.mark.parametrize("case", BOGUS, ids=case_id)
def test_bogus_delv(vds, anchor_conf, case):
    """delv without CD gets the SERVFAIL; with CD it gets the data and finds
    it bogus itself: never "fully validated"."""
    d = vds("delv")
    r = delv(d, anchor_conf, case[0], case[1])
    assert r.failed and not r.validated, r
    r = delv(d, anchor_conf, case[0], case[1], "+cdflag")
    assert not r.validated and not r.unsigned, r


# ---------------------------- 2. AD only when the client asked (RFC 6840 5.7)
@pytest.mark.parametrize("name,rcode", [("www.sec-nsec.test", "NOERROR"),
                                        ("nope.sec-nsec3n.test", "NXDOMAIN")])
def test_ad_only_when_client_set_ad_or_do(vd, name, rcode):
    # cold, by a client that set neither AD nor DO: AD clear
    r = dig(vd, name, "A", "+noadflag")
    assert r.status == rcode and not r.ad, r
    r = dig(vd, name, "A", "+adflag")
    assert r.status == rcode and r.ad, ("AD=1 in the query: AD in the reply", r)
    r = dig(vd, name, "A", "+noadflag", "+dnssec")
    assert r.status == rcode and r.ad, ("DO=1 in the query: AD in the reply", r)
    # from the cache, again neither
    r = dig(vd, name, "A", "+noadflag")
    assert r.status == rcode and not r.ad, r
    r = kdig(vd, name, "A", "+noadflag")
    assert r.status == rcode and not r.ad, r
    r = kdig(vd, name, "A", "+adflag")
    assert r.status == rcode and r.ad, r
    # a bare query (RD only), without and with EDNS
    for edns in (False, True):
        m = ask_raw(vd, name, edns=edns)
        assert dns.rcode.to_text(m.rcode()) == rcode, m
        assert not m.flags & dns.flags.AD, (f"edns={edns}", m)
    m = ask_raw(vd, name, flags=dns.flags.RD | dns.flags.AD)
    assert m.flags & dns.flags.AD, m


# ------------------------------------ 3. CD=1: the data of a bogus name ---
CD_CASES = [("www.bogus-expired.test", 7), ("www.bogus-edited.test", 6)]


def check_cd_answer(r, name, known_bogus=True):
    """A CD=1 answer: the data, AD clear. Once the daemon has found the
    RRset bogus (a CD=0 question), it keeps it at most 60 s, and says so
    in the TTL; the very first CD=1 answer may come unvalidated, with the
    server's TTL (Unbound: "unchecked")."""
    assert r.status == "NOERROR", ("CD=1: the bogus data, not SERVFAIL", r)
    assert "cd" in r.flags and not r.ad, r
    assert r.rdatas("A"), r
    if known_bogus:
        assert all(t <= BOGUS_TTL for t in r.ttls("A")), \
            (f"a bogus RRset given with TTL {r.ttls('A')} > {BOGUS_TTL} s", r)


@pytest.mark.parametrize("name,code", CD_CASES)
def test_cd_first_then_without(vd, name, code):
    r = dig(vd, name, "A", "+cd", "+dnssec")
    check_cd_answer(r, name, known_bogus=False)
    assert "RRSIG/A" in r.types(), ("CD=1 DO=1: the RRSIGs too, for the client to check", r)
    r = dig(vd, name, "A")
    assert r.status == "SERVFAIL" and code in r.ede_codes, \
        ("the CD answer in the cache must not be served to a CD=0 client", r)
    r = dig(vd, name, "A", "+cd")
    check_cd_answer(r, name)


@pytest.mark.parametrize("name,code", CD_CASES)
def test_cd_after_servfail(vd, name, code):
    r = dig(vd, name, "A")
    assert r.status == "SERVFAIL" and code in r.ede_codes, r
    r = dig(vd, name, "A", "+cd", "+dnssec")
    check_cd_answer(r, name)
    assert "RRSIG/A" in r.types(), r
    r = dig(vd, name, "A", "+dnssec")
    assert r.status == "SERVFAIL" and code in r.ede_codes, r


# ------------------------- 4. DO=1: the DNSSEC records, from the cache too --
# (name, type, rcode, answer types required, authority types required)
NEG_NSEC = {"SOA", "RRSIG/SOA", "NSEC", "RRSIG/NSEC"}
NEG_NSEC3 = {"SOA", "RRSIG/SOA", "NSEC3", "RRSIG/NSEC3"}
DO_CASES = [
    ("www.sec-nsec.test", "A", "NOERROR", {"A", "RRSIG/A"}, set()),
    ("txt.sec-nsec.test", "TXT", "NOERROR", {"TXT", "RRSIG/TXT"}, set()),
    ("www.sec-alg8.test", "AAAA", "NOERROR", {"AAAA", "RRSIG/AAAA"}, set()),
    ("www.sub.sec-nsec3.test", "A", "NOERROR", {"A", "RRSIG/A"}, set()),
    # wildcard answers: the NSEC/NSEC3 proving no closer name (RFC 4035 3.1.3.3, 5155 7.2.6)
    ("x.wild.sec-nsec.test", "A", "NOERROR", {"A", "RRSIG/A"}, {"NSEC", "RRSIG/NSEC"}),
    ("x.wild.sec-nsec3n.test", "A", "NOERROR", {"A", "RRSIG/A"}, {"NSEC3", "RRSIG/NSEC3"}),
    ("nope.sec-nsec.test", "A", "NXDOMAIN", set(), NEG_NSEC),
    ("b.sec-nsec.test", "A", "NOERROR", set(), NEG_NSEC),
    ("www.sec-nsec.test", "MX", "NOERROR", set(), NEG_NSEC),
    ("nope.sec-nsec3n.test", "A", "NXDOMAIN", set(), NEG_NSEC3),
    ("www.sec-nsec3n.test", "MX", "NOERROR", set(), NEG_NSEC3),
    ("b.sec-nsec3n.test", "A", "NOERROR", set(), NEG_NSEC3),
]


@pytest.mark.parametrize("case", DO_CASES, ids=case_id)
def test_do_gets_rrsigs_and_proofs(vd, case):
    name, rtype, rcode, answer, authority = case
    for attempt in ("resolved", "cached"):
        before = stats(vd)
        r = dig(vd, name, rtype, "+dnssec")
        after = stats(vd)
        assert r.status == rcode and r.ad, (attempt, r)
        assert "do" in r.edns_flags, (attempt, r)
        assert answer <= r.types("ANSWER"), (attempt, r)
        check_every_rrset_signed(r, "ANSWER")
        check_every_rrset_signed(r, "AUTHORITY")
        assert authority <= r.types("AUTHORITY"), (attempt, r)
        if attempt == "cached":
            assert after["cache.hits"] > before["cache.hits"], ("not from the cache", r)
            assert after["upstream.queries"] == before["upstream.queries"], \
                ("the second answer went upstream", before, after)


# ------------------------------ 5. a bogus answer is cached at most 60 s ---
def test_bogus_cached_at_most_60s(vd):
    name, code = "www.bogus-edited.test", 6
    r1 = dig(vd, name, "A", "+dnssec")
    assert r1.status == "SERVFAIL" and code in r1.ede_codes, r1
    before = stats(vd)
    r2 = dig(vd, name, "A", "+dnssec")
    after = stats(vd)
    assert r2.status == "SERVFAIL" and code in r2.ede_codes, r2
    assert r2.ede == r1.ede, ("the cached failure keeps its reason", r1, r2)
    assert after["cache.hits"] > before["cache.hits"], \
        ("not answered from the cache", before, after)
    assert after["upstream.queries"] == before["upstream.queries"], (before, after)
    r3 = dig(vd, name, "A", "+cd")
    check_cd_answer(r3, name)
    # the cache entry itself: orig_ttl (what it was stored with) <= 60
    dump = vd.ctl_run("dump", "--json", "--name", name).stdout
    entries = [json.loads(ln) for ln in dump.splitlines() if ln.startswith("{")]
    a = [e for e in entries if e["owner"] == name + "." and e["type"] == "A"]
    assert a, dump
    assert all(e["orig_ttl"] <= BOGUS_TTL and e["ttl"] <= BOGUS_TTL for e in a), dump


# ------------------------------ 6. a trust anchor below the root only ------
def zone_anchor(directory, zone, form):
    """The anchor for @zone: its DNSKEY fetched from the lab server with dig,
    or the DS ldns-key2ds derives from it."""
    p = subprocess.run(["dig", f"@{DNSSEC_NS}", "+norec", "+tries=1", "+time=5",
                        "+noall", "+answer", zone, "DNSKEY"],
                       capture_output=True, text=True, timeout=15)
    keys = [ln for ln in p.stdout.splitlines() if "\tDNSKEY\t" in ln or " DNSKEY " in ln]
    assert keys, p.stdout
    kfile = directory / f"{zone}.dnskey"
    kfile.write_text("\n".join(keys) + "\n")
    if form == "dnskey":
        return kfile
    p = subprocess.run(["ldns-key2ds", "-n", "-2", str(kfile)],
                       capture_output=True, text=True, timeout=15)
    assert p.returncode == 0 and " DS " in p.stdout.replace("\t", " "), p
    dfile = directory / f"{zone}.ds"
    dfile.write_text(p.stdout)
    return dfile


@pytest.mark.parametrize("form", ["ds", "dnskey"])
def test_trust_anchor_below_root(mkd, lab, tmp_path, form):
    anchor = zone_anchor(tmp_path, "sec-nsec.test", form)
    d = mkd(hints=HINTS, config_extra=f"dnssec:\n  trust_anchors:\n    - {anchor}\n")
    for name, rtype, rcode in [("www.sec-nsec.test", "A", "NOERROR"),
                               ("nope.sec-nsec.test", "A", "NXDOMAIN"),
                               ("x.wild.sec-nsec.test", "A", "NOERROR")]:
        r = dig(d, name, rtype, "+dnssec")
        assert r.status == rcode and r.ad, ("below the anchor: secure", r)
    # no anchor above these: insecure, answered, no AD
    for name in ("www.sec-nsec3.test", "www.sec-alg8.test", "www.example.com"):
        r = dig(d, name, "A", "+dnssec")
        assert r.status == "NOERROR" and not r.ad and r.rdatas("A"), r
    # a bogus zone outside the anchor's: not validated, so not SERVFAIL
    for name in ("www.bogus-expired.test", "www.bogus-edited.test"):
        r = dig(d, name, "A", "+dnssec")
        assert r.status == "NOERROR" and not r.ad and r.rdatas("A"), \
            ("no anchor above it: insecure, not bogus", r)


# ------------------------------------------ 7. a negative trust anchor -----
def test_negative_trust_anchor(mkd, lab):
    d = mkd(hints=HINTS, config_extra=(
        "dnssec:\n"
        f"  trust_anchors:\n    - {LAB_RUN / 'root.anchor'}\n"
        "  negative_trust_anchors:\n    - bogus-expired.test\n"))
    r = dig(d, "www.bogus-expired.test", "A", "+dnssec")
    assert r.status == "NOERROR" and not r.ad and r.rdatas("A"), \
        ("under a negative trust anchor: insecure (RFC 7646)", r)
    assert 7 not in r.ede_codes, r
    r = dig(d, "nope.bogus-expired.test", "A", "+dnssec")
    assert r.status == "NXDOMAIN" and not r.ad, r
    for case in BOGUS:
        if case[0].endswith("bogus-expired.test"):
            continue
        check_bogus(dig(d, case[0], case[1], "+dnssec"), case)
    r = dig(d, "www.sec-nsec.test", "A", "+dnssec")
    assert r.status == "NOERROR" and r.ad, r


# ------------------------------------------------ 8. validation: false -----
def test_validation_off(mkd, lab):
    d = mkd(hints=HINTS, config_extra="dnssec:\n  validation: false\n")
    for name, rtype, rcode in [("www.sec-nsec.test", "A", "NOERROR"),
                               ("nope.sec-nsec.test", "A", "NXDOMAIN"),
                               ("www.sec-alg16.test", "A", "NOERROR")]:
        for opts in (("+dnssec",), ("+adflag",), ("+dnssec", "+adflag")):
            r = dig(d, name, rtype, *opts)
            assert r.status == rcode and not r.ad, ("validation off: never AD", r)
    for case in BOGUS:
        name, rtype = case[0], case[1]
        r = dig(d, name, rtype, "+dnssec")
        want = "NXDOMAIN" if name.startswith("nope.") else "NOERROR"
        assert r.status == want and not r.ad, ("validation off: the data", r)
        assert not r.ede_codes & {6, 7, 8, 9, 10, 12}, r


# -------------------------------- 9. the clock steps under the daemon ------
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]


def test_clock_step_after_boot(mkd, lab, tmp_path, monkeypatch):
    """A router that boots at a date before the signatures' inception, then
    gets NTP: validation follows the wall clock. libfaketime fakes the
    daemon's CLOCK_REALTIME from a file read at every call
    (FAKETIME_TIMESTAMP_FILE + FAKETIME_NO_CACHE); the monotonic clock is
    left alone (DONT_FAKE_MONOTONIC), as a real clock step leaves it.
    Works with the sanitizer build too: ASan must then be told not to
    insist on coming first in the library list (verify_asan_link_order=0)."""
    lib = next((p for p in FAKETIME_LIBS if Path(p).exists()), None)
    if lib is None:
        pytest.fail("libfaketime is missing: sh tools/deps.sh test installs it")
    clock = tmp_path / "faketime"
    clock.write_text("@2019-06-01 00:00:00\n")
    d = mkd(hints=HINTS, start=False)
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("LD_PRELOAD", lib)
    monkeypatch.setenv("FAKETIME_TIMESTAMP_FILE", str(clock))
    monkeypatch.setenv("FAKETIME_NO_CACHE", "1")
    monkeypatch.setenv("DONT_FAKE_MONOTONIC", "1")
    monkeypatch.setenv("ASAN_OPTIONS", (asan + ":" if asan else "") + "verify_asan_link_order=0")
    d.start()
    monkeypatch.undo()     # only the daemon runs with the fake clock
    assert "2019-06-01T" in d.logtext(), \
        ("the daemon's clock is not faked", d.logtext()[-2000:])
    # 2019: every signature of the lab is not yet valid, from the root key on
    r = dig(d, "www.sec-nsec.test", "A", "+dnssec")
    assert r.status == "SERVFAIL" and 8 in r.ede_codes, r
    # NTP: the clock steps to the real time
    clock.write_text("+0\n")
    d.ctl_run("flush", "--all")
    r = dig(d, "www.sec-nsec.test", "A", "+dnssec")
    assert r.status == "NOERROR" and r.ad, ("after the clock step: secure", r)
    r = dig(d, "txt.sec-nsec.test", "TXT", "+dnssec")
    assert r.status == "NOERROR" and r.ad, r
    r = dig(d, "www.bogus-expired.test", "A", "+dnssec")
    assert r.status == "SERVFAIL" and 7 in r.ede_codes, r


# -------------------------------------------------------- 10. KeyTrap ------
KEYTRAP = "www.keytrap.test"


def test_keytrap_capped_and_fast(mkd, lab):
    d = mkd(hints=HINTS, config_extra="limits:\n  max_time: 5000\n")
    t0 = time.monotonic()
    r = dig(d, KEYTRAP, "A", "+dnssec")
    took = time.monotonic() - t0
    assert took < 1.5, (f"{took:.2f} s: not well under max_time (5 s)", r)
    assert r.status == "SERVFAIL", r
    assert r.ede, r
    text = " ".join(t for _, t in r.ede)
    assert "keytrap.test" in text, r
    assert re.search(r"\bmax_\w+", text), \
        ("the EDE text must name the cap that stopped the work "
         "(max_sig_checks, max_keys_per_tag)", r)


def _latencies(port, name, seconds, out, errors, stop=None):
    """Ask @name (DO=1) over and over for @seconds; append each latency."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop and stop.is_set()):
        q = dns.message.make_query(name, "A", use_edns=0, want_dnssec=True)
        t0 = time.monotonic()
        try:
            m = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
        except Exception as e:   # noqa: BLE001: a lost answer is the failure
            errors.append(f"{name}: {type(e).__name__} {e}")
            continue
        out.append(time.monotonic() - t0)
        if name != KEYTRAP and (m.rcode() != dns.rcode.NOERROR or not m.flags & dns.flags.AD):
            errors.append(f"{name}: {dns.rcode.to_text(m.rcode())} "
                          f"{dns.flags.to_text(m.flags)}")
        time.sleep(0.005)


def test_keytrap_flood_does_not_starve_others(mkd, lab):
    """Three clients hammer the keytrap name (and fresh names under it)
    while the cache entry is flushed every 0.2 s, so the expensive DNSKEY
    check is done again and again; a fourth asking a secure name gets every
    answer, its median latency within the quiet median + 50 ms."""
    d = mkd(hints=HINTS, config_extra="limits:\n  max_time: 5000\n")
    good = "www.sec-nsec.test"
    r = dig(d, good, "A", "+dnssec")
    assert r.status == "NOERROR" and r.ad, r
    base, errors = [], []
    _latencies(d.port, good, 1.0, base, errors)
    assert not errors and len(base) > 20, (errors, len(base))

    stop = threading.Event()
    hammer_errors, sent = [], [0, 0, 0]
    before = stats(d)

    def hammer(k):
        i = 0
        while not stop.is_set():
            sent[k] += 1
            name = KEYTRAP if i % 2 == 0 else f"h{k}-{i}.keytrap.test"
            q = dns.message.make_query(name, "A", use_edns=0, want_dnssec=True)
            try:
                dns.query.udp(q, "127.0.0.1", port=d.port, timeout=2)
            except Exception as e:   # noqa: BLE001
                hammer_errors.append(f"{name}: {type(e).__name__}")
            i += 1

    def flusher():
        while not stop.wait(0.2):
            d.ctl_run("flush", "--zone", "keytrap.test", check=False, timeout=5)

    threads = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(3)]
    threads.append(threading.Thread(target=flusher, daemon=True))
    for t in threads:
        t.start()
    loaded = []
    try:
        time.sleep(0.2)
        _latencies(d.port, good, 3.0, loaded, errors)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not any(t.is_alive() for t in threads)
    after = stats(d)
    # the flood was one: many questions, and the keytrap zone resolved
    # (and its keys checked) again after every flush
    assert sum(sent) > 300, sent
    assert after["resolutions"] - before["resolutions"] > 10, (before, after)
    assert not errors, errors[:10]
    assert len(loaded) > 20, len(loaded)
    b50, l50 = statistics.median(base), statistics.median(loaded)
    assert l50 < b50 + 0.050, (f"median {l50 * 1000:.1f} ms under the flood, "
                               f"{b50 * 1000:.1f} ms quiet")
    # the hammered name is still answered, SERVFAIL, quickly
    t0 = time.monotonic()
    r = dig(d, KEYTRAP, "A", "+dnssec")
    assert r.status == "SERVFAIL" and time.monotonic() - t0 < 1.5, r
    assert len(hammer_errors) < 10, hammer_errors[:10]
    assert d.proc.poll() is None, d.logtext()[-2000:]


# ----------------------------------------- 11. trace and dump show DNSSEC --
def test_trace_secure_shows_the_chain(vd):
    tag = key_tag("sec-nsec.test")
    out = vd.ctl_run("trace", "www.sec-nsec.test", "A", "--cold").stdout
    steps = [
        (r"DS sec-nsec\.test\.? .*parent test\.?.*secure|secure.*DS sec-nsec\.test\.? .*parent",
         "the DS from the parent test., secure"),
        (r"DNSKEY sec-nsec\.test\.? .*(verified by|matches) .*DS", "the DNSKEY verified by the DS"),
        (r"DNSKEY \.? ?.*trust anchor", "the root DNSKEY by the trust anchor"),
        (rf"RRSIG A www\.sec-nsec\.test\.? by key {tag}\b.*verifies",
         f"the RRSIG A by key {tag}"),
    ]
    for rx, what in steps:
        assert re.search(rx, out), (f"trace does not show {what}", out)
    assert re.search(r"^result: NOERROR.*secure", out, re.M), out


def test_warm_chain_starts_at_the_cached_keys(vd):
    """A zone whose DNSKEY RRset the cache holds as secure: a miss below it
    is checked with those keys, with no DS or DNSKEY looked up above them
    (as Unbound's key cache); without them the walk starts at the anchor."""
    tag = key_tag("sec-nsec.test")
    assert dig(vd, "www.sec-nsec.test", "A", "+dnssec").ad
    out = vd.ctl_run("trace", "txt.sec-nsec.test", "TXT").stdout
    assert re.search(r"DNSKEY sec-nsec\.test\.: secure in the cache; the chain starts there",
                     out), out
    assert re.search(rf"RRSIG TXT txt\.sec-nsec\.test\.? by key {tag}\b.*verifies", out), out
    assert not re.search(r"trust anchor|fetching (DS|DNSKEY)|DS .*from the parent", out), out
    assert re.search(r"^result: NOERROR.*secure", out, re.M), out
    # those keys gone: from the keys above (test.), the cached DS, and the
    # DNSKEY RRset fetched and checked again
    assert vd.ctl_run("flush", "sec-nsec.test", "DNSKEY").returncode == 0
    out = vd.ctl_run("trace", "www.sec-nsec.test", "AAAA").stdout
    assert re.search(r"DNSKEY test\.: secure in the cache; the chain starts there", out), out
    assert "DNSKEY sec-nsec.test.: secure in the cache" not in out, out
    assert re.search(r"fetching DNSKEY sec-nsec\.test", out), out
    assert re.search(r"DNSKEY sec-nsec\.test\.? .*(verified by|matches) .*DS", out), out
    assert re.search(r"^result: NOERROR.*secure", out, re.M), out
    assert dig(vd, "www.sec-nsec.test", "AAAA", "+dnssec").ad


def test_trace_bogus_shows_the_failing_step(vd):
    tag = key_tag("bogus-edited.test")
    out = vd.ctl_run("trace", "www.bogus-edited.test", "A", "--cold").stdout
    assert re.search(rf"bogus.*RRSIG A www\.bogus-edited\.test\.? by key {tag}\b", out, re.I), out
    assert re.search(r"^result: SERVFAIL.*EDE 6", out, re.M), out
    out = vd.ctl_run("trace", "www.bogus-ds.test", "A", "--cold").stdout
    assert re.search(r"bogus.*DNSKEY bogus-ds\.test", out, re.I), out
    assert re.search(r"^result: SERVFAIL.*EDE 9", out, re.M), out


STATE_RX = r"\b(secure|insecure|bogus|indeterminate|unchecked)\b"


def entry_state(fields_text):
    m = re.findall(STATE_RX, fields_text)
    return m[-1] if m else None


def test_dump_shows_validation_state(vd):
    """Each cache entry says what validation made of it: the secure A, the
    insecure A, the bogus A (text dump: in its comment; JSON: a field)."""
    want = {"www.sec-nsec.test": "secure", "www.insecure.test": "insecure",
            "www.bogus-edited.test": "bogus"}
    for name in want:
        dig(vd, name, "A", "+dnssec")
    got, got_json = {}, {}
    for name, state in want.items():
        text = vd.ctl_run("dump", "--name", name, "--type", "A").stdout
        lines = [ln for ln in text.splitlines()
                 if ln.split()[:1] == [name + "."] and "\tA\t" in ln]
        assert lines, text
        got[name] = entry_state(lines[0].split(";", 1)[1] if ";" in lines[0] else "")
        js = vd.ctl_run("dump", "--json", "--name", name, "--type", "A").stdout
        ents = [json.loads(ln) for ln in js.splitlines() if ln.startswith("{")]
        ents = [e for e in ents if e["owner"] == name + "." and e["type"] == "A"]
        assert ents, js
        vals = {v for v in ents[0].values() if isinstance(v, str)}
        got_json[name] = next((v for v in vals if re.fullmatch(STATE_RX, v)), None)
    assert got == want, ("resolverctl dump: the validation state of each entry", got)
    assert got_json == want, ("resolverctl dump --json: the validation state", got_json)


# --------------------------------------------- aggressive NSEC (RFC 8198) ---
def test_aggressive_nsec_answers_without_asking(mkd, anchor_conf):
    """An NXDOMAIN proven secure by NSEC leaves its NSEC records cached: a
    name they also cover is NXDOMAIN at once, AD set, no query upstream;
    delv validates the synthesised answer (its NSEC records and RRSIGs for
    DO); an empty non-terminal between them is NODATA. Flushing the zone
    forgets them; NSEC3 zones are not answered this way; and
    dnssec.aggressive_nsec: false turns it off."""
    d = mkd(hints=HINTS)
    r = ask_raw(d, "nope1.sec-nsec.test", do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AD, r
    before = stats(d)
    # a.b.sec-nsec.test -> txt.sec-nsec.test covers "nope2"; the apex's
    # NSEC covers the wildcard *.sec-nsec.test
    r = ask_raw(d, "nope2.sec-nsec.test", do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert r.flags & dns.flags.AD, r
    types = {dns.rdatatype.to_text(rr.rdtype) for rr in r.authority}
    assert {"SOA", "NSEC", "RRSIG"} <= types, r
    after = stats(d)
    assert after["upstream.queries"] == before["upstream.queries"], (before, after)
    assert after["answers.aggressive_nsec"] == before["answers.aggressive_nsec"] + 1
    # without DO: the SOA alone, still AD for a client that set AD
    r = ask_raw(d, "nope3.sec-nsec.test", flags=dns.flags.RD | dns.flags.AD)
    assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AD, r
    assert [dns.rdatatype.to_text(rr.rdtype) for rr in r.authority] == ["SOA"], r
    # a validator agrees with the synthesised proof
    v = delv(d, anchor_conf, "nope4.sec-nsec.test")
    assert v.validated and "NXDOMAIN" in v.text, v
    # flushed: asked again
    d.ctl_run("flush", "--zone", "sec-nsec.test")
    n = stats(d)["upstream.queries"]
    r = ask_raw(d, "nope5.sec-nsec.test", do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert stats(d)["upstream.queries"] > n
    # NSEC3 proofs are never used this way
    ask_raw(d, "nope1.sec-nsec3n.test", do=True)
    n = stats(d)["upstream.queries"]
    r = ask_raw(d, "nope2.sec-nsec3n.test", do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert stats(d)["upstream.queries"] > n

    off = mkd(hints=HINTS, config_extra="dnssec:\n  aggressive_nsec: false\n"
              f"  trust_anchors: [{LAB_RUN / 'root.anchor'}]\n")
    ask_raw(off, "nope1.sec-nsec.test", do=True)
    n = stats(off)["upstream.queries"]
    r = ask_raw(off, "nope2.sec-nsec.test", do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert stats(off)["upstream.queries"] > n
    assert stats(off)["answers.aggressive_nsec"] == 0


def test_aggressive_nsec_not_from_insecure_or_bogus(mkd):
    """Only NSEC records that validated secure are kept: an insecure zone's
    and a bogus zone's denials never answer for other names."""
    d = mkd(hints=HINTS)
    for zone in ("insecure.test", "bogus-nonsec.test", "bogus-expired.test"):
        ask_raw(d, f"nope1.{zone}", do=True)
        n = stats(d)["upstream.queries"]
        ask_raw(d, f"nope2.{zone}", do=True)
        assert stats(d)["upstream.queries"] > n, zone
    assert stats(d)["answers.aggressive_nsec"] == 0


def test_lookup_shows_the_chain_of_trust(mkd):
    """resolverctl lookup NAME: after the answers and the zone cut, the
    chain of trust the cache holds for NAME, zone by zone from the anchor:
    each DS and DNSKEY RRset with its state and key tags, the proof that a
    zone has no DS, a bogus DNSKEY with its reason, a negative trust
    anchor; --json puts the same in the cut object's "chain"."""
    d = mkd(hints=HINTS, config_extra="")
    dig(d, "www.sub.sec-nsec3.test")
    out = d.ctl_run("lookup", "www.sub.sec-nsec3.test", "A").stdout
    assert "chain of trust, from the root:" in out, out
    links = [ln.split()[1:4] for ln in out.splitlines()
             if ln.startswith(";;   ") and " secure" in ln or "trusted" in ln]
    assert ["test.", "DS", "secure"] in links, out
    tag = key_tag("sub.sec-nsec3.test")
    assert re.search(rf"sub\.sec-nsec3\.test\.\s+DS\s+secure \(ttl \d+ s\): {tag} alg 13 digest 2", out), out
    assert re.search(rf"sub\.sec-nsec3\.test\.\s+DNSKEY\s+secure .*{tag} alg 13 KSK", out), out
    assert re.search(r";;   \.\s+anchor trusted: \d+ alg 13 digest 2", out), out
    # an insecure delegation: the cached proof that there is no DS
    dig(d, "www.insecure.test")
    out = d.ctl_run("lookup", "www.insecure.test").stdout
    assert re.search(r"insecure\.test\.\s+no DS\s+secure .*proven", out), out
    # a bogus zone: its DNSKEY RRset is kept (briefly) with the reason
    dig(d, "www.bogus-ds.test")
    out = d.ctl_run("lookup", "www.bogus-ds.test").stdout
    assert re.search(r"bogus-ds\.test\.\s+DS\s+secure", out), out
    assert re.search(r"bogus-ds\.test\.\s+DNSKEY\s+bogus \(ttl \d+ s\): .*; "
                     r"DS \d+ for bogus-ds\.test\.: no DNSKEY matches", out), out
    dig(d, "www.bogus-nodnskey.test")
    out = d.ctl_run("lookup", "www.bogus-nodnskey.test").stdout
    assert re.search(r"bogus-nodnskey\.test\.\s+no DNSKEY bogus .*none, though the parent has a DS",
                     out), out
    objs = [json.loads(ln) for ln in
            d.ctl_run("lookup", "www.sub.sec-nsec3.test", "--json").stdout.splitlines()]
    chain = objs[-1]["chain"]
    assert chain[0] == {"zone": ".", "what": "anchor", "state": "trusted",
                        "keys": chain[0]["keys"]} and chain[0]["keys"][0]["digest"] == 2
    last = [c for c in chain if c["zone"] == "sub.sec-nsec3.test."]
    assert [c["what"] for c in last] == ["DS", "DNSKEY"], chain
    assert last[1]["keys"] == [{"tag": tag, "alg": 13, "ksk": True}], chain


def test_lookup_chain_stops_at_a_negative_anchor_and_without_validation(mkd):
    d = mkd(hints=HINTS, config_extra=(
        "dnssec:\n  trust_anchors:\n"
        f"    - {LAB_RUN / 'root.anchor'}\n"
        "  negative_trust_anchors: [bogus-ds.test]\n"))
    dig(d, "www.bogus-ds.test")
    out = d.ctl_run("lookup", "www.bogus-ds.test").stdout
    assert re.search(r"bogus-ds\.test\.\s+NTA\s+insecure; a negative trust anchor", out), out
    assert "bogus-ds.test.       DNSKEY" not in out, out
    off = mkd(hints=HINTS, config_extra="dnssec:\n  validation: false\n")
    dig(off, "www.sec-nsec.test")
    out = off.ctl_run("lookup", "www.sec-nsec.test").stdout
    assert ";; chain of trust: none, validation is off" in out, out
    objs = [json.loads(ln) for ln in
            off.ctl_run("lookup", "www.sec-nsec.test", "--json").stdout.splitlines()]
    assert objs[-1]["chain"] is None
