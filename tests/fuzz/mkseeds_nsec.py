#!/usr/bin/python3
"""Write the seed inputs of tests/fuzz/corpus/fuzz_nsec/ (run from the top
of the repository). The input format is described at the top of
tests/fuzz/fuzz_nsec.c; no dnspython needed, unlike mkseeds.py. The seeds
are a realistic signed zone (example. -> a. -> c. -> *.w. -> x.w. -> apex),
the same with c.example. as a delegation, a root zone, expiry, flushes and
malformed bitmaps, each followed by the questions that exercise its rules.
"""
import os

C = "tests/fuzz/corpus/fuzz_nsec"
# zone indexes and label indexes of fuzz_nsec.c
ROOT, EXAMPLE, W, C_EX, TEST = range(5)
LABELS = ["a", "b", "c", "w", "x", "z", "*", "m", "n", "\0", "A", "ab",
          "-", "0", "zz", "sub"]
NS, SOA, CNAME, DNAME, DS, A, TXT, NONSEC = (1 << i for i in range(8))
TYPES = {"A": 0, "NS": 1, "CNAME": 2, "SOA": 3, "MX": 4, "TXT": 5,
         "AAAA": 6, "DS": 7, "NSEC": 8, "RRSIG": 9, "DNSKEY": 10,
         "DNAME": 11, "ANY": 12, "CAA": 13}


def name(zone, *labels):
    """labels (leftmost first) under zone index zone"""
    out = bytes([zone | len(labels) << 3])
    return out + bytes(LABELS.index(lb) for lb in labels)


def raw_name(wire):
    return b"\xff" + bytes([len(wire)]) + wire


def put_nsec(zone, owner, nxt, bits, ttl=450, bad_sig=False):
    return bytes([0 | (0x80 if bad_sig else 0), zone]) + owner + nxt + \
        bytes([bits, ttl // 8])


def put_nsec_raw_bitmap(zone, owner, nxt, bm, ttl=450):
    return bytes([0, zone]) + owner + nxt + b"\xff" + bytes([len(bm)]) + \
        bm + bytes([ttl // 8])


def put_soa(zone, ttl=900, bad_sig=False):
    return bytes([1 | (0x80 if bad_sig else 0), zone, ttl // 8])


def prove(nm, qtype):
    if isinstance(qtype, int):
        return b"\x02" + nm + b"\xff" + qtype.to_bytes(2, "big")
    return b"\x02" + nm + bytes([TYPES[qtype]])


def clock(seconds):
    out = b""
    q = seconds * 4
    while q > 0:
        d = min(q, 255)
        out += bytes([3, d])
        q -= d
    return out


def flush(nm):
    return b"\x04" + nm


FLUSH_ALL = b"\x05"


def example(deleg=False):
    return (put_soa(EXAMPLE) +
            put_nsec(EXAMPLE, name(EXAMPLE), name(EXAMPLE, "a"), SOA | NS) +
            put_nsec(EXAMPLE, name(EXAMPLE, "a"), name(C_EX), A) +
            put_nsec(EXAMPLE, name(C_EX), name(W, "*"), NS if deleg else A) +
            put_nsec(EXAMPLE, name(W, "*"), name(W, "x"), TXT) +
            put_nsec(EXAMPLE, name(W, "x"), name(EXAMPLE), A))


QUESTIONS = (prove(name(EXAMPLE, "b"), "A") +
             prove(name(EXAMPLE, "a"), "AAAA") +
             prove(name(EXAMPLE, "a"), "A") +
             prove(name(W), "A") +
             prove(name(W, "z"), "A") +
             prove(name(EXAMPLE, "z"), "MX") +
             prove(name(C_EX, "m"), "A") +
             prove(name(C_EX), "DS") +
             prove(name(EXAMPLE), "DS") +
             prove(name(EXAMPLE, "a"), "CAA") +
             prove(name(EXAMPLE, "b", "A"), "TXT"))

SEEDS = {
    "example": example() + QUESTIONS,
    "delegation": example(True) + QUESTIONS,
    "child-zone": example(True) + put_soa(C_EX) +
    put_nsec(C_EX, name(C_EX), name(C_EX, "m"), SOA | NS) +
    put_nsec(C_EX, name(C_EX, "m"), name(C_EX), A | CNAME) + QUESTIONS,
    "root": put_soa(ROOT) +
    put_nsec(ROOT, name(ROOT), name(ROOT, "a"), SOA | NS) +
    put_nsec(ROOT, name(ROOT, "a"), name(ROOT, "m"), NS | DS) +
    put_nsec(ROOT, name(ROOT, "m"), name(ROOT), NS) +
    prove(name(ROOT, "b"), "A") + prove(name(ROOT, "a"), "DS") +
    prove(name(ROOT, "m"), "DS") + prove(name(EXAMPLE), "DS") +
    prove(name(ROOT, "x", "a"), "A") + prove(name(ROOT), "DS"),
    "dname": example() +
    put_nsec(EXAMPLE, name(EXAMPLE, "a"), name(C_EX), DNAME) + QUESTIONS,
    "expiry": put_soa(EXAMPLE, 240) + example()[3:] + clock(100) +
    prove(name(EXAMPLE, "b"), "A") + clock(200) +
    prove(name(EXAMPLE, "b"), "A") + put_soa(EXAMPLE, 900) +
    prove(name(EXAMPLE, "b"), "A") + clock(500) + QUESTIONS,
    "flush": example(True) + flush(name(C_EX)) + QUESTIONS +
    flush(name(EXAMPLE, "b")) + QUESTIONS + FLUSH_ALL + QUESTIONS,
    "malformed": put_soa(EXAMPLE, bad_sig=True) + put_soa(EXAMPLE) +
    put_nsec(EXAMPLE, name(EXAMPLE, "a"), name(C_EX), A, bad_sig=True) +
    put_nsec_raw_bitmap(EXAMPLE, name(EXAMPLE, "a"), name(C_EX),
                        b"\x00\x06\x40\x00\x00\x00\x00\x01") +
    put_nsec_raw_bitmap(EXAMPLE, name(EXAMPLE, "b"), name(C_EX),
                        b"\x01\x01\x40\x00\x01\x01") +
    put_nsec_raw_bitmap(EXAMPLE, name(EXAMPLE, "b"), name(C_EX),
                        b"\x00\x21" + b"\x01" * 33) +
    put_nsec(EXAMPLE, name(C_EX), name(EXAMPLE, "a"), A) +
    put_nsec(EXAMPLE, raw_name(b"\x01q\x07example\x00"),
             raw_name(b"\xc0\x0c"), A) +
    prove(raw_name(b"\x40" + b"a" * 64 + b"\x00"), "A") +
    prove(name(EXAMPLE, "ab"), 0xffff) + QUESTIONS,
}

if __name__ == "__main__":
    os.makedirs(C, exist_ok=True)
    for k, v in SEEDS.items():
        with open(os.path.join(C, k), "wb") as f:
            f.write(v)
        print(f"fuzz_nsec {k}: {len(v)} bytes")
