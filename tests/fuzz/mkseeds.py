#!/usr/bin/python3
"""Write the seed inputs of tests/fuzz/corpus/ (run from the top of the repo,
after `make fuzz-build`). The committed corpus is these seeds merged with
what fuzzing found (`make fuzz-merge`); rerun this only to start over.

fuzz_query   client queries built with dnspython (EDNS, DO, cookies, RD=0,
             AXFR, NOTIFY, BADVERS, two questions, a compressed question...)
fuzz_reply   whole resolutions: the fuzz_reply binary itself says (with
             FUZZ_REPLY_DEBUG) which query it sends next, a small simulated
             hierarchy (root, com/net, example.com, example.net, a forwarder)
             answers it, and the answer is appended, until the resolution
             ends; scenarios add referrals, glueless NS, CNAME chains,
             NXDOMAIN and NODATA with SOA, TC and a TCP retry, timeouts,
             FORMERR to EDNS, SERVFAIL, REFUSED (lame), a spoofed reply,
             a reply in the wrong case
fuzz_dump    the caches those resolutions left, as text dumps (FUZZ_REPLY_DUMP)
fuzz_hints   the lab's root.hints and an IANA-style named.root
fuzz_config  the examples of man/resolverd.yaml.5 and configurations of
             tests/integration
"""
import os
import re
import struct
import subprocess
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

B = os.environ.get("FUZZ_BUILD", "build-fuzz")
C = "tests/fuzz/corpus"


def put(target, name, data):
    d = os.path.join(C, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- fuzz_query ----

def q(name, rtype, **kw):
    m = dns.message.make_query(name, rtype, use_edns=kw.get("edns"),
                               want_dnssec=kw.get("do", False),
                               options=kw.get("options"),
                               payload=kw.get("payload", 1232))
    m.id = 0x1234
    if not kw.get("rd", True):
        m.flags &= ~dns.flags.RD
    if kw.get("cd"):
        m.flags |= dns.flags.CD
    if "opcode" in kw:
        m.set_opcode(kw["opcode"])
    if "rdclass" in kw:
        m.question[0].rdclass = kw["rdclass"]
    return m.to_wire()


def query_seeds():
    cookie = dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(8)))
    s = {
        "www-a": q("www.example.com", "A"),
        "www-a-edns": q("www.example.com", "A", edns=0),
        "www-a-do": q("www.example.com", "A", edns=0, do=True, cd=True),
        "www-a-cookie": q("www.example.com", "A", edns=0, options=[cookie]),
        "www-aaaa": q("WwW.ExAmPlE.CoM", "AAAA", edns=0, payload=4096),
        "cname-chain": q("c1.example.com", "A", edns=0),
        "cname-loop": q("loop1.example.com", "A"),
        "nxdomain": q("nope.example.com", "A", edns=0),
        "nodata": q("mail.example.com", "AAAA"),
        "big-udp512": q("big.example.com", "TXT"),
        "big-edns": q("big.example.com", "TXT", edns=0, payload=600),
        "mx": q("example.com", "MX", edns=0, do=True),
        "any": q("www.example.com", "ANY"),
        "ds": q("example.com", "DS", edns=0, do=True),
        "norec-root-ns": q(".", "NS", rd=False, edns=0),
        "norec-referral": q("x.y.example.org", "A", rd=False),
        "norec-www": q("www.example.com", "A", rd=False, edns=0),
        "norec-com-ns": q("com", "NS", rd=False),
        "axfr": q("example.com", "AXFR"),
        "ixfr": q("example.com", "IXFR", edns=0),
        "notify": q("example.com", "SOA", opcode=dns.opcode.NOTIFY),
        "chaos": q("version.bind", "TXT", rdclass=dns.rdataclass.CH),
        "class-any": q("www.example.com", "A", rdclass=dns.rdataclass.ANY),
        "class-hs": q("www.example.com", "A", rdclass=dns.rdataclass.HS),
        "edns-small": q("www.example.com", "A", edns=0, payload=100),
    }
    # BADVERS: EDNS version 1
    m = dns.message.make_query("www.example.com", "A", use_edns=1)
    m.id = 7
    s["badvers"] = m.to_wire()
    # a response (QR set): dropped
    r = bytearray(s["www-a"])
    r[2] |= 0x80
    s["response"] = bytes(r)
    # QDCOUNT 2
    w = bytearray(s["www-a"])
    w[5] = 2
    s["qdcount2"] = bytes(w) + w[12:]
    # compressed question: pointer to offset 12 inside the question
    s["compressed-q"] = bytes(w[:12]) + b"\x03www\xc0\x0c\x00\x01\x00\x01"
    # two OPT records
    e = bytearray(s["www-a-edns"])
    e[11] = 2
    s["two-opt"] = bytes(e) + bytes(e[-11:])
    # truncated in the question, and a bare header
    s["short"] = s["www-a"][:20]
    s["header-only"] = s["www-a"][:12]
    # an answer record in a query
    a = bytearray(s["www-a"])
    a[7] = 1
    s["ancount1"] = bytes(a) + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01"
    for k, v in s.items():
        put("fuzz_query", k, v)


