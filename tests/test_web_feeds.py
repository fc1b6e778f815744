"""The change feeds over real HTTP, on real record histories."""

from __future__ import annotations

import dataclasses
import email.utils
import xml.etree.ElementTree as ET
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest

from server.conditions import slugify
from server.dates import utcnow
from server.store import store_of

from .conftest import LiveServer, make_app
from .history import derive, history, load_history
from .test_store import incoming

SIZE = 5


@dataclasses.dataclass
class Site:
    app: object
    client: httpx.Client
    events: list  # oldest first

    def feed(self, path, **headers):
        answer = self.client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        parsed = feedparser.parse(answer.content)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        return answer, parsed

    def entries(self, path):
        """Every entry of a feed and its archives, following prev-archive; no archive repeats one."""
        _, current = self.feed(path)
        ids = [e.id for e in current.entries]
        archived: list[str] = []
        link = _link(current, "prev-archive")
        while link:
            answer, archive = self.feed(self.local(link))
            assert answer.headers["cache-control"] == "public, max-age=86400"
            assert _link(archive, "current") == _link(current, "self")
            archived += [e.id for e in archive.entries]
            link = _link(archive, "prev-archive")
        assert len(archived) == len(set(archived)), f"{path}: an archive repeats an entry"
        return ids + [i for i in archived if i not in ids]

    def local(self, url):
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def _link(parsed, rel):
    return next((link.href for link in parsed.feed.get("links", []) if link.rel == rel), None)


@pytest.fixture
def site(tmp_path, database_url):
    app = make_app(tmp_path, database_url, feed_size=SIZE)
    events = load_history(store_of(app))
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
        app.config["BASE_URL"] = server.url
        yield Site(app, client, events)
    store_of(app).engine.dispose()


def record_slugs(record) -> set[str]:
    """A record's condition slugs, read straight from its JSON: MeSH terms and ancestors, else its conditions."""
    browse = record.get("derivedSection", {}).get("conditionBrowseModule", {})
    mesh = [m["term"] for m in browse.get("meshes", [])]
    if mesh:
        terms = mesh + [a["term"] for a in browse.get("ancestors", [])]
    else:
        terms = record["protocolSection"].get("conditionsModule", {}).get("conditions", [])
    return {slugify(term) for term in terms} - {""}


def tag_of(site, event):
    return f"tag:127.0.0.1,2026:event:{event.event_id}"


def test_each_event_is_in_its_conditions_feeds_and_nowhere_else(site):
    by_slug = defaultdict(set)
    for nct_id, versions in history().items():
        for slug in record_slugs(versions[-1]):
            by_slug[slug].add(nct_id)
    status_events = [e for e in site.events if e.kind == "status"]
    assert len(status_events) == 7
    for slug, trials in sorted(by_slug.items()):
        expected = {tag_of(site, e) for e in status_events if e.nct_id in trials}
        assert set(site.entries(f"/conditions/{slug}.atom?kind=status")) == expected, slug
    # An ancestor gathers the events of every trial below it.
    assert len(by_slug["neoplasms"]) > 1
    assert set(site.entries("/conditions/neoplasms.rss")) == {
        tag_of(site, e) for e in site.events if e.nct_id in by_slug["neoplasms"]
    }


def test_every_change_is_in_the_changes_feed_once_with_the_same_id_in_both_formats(site):
    atom = site.entries("/changes.atom")
    rss = site.entries("/changes.rss")
    assert atom == rss == [tag_of(site, e) for e in reversed(site.events)]
    again = site.entries("/changes.atom")
    assert again == atom


