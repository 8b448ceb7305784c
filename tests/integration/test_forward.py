"""forward_zones: a zone sent to listed servers with RD set, answers cached
under the same rules; a dead forwarder falls back to iterating or fails,
as configured."""
import pytest

from conftest import BLACKHOLE, HINTS, NET, lab_addr

pytestmark = pytest.mark.usefixtures("lab")


def fwd(zone, servers, fallback):
    lines = "".join(f"      - {s}\n" for s in servers)
    return (f"forward_zones:\n  - zone: {zone}\n    servers:\n{lines}"
            f"    fallback: {fallback}\n")


def test_zone_forwarded_to_a_lab_server(daemon, lab):
    # example.com goes straight to its authoritative server: no root, no com
    d = daemon(hints=HINTS, config_extra=fwd("example.com", [f"{NET}.10.2@53"],
                                             "fail"))
    a = d.dig("www.example.com", "A")
    assert a.status == "NOERROR", a
    assert a.rdatas("A") == [lab_addr("200.1")]
    assert d.dig("nope.example.com", "A").status == "NXDOMAIN"
    # names outside the zone are iterated as usual
    assert d.dig("www.example.org", "A").rdatas("A") == [lab_addr("200.2")]
    # cached: the second answer has a lower or equal TTL and still works
    b = d.dig("www.example.com", "A")
    assert int(b.rrs()[0][1]) <= int(a.rrs()[0][1])


def test_dead_forwarder_falls_back_to_iterating(daemon, lab):
    d = daemon(hints=HINTS, config_extra=fwd(".", [f"{BLACKHOLE}@53"],
                                             "iterate"))
    a = d.dig("www.example.net", "A")
    assert a.status == "NOERROR", a
    assert a.rdatas("A") == [lab_addr("200.10")]


def test_dead_forwarder_fails_when_told_to(daemon, lab):
    d = daemon(hints=HINTS, config_extra=fwd(".", [f"{BLACKHOLE}@53"], "fail"))
    a = d.dig("www.example.net", "A")
    assert a.status == "SERVFAIL", a
    assert any("no reachable forwarder" in e for e in a.ede), a
