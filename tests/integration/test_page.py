"""The page of the HTTP listener (resolver/page.c, resolver/www/): what each
cache tier holds for a name, a resolution through the tiers, the walk drawn
as SVG, and their JSON (/api/lookup, /api/trace). First over plain HTTP
(the HTML works without a script), then in Debian's headless Chromium
(tests/integration/webdriver.py): a name typed and resolved, its TTL read
twice from the DOM and seen to fall, the walk of a three-level name with a
node per server asked. Screenshots: build/page-home.png and
build/page-trace.png."""
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import webdriver
from conftest import HINTS, ROOT, free_port, lab_addr

pytestmark = pytest.mark.usefixtures("lab")
SHOTS = ROOT / "build"   # the screenshots, whatever the build dir


def tiers_with_page(daemon, browser_ttl=60):
    """resolverd as make demo runs it: four tiers and the page."""
    d = daemon(hints=HINTS, start=False)
    d.http = free_port()
    ports = [d.port] + [free_port() for _ in range(3)]
    conf = f"http:\n  listen: [127.0.0.1@{d.http}]\ntiers:\n"
    for name, port in zip(("browser", "os", "router", "isp"), ports):
        conf += f"  - name: {name}\n    profile: {name}\n    listen: [127.0.0.1@{port}]\n"
        if name == "browser":
            conf += f"    cache: {{max_ttl: {browser_ttl}}}\n"
    d.conf.write_text(d.conf.read_text() + conf)
    d.start()
    d.ports = ports
    return d


def get(port, path, timeout=40):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def api(port, what, **params):
    status, body, _ = get(port, f"/api/{what}?" + urllib.parse.urlencode(params))
    return status, json.loads(body)