def test_subscription_document_holds_the_newest_entries_newest_first(site):
    answer, feed = site.feed("/changes.atom")
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert [e.id for e in feed.entries] == [tag_of(site, e) for e in reversed(site.events[-SIZE:])]
    published = [e.published for e in feed.entries]
    assert published == sorted(published, reverse=True)
    answer, _ = site.feed("/changes.rss")
    assert answer.headers["content-type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(answer.content)
    rels = {link.get("rel") for link in root.iter("{http://www.w3.org/2005/Atom}link")}
    assert {"self", "prev-archive"} <= rels


def test_conditional_requests_answer_304_until_something_changes(site):
    first, feed = site.feed("/changes.atom")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert email.utils.parsedate_to_datetime(modified).tzinfo is not None
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = site.client.get("/changes.atom", headers=headers)
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
    assert site.client.get("/changes.atom", headers={"If-None-Match": '"other"'}).status_code == 200
    # A new status change: the feed gains it on top; what was posted keeps its id and date.
    record = dict(history()["NCT06821503"][-1])
    protocol = dict(record["protocolSection"])
    protocol["statusModule"] = {**protocol["statusModule"], "overallStatus": "COMPLETED"}
    store_of(site.app).store_batch([incoming({**record, "protocolSection": protocol})], derive_events=derive)
    changed = site.client.get("/changes.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    new = feedparser.parse(changed.content)
    assert new.entries[0].title.startswith("Completed: ") and new.entries[0].title.endswith("— was recruiting")
    old = {e.id: e.published for e in feed.entries}
    assert all(old[e.id] == e.published for e in new.entries if e.id in old)
    assert len({e.id for e in new.entries}) == len(new.entries)


def test_archives_are_closed_windows_that_do_not_change(site):
    _, feed = site.feed("/changes.atom")
    link = site.local(_link(feed, "prev-archive"))
    first = site.client.get(link)
    assert site.client.get(link).content == first.content
    assert site.client.get(link, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert site.client.get(link, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    assert b"<fh:archive" in first.content
    last = len(site.events)
    open_window = f"{last // SIZE * SIZE + 1}-{last // SIZE * SIZE + SIZE}"
    for bad, status in ((f"/changes.atom?archive={open_window}", 404), ("/changes.atom?archive=2-6", 404),
                        ("/changes.atom?archive=1-7", 404), ("/changes.atom?archive=x", 400),
                        ("/changes.atom?archive=9-1", 400)):
        assert site.client.get(bad).status_code == status, bad


def test_filters_choose_events_and_stay_in_the_self_link(site):
    store = store_of(site.app)
    _, feed = site.feed("/changes.atom?status=recruiting&kind=updated,status")
    self_link = _link(feed, "self")
    assert urlsplit(self_link).query == "kind=status,updated&status=RECRUITING"
    assert parse_qs(urlsplit(_link(feed, "prev-archive") or "?archive=1-5").query)["status"] == ["RECRUITING"]
    ids = set(site.entries("/changes.atom?status=RECRUITING&kind=updated,status"))
    expected = {tag_of(site, e) for e in site.events
                if e.kind in ("status", "updated") and store.current(e.nct_id).record["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"}
    assert ids == expected and ids
    status_only = set(site.entries("/changes.rss?kind=status"))
    assert status_only == {tag_of(site, e) for e in site.events if e.kind == "status"}

    def countries(nct_id):
        locations = store.current(nct_id).record["protocolSection"].get("contactsLocationsModule", {}).get("locations", [])
        return {loc.get("country") for loc in locations}

    in_spain = set(site.entries("/changes.atom?country=spain&country=Korea,%20Republic%20of"))
    assert in_spain == {tag_of(site, e) for e in site.events if countries(e.nct_id) & {"Spain", "Korea, Republic of"}}
    assert in_spain
    phase1 = set(site.entries("/changes.atom?phase=PHASE1"))
    assert phase1 == {tag_of(site, e) for e in site.events
                      if "PHASE1" in store.current(e.nct_id).record["protocolSection"]["designModule"].get("phases", [])}
    assert phase1


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("kind=bogus", "kind must be one of"),
        ("status=RUNNING", "status must be one of"),
        ("phase=PHASE9", "phase must be one of"),
        ("country=%3Cscript%3E", "country must be"),
        ("near=100,0", "near must be"),
        ("near=abc", "near must be"),
    ],
)
def test_invalid_filters_are_400_naming_the_parameter(site, query, says):
    answer = site.client.get(f"/changes.atom?{query}")
    assert answer.status_code == 400 and says in answer.text
    assert "<script>" not in answer.text


def test_unknown_conditions_are_404(site):
    assert site.client.get("/conditions/no-such-condition.atom").status_code == 404
    assert site.client.get("/conditions/Not_A_Slug.rss").status_code == 404
    assert site.client.get("/conditions/neoplasms.json").status_code == 404
    assert site.client.head("/conditions/neoplasms.atom").status_code == 200


def test_opml_lists_every_condition_feed(site):
    answer = site.client.get("/conditions.opml")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/x-opml")
    outlines = ET.fromstring(answer.content).find("body").findall("outline")
    listed = {site.local(o.get("xmlUrl")) for o in outlines}
    expected = {f"/conditions/{slug}.atom" for versions in history().values() for slug in record_slugs(versions[-1])}
    assert listed == expected
    for url in sorted(listed)[:: max(1, len(listed) // 10)]:
        site.feed(url)
    found = ET.fromstring(site.client.get("/conditions.opml?q=NEOPLASM").content).find("body").findall("outline")
    assert found and all("neoplasm" in o.get("text").lower() for o in found)
    assert len(found) < len(outlines)
    assert ET.fromstring(site.client.get("/conditions.opml?q=zzzz").content).find("body").findall("outline") == []
    assert site.client.get("/conditions.opml", headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    assert site.client.get("/conditions.opml?q=x", headers={"If-None-Match": answer.headers["etag"]}).status_code == 200
    assert site.client.get(f"/conditions.opml?q={'x' * 201}").status_code == 400


def test_pages_announce_their_feeds(site):
    home = site.client.get("/").text
    assert 'rel="alternate" type="application/atom+xml"' in home and 'href="/changes.atom"' in home
    trial = site.client.get("/trials/NCT04736173").text
    hrefs = [line.split('href="')[1].split('"')[0] for line in trial.splitlines() if 'rel="alternate"' in line]
    # The trial's own MeSH terms, not their ancestors.
    assert sorted(hrefs) == sorted(
        f"/conditions/{slug}.{fmt}" for slug in ("carcinoma-non-small-cell-lung", "lung-neoplasms") for fmt in ("atom", "rss")
    )
    for href in hrefs:
        site.feed(href)
    changes = site.client.get("/changes?kind=status")
    assert changes.status_code == 200 and "Now recruiting:" in changes.text
    assert 'href="/changes.atom?kind=status"' in changes.text


def test_a_rerun_posts_nothing_again(site):
    before = site.entries("/changes.atom")
    load_history(store_of(site.app))
    assert site.entries("/changes.atom") == before
    assert utcnow() > site.events[-1].detected_at
