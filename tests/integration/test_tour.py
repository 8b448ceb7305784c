"""The tour (tools/demo/TOUR.md), run: `make demo`'s script on the test's
own ports (tools/demo/run with DEMO_NO_LAB=1 on the session's lab, its
files in the test's directory), then every command the tour shows, in
order; each must succeed and print what the tour shows, line by line, up
to what varies between runs (numbers, keys, which of two servers was
asked: tools/demo/tour.py shape()). Then the demo stops on SIGTERM, as on
Ctrl-C, within a bound, leaving the lab running."""
import os
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import BUILD, NET, ROOT, free_port, lab_addr

sys.path.insert(0, str(ROOT / "tools" / "demo"))
import tour  # noqa: E402

TOUR = ROOT / "tools" / "demo" / "TOUR.md"
pytestmark = pytest.mark.usefixtures("lab")


def free_base():
    """P with P+1..P+4 free for UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        base = free_port() - 1
        ok = True
        for port in range(base + 1, base + 5):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                finally:
                    s.close()
        if ok:
            return base
    raise RuntimeError("no four free ports in a row")


def read_until(proc, marker, timeout):
    """What @proc printed up to a line containing @marker (bounded)."""
    out, deadline = "", time.monotonic() + timeout
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise AssertionError(f"no {marker!r} from make demo's script:\n{out}")
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:   # unbuffered: select() sees what a buffer would hide
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                continue
            out += chunk.decode(errors="replace")
    return out


def compare(cmd, want, got):
    w, g = tour.shape(want), tour.shape(got)
    if w != g:
        import difflib
        diff = "\n".join(difflib.unified_diff(w, g, "the tour", "this run", lineterm=""))
        raise AssertionError(f"`{cmd}`: not the shape the tour shows:\n{diff}")


@pytest.mark.skipif(os.geteuid() != 0, reason="the demo's os tier listens on port 53")
def test_the_tour_runs_as_written(tmp_path):
    steps = tour.commands(TOUR)
    cmds = [c for c, _ in steps]
    assert cmds[0] == "make demo"
    assert len(steps) >= 10
    for must in ("dig @127.0.0.1 -p 5301 www.example.com", "tools/demo/dig +trace www.example.com",
                 "resolverctl trace www.leaf.sub.deep.test", "resolverctl trace www.sec-nsec.test",
                 "resolverctl dump --name www.example.com", "resolverctl trace www.example.com"):
        assert must in cmds, must
    setup = tour.Setup(net=NET, base=free_base(), http=free_port(), run_dir=tmp_path / "demo",
                       resolver=lab_addr("254.54"), build=os.path.relpath(BUILD, ROOT)
                       if str(BUILD).startswith(str(ROOT)) else str(BUILD))
    env = setup.env()
    env.update(DEMO_NO_LAB="1", DEMO_PORT_BASE=str(setup.base),
               DEMO_HTTP=f"127.0.0.1@{setup.http}", DEMO_DIR=str(setup.run_dir),
               RESOLVERD_BUILD=str(BUILD))
    demo = subprocess.Popen([str(ROOT / "tools" / "demo" / "run")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        banner = read_until(demo, "Ctrl-C stops it all.", 120)
        compare("make demo", steps[0][1], setup.to_default(banner))
        for cmd, want in steps[1:]:
            rc, got = tour.run(cmd, setup, env)
            assert rc == 0, f"`{cmd}` exited {rc}:\n{got}"
            compare(cmd, want, got)
        # the page the tour points at
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{setup.http}/?name=www.example.com",
                                    timeout=30) as r:
            assert r.status == 200 and 'data-tier="browser"' in r.read().decode()
    finally:
        pid_file = setup.run_dir / "tiers.pid"
        daemon_pid = int(pid_file.read_text()) if pid_file.exists() else None
        demo.send_signal(signal.SIGTERM)          # as Ctrl-C
        try:
            rest, _ = demo.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.communicate(timeout=10)
            raise
    rest = rest.decode(errors="replace")
    assert "demo: stopped" in rest, rest
    if daemon_pid is not None:
        with pytest.raises(ProcessLookupError):
            os.kill(daemon_pid, 0)
    # the lab it did not start is still there
    from conftest import dig
    assert dig(lab_addr("0.1"), 53, ".", "NS", "+norec").status == "NOERROR"


def test_the_readme_shows_the_tour_as_run():
    """Every console block of README.md is an excerpt of the tour: each
    command is one the tour runs (and test_the_tour_runs_as_written runs),
    and its output lines appear in the tour's output of that command, in
    order, exactly; a "..." line stands for lines left out."""
    readme = tour.commands(ROOT / "README.md")
    steps = tour.commands(TOUR)
    assert len(readme) >= 4, readme
    for cmd, out in readme:
        runs = [o.splitlines() for c, o in steps if c == cmd]
        assert runs, f"README runs `{cmd}`, which the tour does not"
        want = [ln for ln in out.splitlines() if ln != "..."]

        def excerpt_of(full):
            it = iter(full)
            return all(any(ln == f for f in it) for ln in want)
        assert any(excerpt_of(r) for r in runs), \
            f"README's output of `{cmd}` is not an excerpt of the tour's"