# ---- fuzz_reply: a simulated hierarchy ----

ROOT = ["192.0.2.1", "2001:db8::1"]
ZONES = {
    ".": (None, [
        ". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
        ". 518400 IN NS a.root-servers.net.",
        "a.root-servers.net. 518400 IN A 192.0.2.1",
        "a.root-servers.net. 518400 IN AAAA 2001:db8::1",
        "com. 172800 IN NS a.gtld.net.",
        "net. 172800 IN NS a.gtld.net.",
        "a.gtld.net. 172800 IN A 192.0.2.10",
        "a.gtld.net. 172800 IN AAAA 2001:db8::10",
    ]),
    "com.": (["192.0.2.10", "2001:db8::10"], [
        "com. 900 IN SOA a.gtld.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
        "com. 172800 IN NS a.gtld.net.",
        "example.com. 172800 IN NS ns1.example.com.",
        "example.com. 172800 IN NS ns2.example.net.",
        "ns1.example.com. 172800 IN A 192.0.2.30",
        "example.com. 86400 IN DS 12345 13 2 " + "4bd8f6fd" * 8,
        "example.com. 86400 IN RRSIG DS 13 2 86400 20991231000000 "
        "20230101000000 4321 com. AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
    ]),
    "net.": (["192.0.2.10", "2001:db8::10"], [
        "net. 900 IN SOA a.gtld.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
        "net. 172800 IN NS a.gtld.net.",
        "a.gtld.net. 172800 IN A 192.0.2.10",
        "example.net. 172800 IN NS ns1.example.net.",
        "ns1.example.net. 172800 IN A 192.0.2.31",
    ]),
    "example.com.": (["192.0.2.30", "192.0.2.31"], [
        "example.com. 600 IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300",
        "example.com. 3600 IN NS ns1.example.com.",
        "example.com. 3600 IN NS ns2.example.net.",
        "ns1.example.com. 3600 IN A 192.0.2.30",
        "example.com. 300 IN MX 10 mail.example.com.",
        "mail.example.com. 300 IN A 192.0.2.25",
        "www.example.com. 300 IN A 192.0.2.100",
        "www.example.com. 300 IN A 192.0.2.101",
        "www.example.com. 300 IN RRSIG A 13 3 300 20991231000000 "
        "20230101000000 12345 example.com. AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        "www.example.com. 300 IN AAAA 2001:db8::100",
        "www.example.com. 300 IN TXT \"v=spf1 -all\"",
        "c1.example.com. 300 IN CNAME c2.example.com.",
        "c2.example.com. 300 IN CNAME x.example.com.",
        "x.example.com. 300 IN CNAME www.example.net.",
        "c.b.example.com. 300 IN A 192.0.2.102",
    ]),
    "example.net.": (["192.0.2.31"], [
        "example.net. 600 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300",
        "example.net. 3600 IN NS ns1.example.net.",
        "ns1.example.net. 3600 IN A 192.0.2.31",
        "ns2.example.net. 3600 IN A 192.0.2.31",
        "www.example.net. 300 IN A 192.0.2.110",
    ]),
}
FORWARDER = "192.0.2.200"

RRS = {}
for apex, (_, lines) in ZONES.items():
    sets = {}
    for line in lines:
        f = line.split(None, 4)
        r = dns.rrset.from_text(f[0], f[1], f[2], f[3], f[4])
        k = (r.name, r.rdtype, r.covers)
        if k in sets:
            sets[k].union_update(r)
        else:
            sets[k] = r
    RRS[apex] = list(sets.values())


def serves(addr, apex):
    srv = ZONES[apex][0]
    if srv is None:  # the root: the hints' addresses, and any IANA one
        known = {a for z in ZONES.values() if z[0] for a in z[0]}
        return addr not in known and addr != FORWARDER
    return addr in srv


def zone_for(addr, qn):
    best = None
    for apex in ZONES:
        z = dns.name.from_text(apex)
        if (addr == FORWARDER or serves(addr, apex)) and qn.is_subdomain(z):
            if best is None or len(z) > len(best):
                best = z
    return best


