"""Search, condition pages and sitemaps, over the real fixture records."""

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

import pytest

from server import listings
from server.eventlog import insert_events
from server.events import Event, event_id
from server.load import load_paths
from server.store import store_of

from .conftest import STUDIES, make_app
from .test_store import incoming, record

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def client(app):
    return app.test_client()


def ids_in(page: str) -> list[str]:
    return re.findall(r'href="/trials/(NCT\d{8})"', page)


def load(store, *nct_ids):
    store.store_batch([incoming(record(n)) for n in nct_ids])


def test_an_nct_id_jumps_to_the_trial(client):
    for query in ("NCT04514484", " nct04514484 "):
        response = client.get("/", query_string={"q": query})
        assert response.status_code == 302 and response.headers["location"].endswith("/trials/NCT04514484")


def test_words_search_titles_and_conditions(store, client):
    load(store, "NCT04514484", "NCT00001908", "NCT00001909", "NCT03862547")
    # In the title of one trial only.
    assert ids_in(client.get("/?q=cabozantinib").get_data(as_text=True)) == ["NCT04514484"]
    # "asthma" is a condition (and a title word) of two trials; every word must match.
    assert sorted(ids_in(client.get("/?q=ASTHMA").get_data(as_text=True))) == ["NCT00001908", "NCT00001909"]
    assert ids_in(client.get("/?q=asthma+cabozantinib").get_data(as_text=True)) == []
    # A condition label that is not in the title: the MeSH term of NCT04514484.
    assert "NCT04514484" in ids_in(client.get("/?q=hiv+infections").get_data(as_text=True))
    # LIKE wildcards in the query are literal.
    assert ids_in(client.get("/?q=%25").get_data(as_text=True)) == []


def test_filters_for_status_and_phase(store, client):
    load(store, "NCT04514484", "NCT00001908", "NCT04047862")
    statuses = {n: json.loads((STUDIES / f"{n}.json").read_text())["protocolSection"]["statusModule"]["overallStatus"]
                for n in ("NCT04514484", "NCT00001908", "NCT04047862")}
    for status in set(statuses.values()):
        page = client.get("/", query_string={"status": status}).get_data(as_text=True)
        assert sorted(ids_in(page)) == sorted(n for n, s in statuses.items() if s == status)
    phase1 = ids_in(client.get("/?phase=PHASE1").get_data(as_text=True))
    assert "NCT04514484" in phase1 and "NCT00001908" not in phase1
    assert client.get("/?status=RECRUITINGX").status_code == 400
    assert client.get("/?phase=PHASE9").status_code == 400
    assert client.get("/", query_string={"q": "x" * 201}).status_code == 400


def test_phase1_does_not_match_early_phase1(store):
    rec = record("NCT00001908")
    rec["protocolSection"]["designModule"]["phases"] = ["EARLY_PHASE1"]
    store.store_batch([incoming(rec)])
    assert listings.search_trials(store, [], phase="PHASE1").total == 0
    assert listings.search_trials(store, [], phase="EARLY_PHASE1").total == 1


def test_results_are_paged(tmp_path, database_url):
    app = make_app(tmp_path, database_url, page_size=3)
    store = store_of(app)
    load(store, "NCT04514484", "NCT00001908", "NCT00001909", "NCT03862547", "NCT04047862")
    client = app.test_client()
    first, second = client.get("/").get_data(as_text=True), client.get("/?page=2").get_data(as_text=True)
    assert len(ids_in(first)) == 3 and len(ids_in(second)) == 2
    assert not set(ids_in(first)) & set(ids_in(second))
    assert 'rel="next" href="/?page=2"' in first and 'rel="prev" href="/?page=1"' in second
    store.engine.dispose()


