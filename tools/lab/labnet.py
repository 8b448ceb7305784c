"""The lab's address range, one place for every lab tool and the tests.

The lab lives on NET.0.0/16 port 53, NET taken from the environment variable
LAB_NET ("127.53" when unset). Two labs with different nets (two checkouts,
two people) run side by side: each has its own run dir, so their pid files,
logs and zone files never mix.

  LAB_NET=127.54 tools/lab/start     # a second lab on 127.54.0.0/16

Only loopback nets are accepted (127.1 .. 127.255): nothing in the lab may
ever point off the machine."""
import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = "127.53"


def net():
    """The lab's /16 as "127.X" (from LAB_NET, default 127.53)."""
    v = (os.environ.get("LAB_NET") or DEFAULT).strip()
    m = re.fullmatch(r"127\.(\d{1,3})", v)
    if not m or not 1 <= int(m.group(1)) <= 255:
        raise SystemExit(f"LAB_NET={v!r}: must be 127.X with X in 1..255 (loopback only)")
    return f"127.{int(m.group(1))}"


def addr(suffix):
    """The lab address NET.suffix, e.g. addr("10.1") -> "127.53.10.1"."""
    return f"{net()}.{suffix}"


def rev_zone():
    """The reverse zone of the lab's /16: "53.127.in-addr.arpa" for 127.53."""
    a, b = net().split(".")
    return f"{b}.{a}.in-addr.arpa"


def run_dir():
    """$LAB_DIR if set, else tools/lab/run for the default net and
    tools/lab/run-NET for any other."""
    if os.environ.get("LAB_DIR"):
        return Path(os.environ["LAB_DIR"]).resolve()
    n = net()
    return (HERE / ("run" if n == DEFAULT else f"run-{n}")).resolve()


def in_net(ip):
    """Is ip inside the lab's /16?"""
    return ip.startswith(net() + ".")


def bigrr_string(i):
    """The i-th 200-byte string of bigrr.test's TXT records (written by gen,
    checked by the tests)."""
    return (f"s{i:03d}-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 6)[:200]
