"""Content negotiation, the vocabulary and the context, over real HTTP."""

from __future__ import annotations

import json
import re

import httpx
import pytest
import sqlalchemy as sa
from rdflib import RDF, RDFS, Graph, Namespace, URIRef
from rdflib.compare import isomorphic

from server import tables as t
from server.graph import FORMATS
from server.load import load_paths
from server.web.linked_data import renditions_of, trial_jsonld, trial_script_json

from .conftest import STUDIES, VERSIONS

# rdflib's JSON-LD parser builds a ConjunctiveGraph internally: not ours to change.
pytestmark = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")]

SDO = Namespace("https://schema.org/")
READERS = {"application/ld+json": "json-ld", "text/turtle": "turtle", "application/n-triples": "nt",
           "application/rdf+xml": "xml"}
TRIAL = "/trials/NCT00202163"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture
def client(store, live_server):
    load_paths(store, [STUDIES / "NCT00202163.json", STUDIES / "NCT00001908.json"])
    with httpx.Client(base_url=live_server.url) as client:
        yield client


def read(response: httpx.Response) -> Graph:
    mimetype = response.headers["content-type"].split(";")[0]
    return Graph().parse(data=response.content, format=READERS[mimetype])


def links(response: httpx.Response) -> dict[str, str]:
    """Read a Link header into {media type: target}."""
    return {m[1]: m[0] for m in re.findall(r'<([^>]+)>; rel="alternate"; type="([^"]+)"', response.headers["link"])}


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.extension)
def test_each_format_by_accept_and_by_extension(app, client, fmt):
    negotiated = client.get(TRIAL, headers={"Accept": fmt.mimetype})
    fixed = client.get(f"{TRIAL}.{fmt.extension}")
    for response in (negotiated, fixed):
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == fmt.mimetype
        assert links(response) == {f.mimetype: f"{TRIAL}.{f.extension}" for f in FORMATS}
    assert "accept" in negotiated.headers["vary"].lower()
    assert negotiated.headers["content-location"] == f"{TRIAL}.{fmt.extension}"
    if fmt.rdflib is None:
        assert "ANDRO 2002" in negotiated.text and negotiated.text == fixed.text
        return
    assert negotiated.headers["etag"] == fixed.headers["etag"]
    assert isomorphic(read(negotiated), read(fixed))
    assert (URIRef(f"{app.config['BASE_URL']}{TRIAL}#trial"), RDF.type, SDO.MedicalTrial) in read(fixed)