def answer(addr, qname, qtype, resp, recursive=False):
    qn = dns.name.from_text(qname)
    apex = zone_for(addr, qn)
    if apex is None:
        resp.set_rcode(dns.rcode.REFUSED)
        return
    rrs = RRS[apex.to_text()]
    if not recursive:
        cuts = [r for r in rrs if r.rdtype == dns.rdatatype.NS and r.name != apex
                and qn.is_subdomain(r.name)
                and not (qtype == dns.rdatatype.DS and r.name == qn)]
        if cuts:
            cut = cuts[0]
            resp.authority.append(cut)
            for ns in cut:
                for r in rrs:
                    if r.name == ns.target and r.rdtype in (1, 28):
                        resp.additional.append(r)
            return
        resp.flags |= dns.flags.AA
    cur = qn
    for _ in range(12):
        found = [r for r in rrs if r.name == cur and
                 (r.rdtype == qtype or qtype == dns.rdatatype.ANY or
                  r.rdtype == dns.rdatatype.CNAME or
                  (r.rdtype == dns.rdatatype.RRSIG and r[0].type_covered == qtype))]
        if found:
            resp.answer.extend(found)
            cn = [r for r in found if r.rdtype == dns.rdatatype.CNAME]
            if cn and qtype not in (dns.rdatatype.CNAME, dns.rdatatype.ANY):
                cur = cn[0][0].target
                if cur.is_subdomain(apex):
                    continue
                if recursive:
                    apex = zone_for(addr, cur)
                    rrs = RRS[apex.to_text()]
                    continue
            return
        exists = any(r.name.is_subdomain(cur) for r in rrs)
        resp.authority.extend(r for r in rrs if r.rdtype == dns.rdatatype.SOA)
        if not exists:
            resp.set_rcode(dns.rcode.NXDOMAIN)
        return


SEND = re.compile(r"fuzz_reply: send (\S+) (\S+) to (\S+) port (\d+)( tcp)?")


def sends(inp, dump=None):
    env = dict(os.environ, FUZZ_REPLY_DEBUG="1")
    if dump:
        env["FUZZ_REPLY_DUMP"] = dump
    tmp = os.path.join(B, "mkseeds.input")
    with open(tmp, "wb") as f:
        f.write(inp)
    p = subprocess.run([f"{B}/fuzz_reply", "-runs=1", tmp],
                       env=env, capture_output=True, timeout=60)
    out = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        sys.exit(f"mkseeds: fuzz_reply failed:\n{out}")
    # the harness runs three resolutions; the first one that ran out of
    # input wants an answer to its last query
    segs = out.split("fuzz_reply: done")
    for i, seg in enumerate(segs[:-1]):
        done = segs[i + 1].splitlines()[0]
        if "fuzz input exhausted" in done:
            return SEND.findall(seg), done
    return [], segs[1].splitlines()[0] if len(segs) > 1 else ""


def record(ctl, msg=b""):
    if ctl & 1:
        return bytes([ctl])
    return bytes([ctl]) + struct.pack(">H", len(msg)) + msg


def resolve(name, setup, mods=None, dump=None):
    mods = mods or {}
    count = {}
    inp = bytes([setup])
    for _ in range(60):
        s, done = sends(inp)
        if "fuzz input exhausted" not in done:
            break
        qname, qtype, addr, port, tcp = s[-1]
        n = count[addr] = count.get(addr, 0) + 1
        if addr in mods.get("timeout_once", ()) and n == 1:
            inp += record(1 | 0x30)
            continue
        m = dns.message.make_query(qname, qtype, use_edns=0)
        resp = dns.message.make_response(m)
        resp.flags &= ~dns.flags.RD
        if addr in mods.get("spoof_first", ()) and n == 1:
            bad = dns.message.make_response(m)
            bad.answer.append(dns.rrset.from_text(qname, 300, "IN", "A", "6.6.6.6"))
            inp += record(0x04, bad.to_wire())
        recursive = addr == FORWARDER
        if recursive:
            resp.flags |= dns.flags.RA
        if addr in mods.get("tc_udp", ()) and not tcp:
            resp.flags |= dns.flags.TC | dns.flags.AA
        elif addr in mods.get("formerr_once", ()) and n == 1:
            resp = dns.message.make_response(dns.message.make_query(qname, qtype))
            resp.set_rcode(dns.rcode.FORMERR)
        elif addr in mods.get("servfail_once", ()) and n == 1:
            resp.set_rcode(dns.rcode.SERVFAIL)
        elif addr in mods.get("lame", ()):
            resp.set_rcode(dns.rcode.REFUSED)
        else:
            answer(addr, qname, dns.rdatatype.from_text(qtype), resp, recursive)
        wire = resp.to_wire(max_size=65535)
        if addr in mods.get("wrong_case", ()) and n == 1:
            # a reply in the wrong case is ignored; the timeout that
            # follows makes the iterator retry over TCP without 0x20
            inp += record(0x18, wire) + record(0x01)
            continue
        inp += record(0x10, wire)
    else:
        sys.exit(f"mkseeds: {name}: resolution did not end")
    put("fuzz_reply", name, inp)
    if dump:
        d = os.path.join(C, "fuzz_dump")
        os.makedirs(d, exist_ok=True)
        sends(inp, os.path.join(d, dump))
    return done