def test_page_without_a_script(daemon):
    d = tiers_with_page(daemon)
    # nothing asked yet: every tier misses, and says where it would ask
    status, html, hdr = get(d.http, "/?name=www.example.com")
    assert status == 200 and hdr["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in hdr["Content-Security-Policy"]
    tiers = re.findall(r'<section class="tier (hit|miss)" data-tier="(\w+)"', html)
    assert tiers == [("miss", "browser"), ("miss", "os"), ("miss", "router"),
                     ("miss", "isp")], html
    assert f"on a miss it asks <b>127.0.0.1@{d.ports[1]}</b> (the next tier)" in html
    assert "on a miss it walks from zone <b>.</b> (the root" in html

    # resolve it: asked at the browser tier, walked by the isp, handed up
    status, html, _ = get(d.http, "/?name=www.example.com&type=A&resolve=1")
    assert status == 200, html
    assert re.search(r"answer: <b>NOERROR</b>, 1 answer record, \d+ ms; no tier had "
                     r"it: isp walked from the root", html), html
    tiers = re.findall(r'<section class="tier (hit|miss)" data-tier="(\w+)"', html)
    assert [t[0] for t in tiers] == ["hit"] * 4, html
    browser = html.split('data-tier="browser"')[1].split("</section>")[0]
    ttl = int(re.search(r'class="ttl lead" data-ttl="(\d+)"', browser).group(1))
    assert 55 <= ttl <= 60, browser                     # its 60 s cap
    assert lab_addr("200.1") in browser
    isp = html.split('data-tier="isp"')[1].split("</section>")[0]
    assert "walks from zone <b>example.com.</b> (its NS set is cached)" in isp, isp

    # the JSON: the control commands' own objects
    status, j = api(d.http, "lookup", name="www.example.com")
    assert status == 200 and j["error"] is None
    entries = [o for o in j["lines"] if "owner" in o]
    assert {o["tier"] for o in entries} == {"browser", "os", "router", "isp"}
    assert all(o["rdata"] == [lab_addr("200.1")] for o in entries), entries
    cuts = [o for o in j["lines"] if "cut" in o]
    assert [c["tier"] for c in cuts] == ["browser", "os", "router", "isp"]
    assert cuts[0]["source"] == "forward" and cuts[3]["source"] == "cache"
    status, j = api(d.http, "trace", name="www.leaf.sub.deep.test", cold="1")
    assert status == 200 and j["error"] is None, j
    sends = [o for o in j["lines"] if o.get("kind") == "send"]
    assert len({o["server"] for o in sends}) >= 5, sends
    assert j["lines"][-1]["summary"] and j["lines"][-1]["rcode"] == 0

    # what the page refuses, and what it does not know
    for bad in ("www example.com", "<script>", "a..b", "x" * 300):
        status, html, _ = get(d.http, "/?" + urllib.parse.urlencode({"name": bad}))
        assert status == 400 and "not a name" in html, bad
        assert "<script>" not in html.split("</form>")[0].split("value=")[1][:40]
    status, j = api(d.http, "trace", name="www.example.com", type="NOPE")
    assert status == 400 and "unknown type" in j["error"], j
    status, j = api(d.http, "lookup")
    assert status == 400 and j["error"].startswith("usage: /api/lookup?name=")
    assert get(d.http, "/trace?name=www.example.com")[0] == 200
    for path, ctype in (("/static/app.js", "text/javascript"), ("/static/style.css", "text/css")):
        status, body, hdr = get(d.http, path)
        assert status == 200 and hdr["Content-Type"].startswith(ctype) and len(body) > 1000
    assert d.stop() == 0


def test_slow_resolution_holds_up_nothing(daemon):
    """The page's requests wait for the main loop on their own connection's
    thread: /metrics and DNS answer meanwhile."""
    d = tiers_with_page(daemon)
    out = {}

    def slow():   # ns1.slow.test answers 1.5 s late (when it is asked)
        out["r"] = api(d.http, "trace", name="www.slow.test", cold="1")

    done = 0
    for _ in range(4):
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        assert get(d.http, "/metrics")[0] == 200
        assert time.monotonic() - t0 < 1.0
        t.join(40)
        assert out["r"][0] == 200, out
        done += 1
    assert done == 4
    assert d.stop() == 0


@pytest.mark.skipif(not webdriver.available(), reason="no chromium or chromedriver")
def test_page_in_chromium(daemon, tmp_path):
    d = tiers_with_page(daemon)
    base = f"http://127.0.0.1:{d.http}"
    SHOTS.mkdir(exist_ok=True)
    b = webdriver.Browser(tmp_path)
    try:
        # type a name of the lab, resolve it
        b.get(base + "/")
        box = b.find("#name")
        b.clear(box)
        b.type(box, "www.example.org")
        b.click(b.find("#resolve"))
        b.wait_for("#tiers section.tier.hit", 40)
        assert "name=www.example.org" in b.url() and "resolve=1" in b.url()
        lead = '#tiers section[data-tier="browser"] .ttl.lead'
        first = int(b.text(b.wait_for(lead)[0]))
        assert 50 <= first <= 60, first
        time.sleep(2.5)
        second = int(b.text(b.find(lead)))
        assert second < first, (first, second)       # it counts down
        rows = b.find_all('#tiers section[data-tier="isp"] tr[data-key]')
        assert rows and lab_addr("200.2") in b.text(rows[0])
        time.sleep(5.5)                              # a refresh from /api/lookup
        third = int(b.text(b.find(lead)))
        assert third <= second - 4, (second, third)
        assert not b.find_all("#changed")
        b.screenshot(SHOTS / "page-home.png")

        # the walk of a three-level name: a node per server asked
        b.get(base + "/trace?name=www.leaf.sub.deep.test")
        b.wait_for("#walkview[data-drawn='1']", 40)
        trace = b.script("return window.resolverdTrace;")
        lines = trace["lines"]
        start = [i for i, o in enumerate(lines) if o.get("phase") == "root"]
        steps = lines[start[0]:] if start else lines
        end = [i for i, o in enumerate(steps) if o.get("summary")][0]
        asked = {re.match(r"to (\S+)", o["detail"]).group(1) + "|" + o["server"]
                 for o in steps[:end] if o.get("kind") == "send"}
        drawn = {b.attr(e, "data-server") for e in b.find_all("#walksvg g.server")}
        assert drawn == asked, (drawn, asked)
        assert len(asked) >= 5, asked
        for ns, addr in (("ns1.nic.test.", "3.1"), ("ns1.deep.test.", "13.1"),
                         ("ns1.sub.deep.test.", "13.2"), ("ns1.leaf.sub.deep.test.", "13.3")):
            assert f"{ns}|{lab_addr(addr)}" in drawn, drawn
        zones = [b.attr(e, "data-zone") for e in b.find_all("#walksvg g.zone")]
        assert zones[:5] == [".", "test.", "deep.test.", "sub.deep.test.",
                             "leaf.sub.deep.test."], zones
        assert b.find_all("#walksvg g.result.answer")
        # test. is signed, deep.test. is not: the chain of trust says so
        assert b.find_all("#walksvg g.dnssec.secure")
        assert b.find_all("#walksvg g.dnssec.insecure")
        assert [b.attr(e, "data-tier") for e in b.find_all("#walksvg g.tier")] == \
            ["browser", "os", "router", "isp"]
        b.screenshot(SHOTS / "page-trace.png")
    finally:
        b.close()
    for shot in ("page-home.png", "page-trace.png"):
        png = (SHOTS / shot).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, shot
    assert d.stop() == 0
