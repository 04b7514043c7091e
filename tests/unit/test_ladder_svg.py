"""Ladders drawn as SVG, read back as XML the way the report's browser
test reads them: lifelines in order, one ``g.arrow`` per arrow with its
frames, the missing arrow dashed and counted apart, the packets there
instead highlighted, errata badged, text escaped, ids unique per ladder;
from the synthetic captures, and wrong drawings that the helpers catch."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from orchestrator.ladder import (
    Arrow,
    Ladder,
    Lifeline,
    build,
    draw_failure_text,
    mark_errata,
    render_svg,
)
from orchestrator.ladder.model import BROADCAST, KINDS
from orchestrator.ladder.svg import KIND_COLOURS, LADDER_CSS, short_label, standalone_svg
from orchestrator.model import registry
from orchestrator.packets import merge, synth
from orchestrator.results.verify import ErratumShown

pytestmark = pytest.mark.timeout(60)

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def enterprise():
    return registry.load("enterprise")


def packets_of(scenario, tmp_path, name):
    """The scenario's points merged, each packet labelled with its point."""
    return merge(*synth.load(scenario, tmp_path, name).values())


@pytest.fixture
def dora(tmp_path):
    return packets_of(synth.dora_relay(), tmp_path, "dora")


# ---------------------------------------------------------------- readers

def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def groups(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}g") if name in classes(e)]


def arrows_of(root: ET.Element) -> list[ET.Element]:
    return groups(root, "arrow")


def shaft(arrow: ET.Element) -> ET.Element:
    return next(e for e in arrow if "shaft" in classes(e))


def assert_drawn(ladder: Ladder, svg: str) -> ET.Element:
    """The SVG draws this ladder: its lifelines in order, one g.arrow per
    arrow in order with its frames, kind, style and ends, and the counts."""
    root = parse(svg)
    assert root.tag == f"{NS}svg" and "ladder" in classes(root)
    names = [g.get("data-name") for g in groups(root, "lifeline")]
    assert names == ladder.names, f"lifelines {names} != {ladder.names}"
    drawn = arrows_of(root)
    assert len(drawn) == len(ladder.arrows), \
        f"{len(drawn)} arrows drawn for {len(ladder.arrows)} in the ladder"
    for g, arrow in zip(drawn, ladder.arrows):
        assert g.get("data-frames") == ",".join(map(str, arrow.frames))
        assert (g.get("data-kind"), g.get("data-style")) == (arrow.kind, arrow.style)
        assert (g.get("data-src"), g.get("data-dst")) == (arrow.src, arrow.dst)
        assert {f"kind-{arrow.kind}", f"style-{arrow.style}"} <= classes(g)
        assert g.find(f"{NS}title") is not None and arrow.label in g.find(f"{NS}title").text
    seen = sum(1 for a in ladder.arrows if a.style != "missing")
    assert root.get("data-arrows") == str(seen)
    assert root.get("data-missing") == str(len(ladder.arrows) - seen)
    return root


# ---------------------------------------------------------------- from captures

def test_dora_through_the_relay(dora, enterprise):
    ladder = build(dora, enterprise, title="dhcp-relay")
    root = assert_drawn(ladder, render_svg(ladder))
    assert [g.get("data-name") for g in groups(root, "lifeline")] == \
        ["xiaoming", "gw1 (gw1-eth0)", "gw1 (gw1-eth1)", "srv"]
    frames = [t.text for t in root.iter(f"{NS}text") if "frames" in classes(t)]
    assert frames == [str(n) for n in range(1, 10)]
    discover = arrows_of(root)[0]
    assert "broadcast" in classes(discover)
    assert shaft(discover).get("marker-end").startswith("url(#l0-broadcast-")