def test_all_rdf_formats_are_the_same_graph(client):
    graphs = [read(client.get(f"{TRIAL}.{f.extension}")) for f in FORMATS if f.rdflib]
    assert len(graphs[0]) > 50
    assert all(isomorphic(graphs[0], g) for g in graphs[1:])
    assert any(p == SDO.healthCondition for p in graphs[0].predicates())


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (BROWSER, "text/html"),
        ("*/*", "text/html"),
        ("", "text/html"),
        ("application/json", "application/ld+json"),
        ("text/turtle;q=0.5, application/rdf+xml", "application/rdf+xml"),
        ("application/n-triples, text/html;q=0.1", "application/n-triples"),
        ("text/*;q=0.9, application/ld+json", "application/ld+json"),
    ],
)
def test_accept_picks_the_preferred_offered_type(client, accept, expected):
    response = client.get(TRIAL, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected


def test_an_accept_we_cannot_meet_gets_406_listing_what_we_offer(client):
    response = client.get(TRIAL, headers={"Accept": "image/png, application/pdf;q=0.5"})
    assert response.status_code == 406
    assert "accept" in response.headers["vary"].lower()
    for fmt in FORMATS:
        assert fmt.mimetype in response.text
    assert links(response)  # the alternates still show the way


def test_etags_come_from_the_version_and_revalidate_with_304(client, store):
    first = client.get(f"{TRIAL}.ttl")
    etag = first.headers["etag"]
    assert client.get(f"{TRIAL}.nt").headers["etag"] != etag
    again = client.get(f"{TRIAL}.ttl", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = client.get(TRIAL, headers={"Accept": "text/turtle", "If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304 and "accept" in weak.headers["vary"].lower()
    assert client.get(f"{TRIAL}.ttl", headers={"If-None-Match": '"something-else"'}).status_code == 200

    # A new version of a trial gets a new ETag, and a client holding the old one gets the new body.
    versions = sorted((VERSIONS / "NCT04514484").glob("*.json"))
    load_paths(store, [versions[0]])
    old = client.get("/trials/NCT04514484.jsonld")
    load_paths(store, [versions[-1]])
    new = client.get("/trials/NCT04514484.jsonld", headers={"If-None-Match": old.headers["etag"]})
    assert new.status_code == 200 and new.headers["etag"] != old.headers["etag"]
    assert not isomorphic(read(old), read(new))


def test_revalidation_and_cached_renditions_need_no_record(client, store):
    first = client.get(f"{TRIAL}.ttl")
    etag = first.headers["etag"]
    # Spoil the stored record: only an answer that never reads it can still be right.
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.versions).where(t.versions.c.nct_id == "NCT00202163").values(raw=b"spoilt"))
    again = client.get(TRIAL, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert again.headers["access-control-allow-origin"] == "*" and "accept" in again.headers["vary"].lower()
    assert again.headers["content-location"] == f"{TRIAL}.ttl" and links(again)["text/turtle"] == f"{TRIAL}.ttl"
    cached = client.get(f"{TRIAL}.ttl")
    assert cached.status_code == 200 and cached.headers["etag"] == etag
    assert isomorphic(read(cached), read(first))
    # A format not written yet has to read the record, which is now unreadable.
    assert client.get(f"{TRIAL}.nt").status_code == 500


def test_extension_urls_redirect_and_refuse_like_the_page(client):
    moved = client.get("/trials/nct00202163.ttl")
    assert moved.status_code == 301 and moved.headers["location"].endswith(f"{TRIAL}.ttl")
    assert client.get("/trials/nct00202163").headers["location"].endswith(TRIAL)
    unknown = client.get(f"{TRIAL}.xml")
    assert unknown.status_code == 404 and ".ttl" in unknown.text
    assert client.get("/trials/NCT99999999.ttl").status_code == 404
    assert client.get("/trials/NCT99999999", headers={"Accept": "text/turtle"}).status_code == 404
    malformed = client.get("/trials/NCT123.ttl")
    assert malformed.status_code == 404 and "not an NCT ID" in malformed.text
    head = client.head(f"{TRIAL}.rdf")
    assert head.status_code == 200 and head.headers["content-type"].startswith("application/rdf+xml") and head.content == b""


def test_each_format_is_written_once_per_version(app, client):
    stats = renditions_of(app).stats
    before = (stats.misses, stats.hits)
    client.get(f"{TRIAL}.ttl")
    client.get(f"{TRIAL}.ttl")
    client.get(TRIAL, headers={"Accept": "text/turtle"})
    client.get(f"{TRIAL}.nt")
    assert (stats.misses - before[0], stats.hits - before[1]) == (2, 2)


def test_vocabulary_page_has_an_anchor_for_every_term_and_turtle_on_request(app, client):
    namespace = f"{app.config['BASE_URL']}/vocab#"
    turtle = client.get("/vocab", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
    assert "accept" in turtle.headers["vary"].lower()
    vocab = Graph().parse(data=turtle.text, format="turtle")
    terms = {str(s) for s in vocab.subjects(RDFS.label, None) if str(s).startswith(namespace)}
    assert len(terms) > 80
    page = client.get("/vocab", headers={"Accept": BROWSER})
    assert page.headers["content-type"].startswith("text/html")
    anchors = set(re.findall(r'<div class="term" id="([^"]+)"', page.text))
    assert anchors == {t.removeprefix(namespace) for t in terms}
    # Every term a trial description uses resolves to an anchor on /vocab.
    used = {str(x) for t in read(client.get(f"{TRIAL}.nt")) for x in t if str(x).startswith(namespace)}
    assert used and used <= terms
    assert isomorphic(vocab, read(client.get("/vocab", headers={"Accept": "application/n-triples"})))
    assert client.get("/vocab", headers={"Accept": "image/png"}).status_code == 406


def test_served_json_ld_carries_the_published_context(client):
    context = client.get("/context.jsonld")
    assert context.status_code == 200 and context.headers["content-type"] == "application/ld+json"
    assert context.headers["access-control-allow-origin"] == "*"
    document = client.get(f"{TRIAL}.jsonld").json()
    assert document["@context"] == context.json()["@context"]
    assert document["@type"] == "MedicalTrial"
    assert json.loads(client.get(f"{TRIAL}.jsonld").text) == document


def test_pages_get_the_cached_json_ld_ready_for_a_script_element(app, client, store):
    served = client.get(f"{TRIAL}.jsonld").json()
    with app.app_context():
        stored = store.current("NCT00202163")
        embedded = trial_script_json(stored)
        assert trial_jsonld(stored) == served
    assert not {"<", ">", "&"} & set(embedded)
    assert json.loads(embedded) == served
