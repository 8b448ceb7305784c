#!/usr/bin/python3
"""tools/demo/tour.py: the tour (tools/demo/TOUR.md) and its commands.

    tools/demo/tour.py write --banner FILE     # TOUR.md.in -> TOUR.md

`write` runs every command of tools/demo/TOUR.md.in ({{run: CMD}}) against
the demo that is running now (make demo, in another terminal) and writes
TOUR.md with their real output; {{banner}} is what `make demo` printed,
saved in FILE. The tour is written for the defaults (LAB_NET 127.53, the
tiers on 5301..5304, the page on 8053, the lab's run directory): a demo
started with other ones (LAB_NET, DEMO_PORT_BASE, DEMO_HTTP, DEMO_DIR,
DEMO_RESOLVER) is asked on its own, and its output is written back in the
defaults' terms. tests/integration/test_tour.py uses the same reading of
TOUR.md (commands(), Setup) to run the tour and compare each output's shape
(shape())."""
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
DEFAULT_NET = "127.53"
DEFAULT_BASE = 5300
DEFAULT_HTTP = 8053
DEFAULT_DIR = "tools/lab/run"
DEFAULT_TOP = "~/resolverd"


class Setup:
    """Where a demo runs, and how to say a default's command and output
    in its terms (to_actual) and back (to_default)."""

    def __init__(self, net=DEFAULT_NET, base=DEFAULT_BASE, http=DEFAULT_HTTP,
                 run_dir=None, resolver=None, build="build"):
        self.net = net
        self.base = base
        self.http = http
        if run_dir is None:
            run_dir = TOP / ("tools/lab/run" if net == DEFAULT_NET else f"tools/lab/run-{net}")
        self.run_dir = Path(run_dir)
        self.resolver = resolver or f"{net}.254.53"
        self.build = build

    @classmethod
    def from_env(cls):
        http = os.environ.get("DEMO_HTTP", f"127.0.0.1@{DEFAULT_HTTP}").rsplit("@", 1)[1]
        return cls(net=os.environ.get("LAB_NET", DEFAULT_NET),
                   base=int(os.environ.get("DEMO_PORT_BASE", DEFAULT_BASE)),
                   http=int(http), run_dir=os.environ.get("DEMO_DIR"),
                   resolver=os.environ.get("DEMO_RESOLVER"),
                   build=os.environ.get("RESOLVERD_BUILD", "build"))

    def _pairs(self):
        rel = os.path.relpath(self.run_dir, TOP)
        pairs = [(DEFAULT_DIR + "/", (rel if not rel.startswith("..") else str(self.run_dir)) + "/"),
                 ("$PWD/build", f"$PWD/{self.build}" if not self.build.startswith("/")
                  else self.build),
                 (f"{DEFAULT_NET}.254.53", self.resolver),
                 (f"{DEFAULT_NET}.", f"{self.net}.")]
        for i in range(1, 5):
            pairs.append((str(DEFAULT_BASE + i), str(self.base + i)))
        pairs.append((str(DEFAULT_HTTP), str(self.http)))
        return pairs

    def to_actual(self, text):
        for a, b in self._pairs():
            text = _swap(text, a, b)
        return text

    def to_default(self, text):
        text = text.replace(str(TOP), DEFAULT_TOP)
        for a, b in self._pairs():   # the most specific first, both ways
            text = _swap(text, b, a)
        return text

    def env(self):
        e = dict(os.environ, LAB_NET=self.net, DEMO_RESOLVER=self.resolver)
        return e


def _swap(text, a, b):
    if a == b:
        return text
    if a.isdigit():   # a port: whole numbers only
        return re.sub(rf"(?<![\d.]){a}(?!\d)", b, text)
    return text.replace(a, b)


def commands(tour_md):
    """The (command, output) pairs of the console blocks of TOUR.md, in
    order; a block line "$ CMD" starts one, the lines below are its
    output."""
    out, cur, inblock = [], None, False
    for line in Path(tour_md).read_text().splitlines():
        if line.startswith("```"):
            if inblock and cur is not None:
                out.append((cur[0], "\n".join(cur[1])))
                cur = None
            inblock = line.strip() == "```console"
            continue
        if not inblock:
            continue
        if line.startswith("$ "):
            if cur is not None:
                out.append((cur[0], "\n".join(cur[1])))
            cur = (line[2:], [])
        elif cur is not None:
            cur[1].append(line)
    return out


# What differs from one run to the next: numbers (TTLs, times, IDs, key
# tags), key and signature material, which of two servers was asked.
_MASKS = [
    (re.compile(r"[A-Za-z0-9+/=]{16,}"), "<b64>"),
    (re.compile(r"\b[0-9A-F]{6,}\b"), "<hex>"),   # a digest's last piece
    (re.compile(r"\b[ab]\.root-servers\.net\b"), "X.root-servers.net"),
    (re.compile(r"\b[ab]\.gtld-servers\.net\b"), "X.gtld-servers.net"),
    (re.compile(r"\bns[12]\.example\.(com|net|org)\b"), r"nsN.example.\1"),
    (re.compile(r"\d+"), "N"),
    (re.compile(r"[ \t]+"), " "),
]


def shape(text):
    """The lines of @p text with what varies between runs masked."""
    lines = []
    for line in text.splitlines():
        for rx, rep in _MASKS:
            line = rx.sub(rep, line)
        line = line.strip()
        if line:
            lines.append(line)
    return lines


def run(cmd, setup, env, timeout=60):
    """Run one tour command (default terms) in @p setup; @return (rc,
    output in default terms). `export A=B C=D` sets @p env instead."""
    actual = setup.to_actual(cmd)
    if actual.startswith("export "):
        for kv in actual[7:].split():
            k, v = kv.split("=", 1)
            env[k] = os.path.expandvars(v.replace("$PWD", str(TOP)))
        return 0, ""
    p = subprocess.run(["sh", "-c", actual], cwd=TOP, env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, setup.to_default(p.stdout + p.stderr)


def write(banner_file):
    setup = Setup.from_env()
    env = setup.env()
    src = (HERE / "TOUR.md.in").read_text()
    banner = setup.to_default(Path(banner_file).read_text()).strip("\n")
    banner = re.sub(r"^make(\[\d+\])?[: ].*\n?", "", banner, flags=re.M)

    def one(m):
        cmd = m.group(1).strip()
        rc, out = run(cmd, setup, env)
        if rc != 0:
            sys.exit(f"tour: `{cmd}` exited {rc}:\n{out}")
        return f"$ {cmd}" + ("\n" + out.rstrip("\n") if out.strip() else "")

    text = src.replace("{{banner}}", "$ make demo\n" + banner.strip("\n"))
    text = re.sub(r"\{\{run: (.*?)\}\}", one, text)
    (HERE / "TOUR.md").write_text(text)
    print(f"tour: wrote {HERE / 'TOUR.md'}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write" and sys.argv[2] == "--banner":
        write(sys.argv[3])
    else:
        sys.exit(__doc__)