def test_web_through_nat_crosses_the_hops_with_dots(tmp_path, enterprise):
    ladder = build(packets_of(synth.web11(), tmp_path, "web"), enterprise)
    root = assert_drawn(ladder, render_svg(ladder))
    syn = arrows_of(root)[0]
    assert syn.get("data-frames") == "1,2"
    assert len([c for c in syn.iter(f"{NS}circle") if "crossed" in classes(c)]) == 3  # gw1 edge isp
    assert "crossed xiaoming \u2192 gw1 \u2192 edge \u2192 isp \u2192 web" in \
        syn.find(f"{NS}title").text


def test_routed_ping(tmp_path, enterprise):
    ladder = build(packets_of(synth.routed_ping(), tmp_path, "ping"), enterprise)
    root = assert_drawn(ladder, render_svg(ladder))
    assert [g.get("data-frames") for g in arrows_of(root)] == ["1", "2", "3,4", "5,6"]
    assert [g.get("data-kind") for g in arrows_of(root)] == ["arp", "arp", "icmp", "icmp"]


def test_a_dropped_arrow_or_a_wrong_frame_is_caught(dora):
    ladder = build(dora)
    svg = render_svg(ladder)
    with pytest.raises(AssertionError, match="8 arrows drawn for 9"):
        assert_drawn(ladder, render_svg(replace(ladder, arrows=ladder.arrows[:-1])))
    with pytest.raises(AssertionError):
        assert_drawn(ladder, svg.replace('data-frames="2"', 'data-frames="3"', 1))
    with pytest.raises(AssertionError, match="lifelines"):
        swapped = replace(ladder, lifelines=ladder.lifelines[::-1])
        assert_drawn(ladder, render_svg(swapped))
    with pytest.raises(AssertionError):
        assert_drawn(ladder, svg.replace('data-arrows="9"', 'data-arrows="8"'))


# ---------------------------------------------------------------- failures and errata

def failed(dora, enterprise):
    message = ("step 2 of 4: expected dhcp(type=OFFER) after DHCP DISCOVER at srv-eth0\n"
               "there were instead:\n   0.000500 srv-eth0 " + dora[1].describe().split(" ", 2)[2])
    return draw_failure_text(build(dora, enterprise), message, dora)


def test_the_missing_arrow_is_dashed_and_counted_apart(dora, enterprise):
    ladder = failed(dora, enterprise)
    root = assert_drawn(ladder, render_svg(ladder))
    assert (root.get("data-arrows"), root.get("data-missing")) == ("9", "1")
    missing = [g for g in arrows_of(root) if "style-missing" in classes(g)]
    assert len(missing) == 1
    assert shaft(missing[0]).get("stroke-dasharray")
    assert [t.text for t in missing[0].iter(f"{NS}text") if "frames" in classes(t)] == ["missing"]
    seen = [g for g in arrows_of(root) if "style-missing" not in classes(g)]
    assert not any(shaft(g).get("stroke-dasharray") for g in seen)
    assert "stroke-dasharray" in LADDER_CSS


def test_the_packets_there_instead_are_highlighted(dora, enterprise):
    ladder = failed(dora, enterprise)
    root = parse(render_svg(ladder))
    instead = [g for g in arrows_of(root) if g.get("data-style") == "instead"]
    assert [g.get("data-frames") for g in instead] == ["2"]
    normal = arrows_of(root)[0]
    assert float(shaft(instead[0]).get("stroke-width")) > float(shaft(normal).get("stroke-width"))
    assert instead[0].get("color") != normal.get("color")
    assert shaft(instead[0]).get("marker-end") != shaft(normal).get("marker-end")


def test_the_erratum_badge_is_on_the_arrow_that_shows_it(dora):
    ladder = mark_errata(build(dora), [ErratumShown("dhcp-ports", "", "", "", frame=1),
                                       ErratumShown("relay-source", "", "", "", frame=2)])
    root = parse(render_svg(ladder))
    badged = {b.get("data-erratum"): g.get("data-frames")
              for g in arrows_of(root) for b in groups(g, "erratum")}
    assert badged == {"dhcp-ports": "1", "relay-source": "2"}
    badge = groups(arrows_of(root)[0], "erratum")[0]
    assert "".join(badge.itertext()) == "! dhcp-ports"
    unmarked = parse(render_svg(build(dora)))
    assert not any(groups(g, "erratum") for g in arrows_of(unmarked))