def test_latest_changes_on_the_home_page(store, client):
    stored = store.store_batch([incoming(record("NCT00001908"))])
    change = Event(event_id("NCT00001908", "status", "a", "b"), "NCT00001908", "status", "RECRUITING", "COMPLETED", {},
                   stored[0].version_id, "2024-05-01", dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
    with store.engine.begin() as conn:
        insert_events(conn, [change])
    page = client.get("/").get_data(as_text=True)
    latest = page[page.index('id="latest"') :]
    assert "2024-05-01" in latest and "Recruiting → Completed" in latest
    assert "T Cell Cytokine Changes During IL-4 Receptor Treatment for Asthma" in latest


def test_conditions_are_listed_alphabetically_with_counts(store, client):
    load(store, "NCT00001908", "NCT00001909", "NCT04514484")
    page = client.get("/conditions").get_data(as_text=True)
    slugs = re.findall(r'<li><a href="/conditions/([a-z0-9-]+)">', page)
    assert slugs == sorted(slugs) and "asthma" in slugs and "hiv-infections" in slugs
    asthma = listings.condition(store, "asthma")
    assert asthma is not None and asthma.trials == 2
    assert 'href="/conditions/asthma.atom"' in page and 'href="/conditions/asthma.rss"' in page


def test_a_condition_page_lists_its_trials_by_status_with_feeds(store, client, app):
    load(store, "NCT00001908", "NCT00001909", "NCT04514484")
    page = client.get("/conditions/asthma").get_data(as_text=True)
    assert sorted(ids_in(page)) == ["NCT00001908", "NCT00001909"]
    base = app.config["BASE_URL"]
    assert f'<link rel="alternate" type="application/atom+xml" title="Asthma: trial changes (Atom)" href="{base}/conditions/asthma.atom">' in page
    assert f'type="application/rss+xml" title="Asthma: trial changes (RSS)" href="{base}/conditions/asthma.rss"' in page
    status = json.loads((STUDIES / "NCT00001908.json").read_text())["protocolSection"]["statusModule"]["overallStatus"]
    filtered = client.get("/conditions/asthma", query_string={"status": status}).get_data(as_text=True)
    assert "NCT00001908" in ids_in(filtered)
    assert client.get("/conditions/Asthma").headers["location"].endswith("/conditions/asthma")
    missing = client.get("/conditions/no-such-condition")
    assert missing.status_code == 404 and "no-such-condition" in missing.get_data(as_text=True)
    # Ancestors gather narrower terms: every cancer trial is under neoplasms.
    assert "NCT04514484" in ids_in(client.get("/conditions/neoplasms").get_data(as_text=True))


def test_sitemaps_list_every_trial_in_files_of_bounded_size(tmp_path, database_url):
    app = make_app(tmp_path, database_url, sitemap_size=50)
    store = store_of(app)
    load_paths(store, [STUDIES])
    client = app.test_client()
    base = app.config["BASE_URL"]
    index = ET.fromstring(client.get("/sitemap.xml").data)
    assert index.tag == f"{SITEMAP}sitemapindex"
    locs = [s.findtext(f"{SITEMAP}loc") for s in index]
    trial_maps = [loc for loc in locs if "/sitemaps/conditions-" not in loc]
    assert len(trial_maps) == -(-store.count_trials() // 50)
    listed = {}
    for loc in trial_maps:
        response = client.get(loc.removeprefix(base))
        assert response.status_code == 200 and response.mimetype == "application/xml"
        urlset = ET.fromstring(response.data)
        assert urlset.tag == f"{SITEMAP}urlset" and 0 < len(urlset) <= 50
        for url in urlset:
            listed[url.findtext(f"{SITEMAP}loc")] = url.findtext(f"{SITEMAP}lastmod")
    expected = {f"{base}/trials/{p.stem}" for p in STUDIES.glob("NCT*.json")}
    assert set(listed) == expected
    rec = json.loads((STUDIES / "NCT04514484.json").read_text())
    assert listed[f"{base}/trials/NCT04514484"] == rec["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    # Each sitemap's lastmod in the index is the newest of its trials.
    first = ET.fromstring(client.get(trial_maps[0].removeprefix(base)).data)
    newest = max(u.findtext(f"{SITEMAP}lastmod") for u in first)
    assert index[0].findtext(f"{SITEMAP}lastmod") == newest
    condition_maps = [loc for loc in locs if "/sitemaps/conditions-" in loc]
    pages = [u.findtext(f"{SITEMAP}loc") for loc in condition_maps
             for u in ET.fromstring(client.get(loc.removeprefix(base)).data)]
    assert pages[:2] == [f"{base}/", f"{base}/conditions"] and f"{base}/conditions/asthma" in pages
    assert len(pages) == len(set(pages)) == 2 + listings.list_conditions(store, limit=0).total
    assert client.get("/sitemaps/99.xml").status_code == 404
    assert client.get("/sitemaps/0.xml").status_code == 404
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {base}/sitemap.xml" in robots
    store.engine.dispose()