# setup byte: bits 0-2 question (www A, example.com NS, a.b AAAA, DS, ANY,
# . NS, c1 A, nope MX), 8 no qmin, 0x10 no 0x20, 0x20 forward example.com,
# 0x40 IANA hints, 0x80 TCP client
REPLY_SEEDS = [
    ("www-a", 0, {}, "www-a.dump"),
    ("www-a-noqmin", 0x18, {}, None),
    ("example-ns", 1, {}, None),
    ("ab-aaaa-nxdomain", 2, {}, "nxdomain.dump"),
    ("ds", 3, {}, None),
    ("www-any", 4, {}, None),
    ("priming", 5, {}, "priming.dump"),
    ("cname-chain", 6, {}, "cname.dump"),
    ("nope-mx", 7, {}, None),
    ("forward-www", 0x20, {}, "forward.dump"),
    ("forward-cname", 0x26, {}, None),
    ("forward-dead", 0x20, {"timeout_once": [FORWARDER], "servfail_once": [FORWARDER]}, None),
    ("iana-hints", 0x40, {}, None),
    ("tcp-client", 0x80, {}, None),
    ("tc-retry-tcp", 0, {"tc_udp": ["192.0.2.30"]}, None),
    ("timeouts", 0, {"timeout_once": ["2001:db8::1", "192.0.2.10", "192.0.2.30"]}, None),
    ("formerr-edns", 0, {"formerr_once": ["192.0.2.30"]}, None),
    ("servfail", 0, {"servfail_once": ["192.0.2.10", "192.0.2.30"]}, None),
    ("lame", 0, {"lame": ["192.0.2.30"]}, None),
    ("spoofed", 0, {"spoof_first": ["2001:db8::1", "192.0.2.30"]}, None),
    ("wrong-case", 0, {"wrong_case": ["192.0.2.30"]}, None),
]


def dump_seeds():
    h = ";; resolverd-dump 1 time=1700000000000 (x) tier=main\n"
    m = "rank=5 orig_ttl=300 stored=2023-11-14T22:13:10.000Z hits=2 from=192.0.2.30"
    put("fuzz_dump", "bad-lines", h +
        "www.example.com.\t300\tIN\tA\t192.0.2.1\t; kind=answer rank=5 orig_ttl=300\n"
        "www.example.com.\t300\tIN\tA\t192.0.2.999\t; kind=answer rank=5 orig_ttl=300\n"
        "no comment here\n\n; a comment\n$ORIGIN example.com.\n"
        "x.example.com.\t300\tIN\tA\t192.0.2.3\t; kind=weird\n"
        "y.example.com.\t300\tIN\tA\t192.0.2.4\t; kind=answer\n")
    put("fuzz_dump", "bad-version", ";; resolverd-dump 9 time=1700000000000\n")
    put("fuzz_dump", "kinds", h +
        "example.com.\t300\tIN\tSOA\tns1.example.com. h.example.com. 1 7200 3600 "
        f"1209600 300\t; kind=NODATA name=www.example.com. type=AAAA {m} tier=os\n"
        f"txt.example.com.\t600\tIN\tTXT\t\"a\\\"b;\" \"kind=\\t\"\t; kind=answer {m}\n"
        f"odd.example.com.\t60\tIN\tTYPE65534\t\\# 3 010203\t; kind=answer {m}\n"
        f"ch.example.com.\t60\tCH\tA\t192.0.2.9\t; kind=authority rank=4 orig_ttl=60\n"
        f"old.example.com.\t1\tIN\tA\t192.0.2.8\t; kind=answer {m}\n"
        "six.example.com.\t60\tIN\tAAAA\t2001:db8::6\t; kind=answer rank=5 "
        "orig_ttl=60 from=2001:db8::53 tier=browser\n")


