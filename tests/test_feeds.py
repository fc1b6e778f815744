"""Feed documents built from real records, read back with feedparser and an XML parser."""

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import feedparser
import pytest

from server.events import Event
from server.feedentry import EntryContext
from server.feeds import ATOM_NS, HISTORY_NS, FeedDocument, Item, entry_id, render, write_entry
from server.trials import parse_trial

from .fake_registry import read, version_files

BASE = "https://trials.example"
AUTHORITY = "trials.example,2026"
HOSTILE = '</title><script>alert(1)</script> & "quotes"'
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RFC822 = re.compile(r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$")


def trial(nct_id, version=-1):
    return parse_trial(read(version_files(nct_id)[version]))


def status_event(nct_id, old, new, n):
    return Event(
        event_id=f"{n:032x}", nct_id=nct_id, kind="status", old=old, new=new, detail={}, version_id=n,
        registry_last_update="2026-03-10", detected_at=dt.datetime(2026, 3, 11, 6, n, tzinfo=dt.UTC), id=n,
    )


def items():
    return [
        Item(status_event("NCT07227597", "NOT_YET_RECRUITING", "RECRUITING", 3), trial("NCT07227597")),
        Item(status_event("NCT06754501", "RECRUITING", "ACTIVE_NOT_RECRUITING", 2), trial("NCT06754501")),
        Item(status_event("NCT07011550", "RECRUITING", "SUSPENDED", 1), trial("NCT07011550")),
    ]


def doc(**changes):
    base = FeedDocument(
        feed_id=f"tag:{AUTHORITY}:feed:/changes", title="Changes", description="Every change",
        self_url=f"{BASE}/changes.atom", html_url=f"{BASE}/changes", updated=dt.datetime(2026, 3, 11, 6, 3, tzinfo=dt.UTC),
        hubs=("https://hub.example/",), prev_archive=f"{BASE}/changes.atom?archive=1-50",
    )
    return dataclasses.replace(base, **changes)


def build(fmt, document=None, entries=None, ctx=None):
    ctx = ctx or EntryContext(BASE)
    written = [write_entry(i, ctx, AUTHORITY) for i in (items() if entries is None else entries)]
    body = render(fmt, document or doc(), written, ctx)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return body, parsed


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_feed_parses_with_ids_links_dates_and_categories(fmt):
    body, feed = build(fmt)
    assert [e.id for e in feed.entries] == [entry_id(AUTHORITY, i.event) for i in items()]
    assert len({e.id for e in feed.entries}) == 3
    first = feed.entries[0]
    assert first.title == f"Now recruiting: {trial('NCT07227597').brief_title} (NCT07227597) — was not yet recruiting"
    assert first.link == f"{BASE}/trials/NCT07227597"
    assert {t.term for t in first.tags} >= (
        {"status", "RECRUITING"} if fmt == "atom" else {"Status change", "Recruiting"}
    )
    links = {(link.rel, link.href) for link in feed.feed.links}
    assert ("hub", "https://hub.example/") in links
    assert ("prev-archive", f"{BASE}/changes.atom?archive=1-50") in links
    assert ("self", f"{BASE}/changes.atom") in links
    root = ET.fromstring(body)
    if fmt == "atom":
        entry = root.find(f"{{{ATOM_NS}}}entry")
        assert RFC3339.match(entry.findtext(f"{{{ATOM_NS}}}published"))
        assert entry.findtext(f"{{{ATOM_NS}}}published").startswith("2026-03-11T06:03:00")
        assert entry.findtext(f"{{{ATOM_NS}}}updated") == "2026-03-10T00:00:00+00:00"
        assert RFC3339.match(root.findtext(f"{{{ATOM_NS}}}updated"))
    else:
        channel = root.find("channel")
        assert all(RFC822.match(d.text) for d in root.iter("pubDate"))
        assert RFC822.match(channel.findtext("lastBuildDate"))
        assert channel.find(f"{{{HISTORY_NS}}}archive") is None


def test_both_formats_give_each_event_the_same_id():
    _, atom = build("atom")
    _, rss = build("rss")
    assert [e.id for e in atom.entries] == [e.id for e in rss.entries]


def test_content_says_the_change_and_the_trial():
    _, feed = build("atom")
    t = trial("NCT07011550")
    html = feed.entries[2].content[0].value
    assert "recruiting → suspended" in html
    assert t.lead_sponsor.name in html
    for condition in t.conditions:
        assert condition in html
    assert t.locations and any(loc.facility in html for loc in t.locations)
    assert "Phase" in html


def test_archive_documents_say_so_and_point_to_the_current_feed():
    archive = doc(self_url=f"{BASE}/changes.rss?archive=51-100", current_url=f"{BASE}/changes.rss",
                  next_archive=f"{BASE}/changes.rss?archive=101-150")
    for fmt in ("atom", "rss"):
        body, feed = build(fmt, archive)
        assert ET.fromstring(body).iter(f"{{{HISTORY_NS}}}archive").__next__() is not None
        rels = {link.rel for link in feed.feed.links}
        assert {"current", "prev-archive", "next-archive", "hub", "self"} <= rels


def test_same_input_gives_the_same_bytes():
    assert build("atom")[0] == build("atom")[0]
    assert build("rss")[0] == build("rss")[0]


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_registry_text_is_escaped(fmt):
    hostile = dataclasses.replace(
        trial("NCT07227597"), brief_title=HOSTILE, conditions=(HOSTILE,), brief_summary=HOSTILE + "\x0b",
    )
    entries = [Item(status_event("NCT07227597", "NOT_YET_RECRUITING", "RECRUITING", 1), hostile)]
    body, feed = build(fmt, doc(title=HOSTILE + "\x01"), entries)
    assert feed.entries[0].title == f"Now recruiting: {HOSTILE} (NCT07227597) — was not yet recruiting"
    assert feed.feed.title == HOSTILE
    raw = ET.fromstring(body)
    content = next(el.text for el in raw.iter() if el.tag in (f"{{{ATOM_NS}}}content", "{http://purl.org/rss/1.0/modules/content/}encoded"))
    parser = Tags()
    parser.feed(content)
    assert "script" not in parser.tags and "title" not in parser.tags
    assert "&lt;script&gt;" in content


def test_nearest_sites_follow_the_readers_point():
    t = trial("NCT05280470")
    paris = next(loc for loc in t.locations if loc.country == "France" and loc.geo)
    entries = [Item(status_event("NCT05280470", "RECRUITING", "COMPLETED", 1), t)]
    _, feed = build("atom", entries=entries, ctx=EntryContext(BASE, near=paris.geo, max_sites=2))
    html = feed.entries[0].content[0].value
    assert f"{paris.facility}, {paris.city}" in html and "0 km away" in html
    listed = {loc.facility for loc in t.locations if f"<li>{loc.facility}," in html}
    assert paris.facility in listed and len(listed) == 2
