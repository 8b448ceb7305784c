"""DNSSEC for the lab: fresh keys each `gen` run, signing with ldnsutils
(ldns-keygen, ldns-key2ds, ldns-signzone), DS records in the parents, the
bogus variants, and the trust anchor. Used by tools/lab/gen.

A zone's spec (SPECS in gen) is a dict:
  alg      DNSSEC algorithm number (13 default); 200 and 3: a crafted DNSKEY
           of an algorithm no validator supports (no signatures at all)
  nsec3    None (NSEC) or {"iter": N, "optout": bool} (salt always empty)
  digest   DS digest type in the parent (2 default; 4; 200 = a crafted DS
           with an unassigned digest type)
  mangle   None or one of: expired, future, edited, wrong-ds, no-dnskey,
           no-rrsig, no-nsec, keytrap
Keys are written to RUN/keys/ (never committed). One key per zone, a KSK
(flags 257) that signs everything (a combined signing key)."""
import base64
import hashlib
import os
import random
import shutil
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

KEYGEN_NAME = {8: "RSASHA256", 13: "ECDSAP256SHA256", 14: "ECDSAP384SHA384",
               15: "ED25519", 16: "ED448"}
KEYTRAP_KEYS = 24       # keytrap.test: extra DNSKEYs sharing the real key's tag
KEYTRAP_SIGS = 24       # and as many bogus RRSIGs over www A
SIGN_JOBS = 4


class SignError(Exception):
    pass


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SignError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[:500]}")
    return p.stdout


def wire_name(name):
    name = name.rstrip(".")
    out = b""
    for lab in name.split(".") if name else []:
        out += bytes([len(lab)]) + lab.lower().encode()
    return out + b"\x00"


def key_tag(rdata):
    """RFC 4034 appendix B over DNSKEY RDATA."""
    ac = 0
    for i, b in enumerate(rdata):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xFFFF
    return ac & 0xFFFF


def dnskey_rdata(flags, alg, pub):
    return struct.pack("!HBB", flags, 3, alg) + pub


def ds_text(owner, flags, alg, pub, digest_type):
    rd = dnskey_rdata(flags, alg, pub)
    data = wire_name(owner) + rd
    if digest_type == 2:
        dig = hashlib.sha256(data).hexdigest()
    elif digest_type == 4:
        dig = hashlib.sha384(data).hexdigest()
    else:  # an unassigned digest type: any 32 bytes
        dig = hashlib.sha256(b"unassigned" + data).hexdigest()
    own = owner.rstrip(".") + "."
    return f"{own} 3600 IN DS {key_tag(rd)} {alg} {digest_type} {dig.upper()}"


def parse_key_file(path):
    """(flags, alg, public key bytes) from a K*.key file."""
    for line in open(path):
        f = line.split(";")[0].split()
        if "DNSKEY" in f:
            i = f.index("DNSKEY")
            return int(f[i + 1]), int(f[i + 3]), base64.b64decode("".join(f[i + 4:]))
    raise SignError(f"no DNSKEY in {path}")


def forged_pub(alg, length, tag, rnd, below=None):
    """Public key bytes (random) whose DNSKEY with flags 257 has key tag
    `tag`: the last 16-bit word is chosen to make the sum come out right.
    With `below`, the key sorts before those bytes (the canonical order
    ldns-signzone writes the RRset in), so a resolver meets every forged
    key before the real one."""
    assert length % 2 == 0
    for _ in range(100):
        pub = bytearray(rnd.randbytes(length))
        if below is not None:
            pub[0] = 0
            if bytes(pub[:-2]) >= below[:-2]:
                continue
        pub[-2:] = b"\0\0"
        rd = dnskey_rdata(257, alg, bytes(pub))
        s = sum(b if i & 1 else b << 8 for i, b in enumerate(rd))
        for w in ((tag - s - k) & 0xFFFF for k in range(64)):  # k: the folded carry
            pub[-2], pub[-1] = w >> 8, w & 0xFF
            if key_tag(dnskey_rdata(257, alg, bytes(pub))) == tag:
                return bytes(pub)
    raise SignError("cannot forge a key tag")