# ---------------------------------------------------------------- odd ladders

def odd_ladder() -> Ladder:
    names = ("a", "b", "c")
    return Ladder(
        title='odd <ladder> & "quotes"',
        lifelines=tuple(Lifeline(n, (f"{n}-eth0",)) for n in names),
        arrows=(
            Arrow((1,), 1.0, "a", BROADCAST, "ARP who-has 10.0.0.9 tell 10.0.0.1", kind="arp",
                  broadcast=True),
            Arrow((2,), 1.1, "b", "b", "to itself", kind="icmp"),
            Arrow((3,), 1.2, BROADCAST, "c", "from nobody seen", kind="other", broadcast=True),
            Arrow((4,), 1.3, BROADCAST, BROADCAST, "nowhere", kind="dns"),
            Arrow((5,), 1.4, "c", "a", 'x <y> & "z" \'w\' \u2192 \u4f60\u597d', kind="tcp"),
            Arrow((), 1.4, "a", "c", "expected tcp(flags=SA)", kind="tcp", style="missing"),
        ),
        notes=("a note with <markup> & more",))


def test_broadcast_self_and_unknown_ends_still_draw():
    ladder = odd_ladder()
    root = assert_drawn(ladder, render_svg(ladder))
    drawn = arrows_of(root)
    assert all(g.find(f"{NS}text[@class='label']") is not None for g in drawn)
    assert drawn[0].find(f"{NS}line") is not None          # a stub to the right
    assert drawn[1].find(f"{NS}path") is not None          # a loop
    assert drawn[2].find(f"{NS}line") is not None          # a stub coming in
    assert not any("shaft" in classes(e) for e in drawn[3])  # nowhere: the label alone


def test_text_is_escaped_and_control_characters_replaced():
    ladder = odd_ladder()
    arrows = list(ladder.arrows)
    arrows[4] = replace(arrows[4], label=arrows[4].label + " \x01")
    svg = render_svg(replace(ladder, arrows=tuple(arrows)))
    root = parse(svg)                            # well-formed despite <, &, quotes, \x01
    label = arrows_of(root)[4].find(f"{NS}title").text
    assert label.startswith('x <y> & "z" \'w\' \u2192 \u4f60\u597d \ufffd')
    assert any(t.text == 'odd <ladder> & "quotes"' for t in root.iter(f"{NS}text"))
    assert any(t.text == "a note with <markup> & more" for t in root.iter(f"{NS}text"))
    assert "<y>" not in svg
    assert parse(standalone_svg(ladder).split("\n", 1)[1]).find(f"{NS}style") is not None


def test_ids_are_unique_across_ladders_on_one_page(dora):
    ladder = failed(dora, None)
    page = f'<div>{render_svg(ladder, uid="c1")}{render_svg(ladder, uid="c2")}</div>'
    root = ET.fromstring(page)
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert ids and len(ids) == len(set(ids))
    references = {e.get("marker-end")[5:-1] for e in root.iter() if e.get("marker-end")}
    assert references <= set(ids)
    for svg in root:
        own = {e.get("id") for e in svg.iter() if e.get("id")}
        uid = own.pop().split("-")[0]
        assert all(e.get("marker-end").startswith(f"url(#{uid}-")
                   for e in svg.iter() if e.get("marker-end"))
    with pytest.raises(AssertionError):              # the same uid twice: caught
        twice = ET.fromstring(f"<div>{render_svg(ladder)}{render_svg(ladder)}</div>")
        ids = [e.get("id") for e in twice.iter() if e.get("id")]
        assert len(ids) == len(set(ids))
    with pytest.raises(ValueError):
        render_svg(ladder, uid='x" onload="y')