def hints_seeds():
    lab = "; lab root hints (zone format, like IANA named.root)\n"
    roots = [("a.root-servers.net", "127.53.0.1"), ("b.root-servers.net", "127.53.0.2")]
    for n, _ in roots:
        lab += f".                        3600000      NS    {n}.\n"
    for n, a in roots:
        lab += f"{n + '.':<25}3600000      A     {a}\n"
    put("fuzz_hints", "lab-root.hints", lab)
    iana = ";       This file holds the information on root name servers\n" \
           "$ORIGIN .\n$TTL 3600000\n"
    for i, (v4, v6) in enumerate([("198.41.0.4", "2001:503:ba3e::2:30"),
                                  ("170.247.170.2", "2801:1b8:10::b"),
                                  ("192.33.4.12", "2001:500:2::c")]):
        n = "abc"[i] + ".ROOT-SERVERS.NET."
        iana += f".                        3600000      NS    {n}\n"
        iana += f"{n:<25}3600000      A     {v4}\n"
        iana += f"{n:<25}3600000      AAAA  {v6}\n"
    iana += "; End of file\n"
    put("fuzz_hints", "named.root", iana)
    put("fuzz_hints", "bad-ns-zone", ".  3600 NS a.root.\ncom. 3600 NS b.root.\n")
    put("fuzz_hints", "no-address", ". 3600 NS a.root-servers.net.\n")
    put("fuzz_hints", "stray-a", ". 3600 NS a.x.\nb.x. 3600 A 192.0.2.1\n")


def config_seeds():
    man = open("man/resolverd.yaml.5").read()
    for i, ex in enumerate(re.findall(r"^\.EX\n(.*?)^\.EE", man, re.M | re.S)):
        text = ex.replace("\\-", "-").replace("\\(aq", "'").replace("\\&", "")
        if ":" in text:
            put("fuzz_config", f"man-example-{i}.yaml", text)
    seeds = {
        "smallest.yaml": "listen: 127.0.0.1@5353\n",
        "syntax.yaml": "workers: 1\nlisten: [127.0.0.1\nuser: x\n",
        "bad-address.yaml": "listen:\n  - 127.0.0.1@53\n  - 300.1.2.3@53\n",
        "bad-port.yaml": "listen: 127.0.0.1@70000\n",
        "typo.yaml": "lsiten: 127.0.0.1@53\ncache:\n  szie: 1M\n",
        "dup.yaml": "workers: 1\nworkers: 2\n",
        "ttl.yaml": "cache:\n  min_ttl: 600\n  max_ttl: 60\n",
        "scoped.yaml": "access: []\nlisten: [\"fe80::1%1@53\", 0.0.0.0@53]\n",
        "two-docs.yaml": "workers: 1\n---\nworkers: 2\n",
        "anchors.yaml": "a: &x 1\nworkers: *x\n",
        "forward.yaml":
            "listen: [127.0.0.1@5353]\nforward_zones:\n"
            "  - zone: example.com\n    servers: [127.0.0.1@5300, \"::1@5301\"]\n"
            "    fallback: iterate\n  - zone: .\n    servers: 192.0.2.1\n",
        "tiers.yaml":
            "tiers:\n  - name: browser\n    profile: browser\n    listen: [127.0.0.1@5401]\n"
            "  - name: os\n    listen: [127.0.0.1@5402]\n    cache:\n      size: 1M\n"
            "      max_entries: 100\n  - name: isp\n    profile: isp\n"
            "    listen: [127.0.0.1@5404]\n    upstream: iterate\n",
        "control.yaml":
            "control_socket: /tmp/x.ctl\ncontrol_mode: 0660\ncontrol_owner: root:root\n"
            "cache:\n  persist: /tmp/cache.dump\nlog:\n  level: debug\n  dest: /tmp/log\n"
            "  queries: yes\n",
    }
    for k, v in seeds.items():
        put("fuzz_config", k, v)
    # what --check prints: every key (when a plain build is there)
    rd = "build/resolverd"
    if os.path.exists(rd):
        p = subprocess.run([rd, "-c", os.path.join(C, "fuzz_config", "forward.yaml"),
                            "--check"], capture_output=True, timeout=30)
        if p.returncode == 0 and p.stdout:
            put("fuzz_config", "printed.yaml", p.stdout)


if __name__ == "__main__":
    query_seeds()
    for name, setup, mods, dump in REPLY_SEEDS:
        print(f"fuzz_reply {name}: {resolve(name, setup, mods, dump).strip()}")
    dump_seeds()
    hints_seeds()
    config_seeds()