class Signer:
    def __init__(self, run_dir, specs):
        self.dir = run_dir / "keys"
        shutil.rmtree(self.dir, ignore_errors=True)   # fresh keys every run
        self.dir.mkdir(parents=True)
        os.chmod(self.dir, 0o700)
        self.specs = specs
        self.keys = {}      # zone -> (basename, flags, alg, pub)
        self.rnd = random.Random()

    def keygen(self, zone):
        alg = self.specs[zone].get("alg", 13)
        if alg not in KEYGEN_NAME:   # crafted: 64 random bytes of "key"
            self.keys[zone] = (None, 257, alg, self.rnd.randbytes(64))
            return
        cmd = ["ldns-keygen", "-a", KEYGEN_NAME[alg], "-k"]
        if alg == 8:
            cmd += ["-b", "2048"]
        base = run(cmd + [zone], self.dir).strip()
        flags, a, pub = parse_key_file(self.dir / (base + ".key"))
        self.keys[zone] = (base, flags, a, pub)

    def ds_records(self, zone):
        """The DS lines the parent publishes for zone."""
        spec = self.specs[zone]
        base, flags, alg, pub = self.keys[zone]
        if spec.get("mangle") == "wrong-ds":   # a DS of a key the zone never had
            _, f2, a2, p2 = self.other_key
            return [ds_text(zone, f2, a2, p2, 2)]
        return [ds_text(zone, flags, alg, pub, spec.get("digest", 2))]

    def sign(self, zone, unsigned, signed):
        spec = self.specs[zone]
        base, flags, alg, pub = self.keys[zone]
        if base is None:   # crafted algorithm: publish the DNSKEY, sign nothing
            text = open(unsigned).read()
            text += (f"{zone}. 3600 IN DNSKEY {flags} 3 {alg} "
                     f"{base64.b64encode(pub).decode()}\n")
            open(signed, "w").write(text)
            return
        if spec.get("mangle") == "keytrap":
            tag = key_tag(dnskey_rdata(flags, alg, pub))
            with open(unsigned, "a") as f:
                # the real key first: ldns-signzone adds a key only when no
                # DNSKEY of its tag is in the zone, and all of these share it
                f.write(f"{zone}. 3600 IN DNSKEY {flags} 3 {alg} "
                        f"{base64.b64encode(pub).decode()}\n")
                for _ in range(KEYTRAP_KEYS):
                    fake = forged_pub(alg, len(pub), tag, self.rnd,
                                      below=pub if flags == 257 else None)
                    f.write(f"{zone}. 3600 IN DNSKEY 257 3 {alg} "
                            f"{base64.b64encode(fake).decode()}\n")
        cmd = ["ldns-signzone", "-f", str(signed)]
        now = int(time.time())
        if spec.get("mangle") == "expired":
            cmd += ["-i", str(now - 90 * 86400), "-e", str(now - 60 * 86400)]
        elif spec.get("mangle") == "future":
            cmd += ["-i", str(now + 60 * 86400), "-e", str(now + 90 * 86400)]
        else:   # valid for 30 days from an hour ago (clock skew)
            cmd += ["-i", str(now - 3600), "-e", str(now + 30 * 86400)]
        n3 = spec.get("nsec3")
        if n3:
            cmd += ["-n", "-t", str(n3.get("iter", 0))]
            if n3.get("optout"):
                cmd.append("-p")
        run(cmd + [str(unsigned), str(self.dir / base)], self.dir)
        self.mangle(zone, signed, spec.get("mangle"), (flags, alg, pub))

    def mangle(self, zone, path, how, key):
        if how in (None, "expired", "future", "wrong-ds"):
            return
        lines = open(path).read().splitlines()
        www = f"www.{zone}."

        def f(ln):
            return ln.split("\t")

        if how == "edited":        # a record changed after signing
            out = []
            for ln in lines:
                x = f(ln)
                if len(x) >= 5 and x[0] == www and x[3] == "A":
                    o = x[4].split(".")
                    o[-1] = str((int(o[-1]) + 100) % 256)
                    ln = "\t".join(x[:4] + [".".join(o)])
                out.append(ln)
            lines = out
        elif how == "no-dnskey":   # the DNSKEY RRset (and its RRSIG) removed
            lines = [ln for ln in lines if len(f(ln)) < 5 or not (
                f(ln)[3] == "DNSKEY" or (f(ln)[3] == "RRSIG" and f(ln)[4].startswith("DNSKEY ")))]
        elif how == "no-rrsig":    # every RRSIG but the DNSKEY's stripped
            lines = [ln for ln in lines if len(f(ln)) < 5 or f(ln)[3] != "RRSIG"
                     or f(ln)[4].startswith("DNSKEY ")]
        elif how == "no-nsec":     # the NSEC records (and their RRSIGs) stripped
            lines = [ln for ln in lines if len(f(ln)) < 5 or not (
                f(ln)[3] == "NSEC" or (f(ln)[3] == "RRSIG" and f(ln)[4].startswith("NSEC ")))]
        elif how == "keytrap":     # many RRSIGs over www A with the colliding tag
            sig = [ln for ln in lines if len(f(ln)) >= 5 and f(ln)[0] == www
                   and f(ln)[3] == "RRSIG" and f(ln)[4].startswith("A ")][0]
            r = f(sig)[4].split()
            flags, alg, pub = key
            # the forged ones before the real one: a resolver tries them first
            at = lines.index(sig)
            for _ in range(KEYTRAP_SIGS):
                fake = base64.b64encode(self.rnd.randbytes(64 if alg == 13 else 96)).decode()
                lines.insert(at, "\t".join(f(sig)[:4] + [" ".join(r[:8] + [fake])]))
        else:
            raise SignError(f"unknown mangle {how}")
        open(path, "w").write("\n".join(lines) + "\n")


