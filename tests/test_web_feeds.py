"""The change feeds over real HTTP, on real record histories."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import email.utils
import xml.etree.ElementTree as ET
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest

from server.conditions import slugify
from server.renditions import Renditions
from server.store import store_of
from server.sync import sync_with_config
from server.web.feeds import FEED_DOCUMENTS

from .conftest import BACKENDS, SYNC_SETTINGS, LiveServer, fresh_database, make_app
from .fake_registry import STATUS_CHANGES, FakeRegistry, nct_id, snapshot_a, snapshot_b

SIZE = 5


@dataclasses.dataclass
class Site:
    app: object
    client: httpx.Client
    registry: object  # the fake registry
    events: list  # oldest first

    def sync(self):
        return sync_with_config(store_of(self.app), self.app.config)

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


# Paging through the registry is tested elsewhere: one page, one batch.
SETTINGS = {**SYNC_SETTINGS, "registry_page_size": 1000, "load_batch_size": 200, "feed_size": SIZE}


@contextlib.contextmanager
def synced_site(folder, database_url):
    """A first sync of snapshot A (the baseline), then one of snapshot B: real changes, served over HTTP."""
    with FakeRegistry(*snapshot_a()) as registry:
        app = make_app(folder, database_url, registry_url=registry.url, **SETTINGS)
        store = store_of(app)
        sync_with_config(store, app.config)
        assert store.events() == []
        registry.snapshot(*snapshot_b())
        sync_with_config(store, app.config)
        events = list(reversed(store.events(limit=10_000)))
        with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
            app.config["BASE_URL"] = server.url
            yield Site(app, client, registry, events)
        store.engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    """One synced site shared by the tests that only read."""
    folder = tmp_path_factory.mktemp("feeds")
    with fresh_database(request.param, folder) as url, synced_site(folder, url) as shared:
        yield shared


@pytest.fixture
def own_site(tmp_path, database_url):
    """A synced site of its own, for a test that changes the store."""
    with synced_site(tmp_path, database_url) as own:
        yield own


def current_records():
    return {nct_id(r): r for r in snapshot_b()[0]}


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
    for nct, record in current_records().items():
        for slug in record_slugs(record):
            by_slug[slug].add(nct)
    status_events = [e for e in site.events if e.kind == "status"]
    assert {(e.nct_id, e.old, e.new) for e in status_events} == STATUS_CHANGES
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


def test_conditional_requests_answer_304_until_something_changes(own_site):
    site = own_site
    first, feed = site.feed("/changes.atom")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert email.utils.parsedate_to_datetime(modified).tzinfo is not None
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = site.client.get("/changes.atom", headers=headers)
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
    assert site.client.get("/changes.atom", headers={"If-None-Match": '"other"'}).status_code == 200
    # The registry posts a status change: the feed gains it on top; what was posted keeps its id and date.
    records = snapshot_b()[0]
    changed = copy.deepcopy(next(r for r in records if nct_id(r) == "NCT06821503"))
    status = changed["protocolSection"]["statusModule"]
    status["overallStatus"] = "COMPLETED"
    status["lastUpdatePostDateStruct"]["date"] = "2026-03-14"
    site.registry.snapshot([changed if nct_id(r) == "NCT06821503" else r for r in records], "2026-03-15T09:00:00")
    assert site.sync().events == {"status": 1}
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
    expected = {f"/conditions/{slug}.atom" for record in current_records().values() for slug in record_slugs(record)}
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


class FeedLinks(HTMLParser):
    """The feeds a page announces: <link rel=alternate> of a feed type."""

    def __init__(self, text):
        super().__init__()
        self.found = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "alternate" and a.get("type") in ("application/atom+xml", "application/rss+xml"):
            self.found.append((a["type"], a["href"]))


def test_pages_announce_feeds_that_answer(site):
    pages = {
        "/": {"/changes.atom", "/changes.rss"},
        "/changes?kind=status": {"/changes.atom?kind=status", "/changes.rss?kind=status"},
        # A trial page: the feeds of its own MeSH terms, not of their ancestors.
        "/trials/NCT04736173": {f"/conditions/{slug}.{fmt}" for slug in ("carcinoma-non-small-cell-lung", "lung-neoplasms") for fmt in ("atom", "rss")},
        "/conditions/lung-neoplasms": {"/conditions/lung-neoplasms.atom", "/conditions/lung-neoplasms.rss"},
    }
    for page, expected in pages.items():
        answer = site.client.get(page)
        assert answer.status_code == 200, page
        links = FeedLinks(answer.text).found
        assert {site.local(href) for _, href in links} == expected, page
        for mime, href in links:
            feed, _ = site.feed(site.local(href))
            assert feed.headers["content-type"].startswith(mime)
    changes = site.client.get("/changes?kind=status").text
    assert "Now recruiting:" in changes
    # An event's RDF IRI is <base>/changes#<event_id>: the changes page carries that anchor.
    assert f'id="{site.events[-1].event_id}"' in site.client.get("/changes").text


def test_a_repeat_sync_posts_nothing_again(own_site):
    site = own_site
    before = site.entries("/changes.atom")
    assert sum(site.sync().events.values()) == 0
    assert site.entries("/changes.atom") == before


def test_a_document_written_from_kept_entries_is_the_one_written_afresh(site):
    site.feed("/changes.atom")  # writes the entries and keeps them
    kept_answer, kept = site.feed("/changes.rss")
    documents = site.app.extensions[FEED_DOCUMENTS]
    site.app.extensions[FEED_DOCUMENTS] = Renditions(0)  # keeps nothing
    try:
        fresh_answer, fresh = site.feed("/changes.rss")
    finally:
        site.app.extensions[FEED_DOCUMENTS] = documents
    assert len(kept.entries) == SIZE
    assert [(e.id, e.title, e.summary) for e in kept.entries] == [(e.id, e.title, e.summary) for e in fresh.entries]
    assert kept_answer.content == fresh_answer.content
