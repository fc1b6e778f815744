"""The trial page: content in order, metadata for search engines, escaping, size, freshness, history."""

import datetime as dt
import html
import json
import re
from pathlib import Path

import extruct
import pyshacl
import pytest
import rdflib
import sqlalchemy as sa

from server import tables as t
from server.eventlog import insert_events
from server.events import Event, event_id
from server.load import load_paths
from server.pagemeta import page_jsonld, script_json
from server.resources import resource_path
from server.store import store_of

from .conftest import make_app
from .test_store import incoming, record

# rdflib's JSON-LD parser warns about its own internals.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated")

SECTIONS = ["about", "stage", "eligibility", "treatments", "outcomes", "locations", "history", "freshness", "faq",
            "doctor", "sources", "follow", "method", "cite"]
HOSTILE = '</script><script>alert(1)</script> "quoted" <b>bold</b> & more'


@pytest.fixture
def client(app):
    return app.test_client()


def page_of(client, nct_id: str) -> str:
    response = client.get(f"/trials/{nct_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def jsonld_of(page: str) -> dict:
    found = extruct.extract(page, syntaxes=["json-ld"], uniform=False)["json-ld"]
    assert len(found) == 1
    return found[0]


def nodes_by_type(document: dict) -> dict:
    return {node["@type"]: node for node in document["@graph"]}


def test_sections_come_in_the_order_of_the_issue(store, client):
    store.store_batch([incoming(record("NCT04514484"))])
    page = page_of(client, "NCT04514484")
    positions = [page.index(f'<section id="{name}"') for name in SECTIONS]
    assert positions == sorted(positions)
    # The visible header: from <main> on (the JSON-LD in <head> repeats the titles).
    header = page[page.index("<main") : positions[0]]
    title = "Testing the Combination of the Anti-cancer Drugs XL184 (Cabozantinib) and Nivolumab"
    assert header.index("<h1>" + title) < header.index("Pilot Trial of Nivolumab Plus Cabozantinib")
    assert "Active, not recruiting</li>" in header and "Phase 1</li>" in header and "Interventional</li>" in header
    assert "is a Phase 1 interventional study of" in header and "sponsored by National Cancer Institute (NCI)" in header
    assert "a target of" in page or "participants enrolled" in page
    assert "<details>\n    <summary>Detailed description</summary>" in page
    assert "Full criteria exactly as written in the registry" in page
    assert "United States" in page and "How to talk to your doctor" in page and "Medical disclaimer" in page
    assert "https://trialsearch.who.int/Trial2.aspx?TrialID=NCT04514484" in page


def test_search_engine_metadata(store, client, app):
    store.store_batch([incoming(record("NCT04514484"))])
    page = page_of(client, "NCT04514484")
    base = app.config["BASE_URL"]
    canonical = f"{base}/trials/NCT04514484"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert re.search(r'<meta name="description" content="[^"]{40,170}">', page)
    for prop in ("og:type", "og:title", "og:description", "og:url", "og:site_name"):
        assert f'<meta property="{prop}"' in page
    for ext, mime in (("jsonld", "application/ld+json"), ("ttl", "text/turtle"), ("nt", "application/n-triples"),
                      ("rdf", "application/rdf+xml")):
        assert f'<link rel="alternate" type="{mime}" title="This trial as' in page
        assert f'href="{canonical}.{ext}"' in page
    assert f'type="application/atom+xml" title="HIV Infections: trial changes (Atom)" href="{base}/conditions/hiv-infections.atom"' in page
    assert f'href="{base}/conditions/hiv-infections.rss"' in page


def test_faqpage_carries_exactly_the_visible_questions(store, client):
    store.store_batch([incoming(record("NCT04514484"))])
    page = page_of(client, "NCT04514484")
    faq_html = page[page.index('<section id="faq"') : page.index('<section id="doctor"')]
    visible = [(html.unescape(q), html.unescape(a)) for q, a in re.findall(r"<h3>(.*?)</h3>\s*<p>(.*?)</p>", faq_html, re.S)]
    nodes = nodes_by_type(jsonld_of(page))
    marked_up = [(q["name"], q["acceptedAnswer"]["text"]) for q in nodes["FAQPage"]["mainEntity"]]
    assert marked_up == visible and len(visible) == 5
    questions = " ".join(q for q, _ in visible)
    for asked in ("studying", "take part", "contact the trial site", "safe"):
        assert asked in questions
    crumbs = nodes["BreadcrumbList"]["itemListElement"]
    assert [c["position"] for c in crumbs] == list(range(1, len(crumbs) + 1))
    assert crumbs[-1]["item"].endswith("/trials/NCT04514484")
    assert nodes["WebPage"]["about"]["@id"].endswith("/trials/NCT04514484#trial")


def hostile_record() -> dict:
    rec = record("NCT00001908")
    ident = rec["protocolSection"]["identificationModule"]
    ident["briefTitle"] = HOSTILE
    ident["officialTitle"] = HOSTILE
    rec["protocolSection"]["descriptionModule"]["briefSummary"] = HOSTILE
    rec["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] = f"Inclusion Criteria:\n\n* {HOSTILE}\n"
    rec["protocolSection"]["conditionsModule"]["conditions"] = [HOSTILE]
    return rec


def test_hostile_registry_text_is_escaped_in_html_and_in_json_ld(store, client):
    store.store_batch([incoming(hostile_record())])
    page = page_of(client, "NCT00001908")
    assert "<script>alert(1)" not in page and "<b>bold</b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "&#34;quoted&#34;" in page
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(scripts) == 1
    assert "<" not in scripts[0] and ">" not in scripts[0] and "&" not in scripts[0]
    assert "\\u003c/script\\u003e" in scripts[0]
    # Parsed back, the JSON says exactly what the registry said.
    nodes = nodes_by_type(jsonld_of(page))
    assert nodes["WebPage"]["name"] == f"{HOSTILE} (NCT00001908)"
    assert HOSTILE in nodes["FAQPage"]["mainEntity"][0]["acceptedAnswer"]["text"]


def test_script_json_round_trips_any_text():
    value = {"text": HOSTILE + " <!-- \u2028 \u00e9"}
    escaped = script_json(value)
    assert not set("<>&") & set(escaped)
    assert json.loads(escaped) == value


@pytest.mark.parametrize("nct_id", ["NCT04047862", "NCT03793179", "NCT04514484", "NCT04743661"])
def test_large_records_give_pages_under_150_kb(store, client, nct_id):
    store.store_batch([incoming(record(nct_id))])
    page = page_of(client, nct_id)
    assert len(page.encode()) < 150_000


def test_a_record_with_hundreds_of_sites_lists_some_and_counts_all(store, client):
    store.store_batch([incoming(record("NCT03793179"))])  # 1,101 sites
    page = page_of(client, "NCT03793179")
    assert "1101 sites in" in page
    listed = page[page.index('<section id="locations"') : page.index('<section id="history"')].count("<li>")
    assert 0 < listed <= 160
    assert "more sites in United States: see" in page


def with_verified(date: str) -> dict:
    rec = record("NCT00001908")
    rec["protocolSection"]["statusModule"]["statusVerifiedDate"] = date
    return rec


def test_freshness_warns_when_the_status_was_verified_over_a_year_ago(store, client):
    store.store_batch([incoming(with_verified("2001-09"))])
    page = page_of(client, "NCT00001908")
    assert 'class="warning"' in page and "more than a year ago" in page
    recent = (dt.date.today() - dt.timedelta(days=40)).isoformat()
    store.store_batch([incoming(with_verified(recent))])
    page = page_of(client, "NCT00001908")
    assert 'class="warning"' not in page
    assert f'<time datetime="{recent}">{recent}</time>' in page
    assert "Data as of" in page and "Last update posted" in page


def test_status_history_is_rendered_from_the_stores_events(store, client):
    stored = store.store_batch([incoming(record("NCT00001908"))])
    version = stored[0].version_id
    events = [
        Event(event_id("NCT00001908", "status", "a", "b"), "NCT00001908", "status", "NOT_YET_RECRUITING", "RECRUITING",
              {}, version, "2024-01-15", dt.datetime(2024, 1, 16, tzinfo=dt.UTC)),
        Event(event_id("NCT00001908", "site_status", "a", "b"), "NCT00001908", "site_status", None, None,
              {"sites": [
                  {"change": "status", "facility": "Clinical Center <NIH>", "city": "Bethesda", "state": "Maryland",
                   "country": "United States", "old": "RECRUITING", "new": "COMPLETED"},
                  {"change": "added", "facility": "Hôpital Nord", "city": "Marseille", "state": None,
                   "country": "France", "old": None, "new": "NOT_YET_RECRUITING"},
                  {"change": "removed", "facility": None, "city": "Lyon", "state": None,
                   "country": "France", "old": "RECRUITING", "new": None},
              ]}, version, "2024-03-02", dt.datetime(2024, 3, 3, tzinfo=dt.UTC)),
        Event(event_id("NCT00001908", "eligibility", "a", "b"), "NCT00001908", "eligibility", None, None,
              {}, version, "2024-03-02", dt.datetime(2024, 3, 3, tzinfo=dt.UTC)),
    ]
    with store.engine.begin() as conn:
        insert_events(conn, events)
    page = page_of(client, "NCT00001908")
    history = page[page.index('<section id="history"') : page.index('<section id="freshness"')]
    assert "Overall status changed from Not yet recruiting to Recruiting" in history
    assert "Clinical Center &lt;NIH&gt;, Bethesda, United States: Recruiting to Completed" in history
    assert "Hôpital Nord, Marseille, France: site added (Not yet recruiting)" in history
    assert "Lyon, France: site no longer listed (was Recruiting)" in history
    assert history.index("2024-03-02") < history.index("2024-01-15")  # newest first
    assert "eligibility" not in history.lower()


def test_pages_render_with_the_registry_out_of_reach(tmp_path, database_url):
    # Nothing listens on port 9: a page that asked the registry would fail.
    app = make_app(tmp_path, database_url, registry_url="http://127.0.0.1:9/api/v2")
    store = store_of(app)
    store.store_batch([incoming(record("NCT04514484"))])
    assert app.test_client().get("/trials/NCT04514484").status_code == 200
    store.engine.dispose()


def test_every_bundled_trial_renders(store, client):
    load_paths(store, [resource_path("sample", "studies")])
    ids = [p.stem for p in resource_path("sample", "studies").glob("NCT*.json")]
    assert len(ids) > 200
    for nct_id in ids:
        assert client.get(f"/trials/{nct_id}").status_code == 200, nct_id


SCHEMAORG = Path(__file__).parent / "data" / "schemaorg"


def schemaorg_graph(name: str) -> rdflib.Graph:
    # The published shapes name schema.org over http; the project's terms are https.
    text = (SCHEMAORG / name).read_text().replace("http://schema.org/", "https://schema.org/")
    return rdflib.Graph().parse(data=text, format="turtle")


@pytest.mark.filterwarnings("ignore:Warning, A Recursive Shape")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_page_json_ld_conforms_to_the_schema_org_shapes(store, client):
    store.store_batch([incoming(record("NCT04514484"))])
    document = jsonld_of(page_of(client, "NCT04514484"))
    graph = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    types = {str(o) for o in graph.objects(None, rdflib.RDF.type)}
    assert {"https://schema.org/WebPage", "https://schema.org/BreadcrumbList", "https://schema.org/FAQPage"} <= types
    assert all(isinstance(o, rdflib.URIRef) for o in graph.objects(None, rdflib.URIRef("https://schema.org/item")))
    conforms, _, report = pyshacl.validate(
        graph,
        shacl_graph=schemaorg_graph("schemaorg-shapes-datatypes-fixed.shacl"),
        ont_graph=schemaorg_graph("schemaorg-subclasses.shacl"),
        inference="rdfs",
    )
    assert conforms, report[:3000]


def test_a_record_with_every_list_inflated_still_gives_a_page_under_150_kb(store, client):
    rec = record("NCT04047862")  # 2.4 MB of JSON, most of it results
    protocol = rec["protocolSection"]
    sites = record("NCT03793179")["protocolSection"]["contactsLocationsModule"]["locations"]
    protocol["contactsLocationsModule"]["locations"] = sites * 3  # 3,303 sites
    outcomes = protocol["outcomesModule"]
    for kind in ("primaryOutcomes", "secondaryOutcomes"):
        outcomes[kind] = outcomes[kind] * 10
    arms = protocol["armsInterventionsModule"]
    arms["armGroups"] = arms["armGroups"] * 6
    arms["interventions"] = arms["interventions"] * 10
    protocol["conditionsModule"]["conditions"] = protocol["conditionsModule"]["conditions"] * 50
    store.store_batch([incoming(rec)])
    page = page_of(client, "NCT04047862")
    assert len(page.encode()) < 150_000
    assert "3303 sites in" in page and "more: see" in page


def test_the_trial_graph_and_the_page_nodes_share_one_document():
    trial_document = {
        "@context": {"@vocab": "https://schema.org/", "ex": "https://example.org/vocab#"},
        "@id": "https://example.org/trials/NCT00000000#trial",
        "@type": "MedicalTrial",
        "name": "A trial",
        "ex:siteCount": 3,
    }
    page_nodes = [{"@id": "https://example.org/trials/NCT00000000", "@type": "WebPage",
                   "url": "https://example.org/trials/NCT00000000",
                   "about": {"@id": "https://example.org/trials/NCT00000000#trial"}}]
    merged = page_jsonld(page_nodes, trial_document)
    graph = rdflib.Graph().parse(data=json.dumps(merged), format="json-ld")
    schema = rdflib.Namespace("https://schema.org/")
    trial = rdflib.URIRef("https://example.org/trials/NCT00000000#trial")
    page = rdflib.URIRef("https://example.org/trials/NCT00000000")
    assert (trial, rdflib.RDF.type, schema.MedicalTrial) in graph
    assert (trial, rdflib.URIRef("https://example.org/vocab#siteCount"), rdflib.Literal(3)) in graph
    assert (page, schema.about, trial) in graph and (page, schema.url, page) in graph
    alone = rdflib.Graph().parse(data=json.dumps(trial_document), format="json-ld")
    assert set(alone) <= set(graph)


@pytest.mark.parametrize("nct_id", ["NCT00001908", "NCT06821503", "NCT00002297"])
def test_embedded_json_ld_holds_the_same_trial_graph_as_the_linked_data_url(store, client, nct_id):
    store.store_batch([incoming(record(nct_id))])
    page = page_of(client, nct_id)
    embedded = rdflib.Graph().parse(data=json.dumps(jsonld_of(page)), format="json-ld")
    served = rdflib.Graph().parse(data=client.get(f"/trials/{nct_id}.jsonld").get_data(as_text=True), format="json-ld")
    # The trial's description names every node (hash IRIs), so its triples compare one by one;
    # the page adds only its own nodes (WebPage, BreadcrumbList, FAQPage) beside them.
    assert not any(isinstance(term, rdflib.BNode) for triple in served for term in triple)
    assert len(served) > 20
    assert set(served) - set(embedded) == set()
    trial_iri = rdflib.URIRef(f"{client.application.config['BASE_URL']}/trials/{nct_id}#trial")
    added = {t for t in set(embedded) - set(served) if t[0] == trial_iri}
    assert added == set()


def test_a_page_is_rendered_again_only_when_its_events_or_the_last_good_run_change(store, client):
    store.store_batch([incoming(record("NCT00001908"))])
    version = store.head("NCT00001908").version_id
    first = page_of(client, "NCT00001908")
    with store.engine.begin() as conn:
        blob = conn.execute(sa.select(t.versions.c.raw).where(t.versions.c.id == version)).scalar_one()
        conn.execute(sa.update(t.versions).where(t.versions.c.id == version).values(raw=b"spoilt"))
    # The record can no longer be read: only the kept page can answer.
    assert page_of(client, "NCT00001908") == first
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.versions).where(t.versions.c.id == version).values(raw=blob))

    status = Event(event_id("NCT00001908", "status", "c", "d"), "NCT00001908", "status", "RECRUITING", "COMPLETED",
                   {}, version, "2024-05-01", dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
    with store.engine.begin() as conn:
        insert_events(conn, [status])
    with_event = page_of(client, "NCT00001908")
    assert "Overall status changed from Recruiting to Completed" in with_event

    run = store.start_run("sync")
    store.finish_run(run, "success", {})
    checked = store.last_run(outcome="success")["finished_at"].strftime("%Y-%m-%d %H:%M UTC")
    assert f"{checked}</time> (our last successful update" in page_of(client, "NCT00001908")