def sign_all(run_dir, zones, specs, parent_of, zone_path):
    """Generate keys, add DS records to the parents' texts (zones: name ->
    zone file text, changed in place), write every zone file (signed ones
    signed), the trust anchor root.anchor (DS) and root.anchor.dnskey.
    zone_path(zone) is where NSD reads the zone."""
    s = Signer(run_dir, specs)
    with ThreadPoolExecutor(SIGN_JOBS) as ex:
        list(ex.map(s.keygen, specs))
    # the key behind a wrong DS: generated, never published
    other = run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "wrong-ds.invalid"], s.dir).strip()
    s.other_key = (other,) + parse_key_file(s.dir / (other + ".key"))
    for zone in specs:
        p = parent_of(zone)
        if p is not None and p in specs:
            zones[p] += "\n".join(s.ds_records(zone)) + "\n"
    for zone, text in zones.items():
        path = zone_path(zone)
        if zone in specs:
            unsigned = path.with_name(path.name + ".unsigned")
            unsigned.write_text(text)
        else:
            path.write_text(text)
    with ThreadPoolExecutor(SIGN_JOBS) as ex:
        futs = [ex.submit(s.sign, z, zone_path(z).with_name(zone_path(z).name + ".unsigned"),
                          zone_path(z)) for z in specs]
        for fu in futs:
            fu.result()
    if "." in specs:
        _, flags, alg, pub = s.keys["."]
        (run_dir / "root.anchor").write_text(
            "; the lab root's trust anchor (DS), fresh at every tools/lab/gen\n"
            + ds_text(".", flags, alg, pub, 2) + "\n")
        (run_dir / "root.anchor.dnskey").write_text(
            "; the lab root's key (DNSKEY), fresh at every tools/lab/gen\n"
            f". 3600 IN DNSKEY {flags} 3 {alg} {base64.b64encode(pub).decode()}\n")
    return s