def test_no_external_reference_of_any_kind(dora, enterprise):
    svg = standalone_svg(mark_errata(failed(dora, enterprise),
                                         [ErratumShown("dhcp-ports", "", "", "", frame=1)]))
    for forbidden in ("href", "http:", "https:", "@import", "url(http", "<image", "@font-face"):
        assert forbidden not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert {u for u in re.findall(r"url\(([^)]*)\)", svg)} <= \
        {f"#l0-{shape}-{paint}" for shape in ("head", "broadcast")
         for paint in (*KINDS, "instead", "missing")}


def test_the_same_ladder_draws_the_same_svg(dora):
    ladder = build(dora)
    assert render_svg(ladder) == render_svg(ladder)
    assert set(KIND_COLOURS) == set(KINDS)


# ---------------------------------------------------------------- compact

def test_compact_keeps_every_arrow_with_short_labels(dora, enterprise):
    ladder = failed(dora, enterprise)
    full, compact = parse(render_svg(ladder)), parse(render_svg(ladder, compact=True))
    assert_drawn(ladder, render_svg(ladder, compact=True))
    assert "compact" in classes(compact)
    assert float(compact.get("width")) < float(full.get("width"))
    labels = [g.find(f"{NS}text[@class='label']").text for g in arrows_of(compact)]
    assert labels[:4] == ["DISCOVER", "DISCOVER", "OFFER 10.1.1.2", "OFFER 10.1.1.2"]
    assert labels[-1] == "expected OFFER"
    assert [a.get("data-frames") for a in arrows_of(compact)] == \
        [a.get("data-frames") for a in arrows_of(full)]


@pytest.mark.parametrize("label, kind, short", [
    ("SYN,ACK seq 0 ack 1 len 0 1.2.3.4:80 \u2192 5.6.7.8:40000", "tcp", "SYN,ACK"),
    ("PSH,ACK seq 1 ack 1 len 73 a:1 \u2192 b:2", "tcp", "PSH,ACK len 73"),
    ("DNS id 1234 A? www.baidu.com. 10.1.1.2:5353 \u2192 10.10.10.10:53", "dns",
     "A? www.baidu.com."),
    ("DNS id 1234 www.baidu.com. A 61.135.169.125 x:53 \u2192 y:5353", "dns",
     "A 61.135.169.125"),
    ("ARP who-has 10.1.1.1 tell 10.1.1.2", "arp", "who-has 10.1.1.1"),
    ("ARP 10.1.1.1 is-at 02:00:0a:01:01:01", "arp", "is-at 10.1.1.1"),
    ("ICMP echo request, id 9, seq 1 10.1.1.2 \u2192 10.1.2.2", "icmp", "echo request"),
    ("DHCP NAK xid 0x1 a \u2192 b", "dhcp", "NAK"),
])
def test_short_labels(label, kind, short):
    assert short_label(Arrow((1,), 0.0, "a", "b", label, kind=kind)) == short


def test_a_long_label_is_cut_at_its_arrow_and_given_whole_below(dora, enterprise):
    ladder = build(dora, enterprise)
    root = parse(render_svg(ladder))
    discover = arrows_of(root)[0]
    shown = discover.find(f"{NS}text[@class='label']").text
    assert shown.endswith("\u2026") and ladder.arrows[0].label.startswith(shown[:-1])
    assert discover.find(f"{NS}text[@class='label-full']").text == ladder.arrows[0].label
    arp = arrows_of(root)[-1]                                  # short enough: not cut
    assert arp.find(f"{NS}text[@class='label']").text == ladder.arrows[-1].label
    assert arp.find(f"{NS}text[@class='label-full']") is None
    compact = parse(render_svg(ladder, compact=True))
    assert not any(g.find(f"{NS}text[@class='label-full']") is not None
                   for g in arrows_of(compact))
