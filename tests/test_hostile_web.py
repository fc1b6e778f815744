"""Every route and query parameter of the web app, fed junk: a 4xx that says why, or a correct answer."""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from server.load import load_paths
from server.store import store_of

from .conftest import BACKENDS, STUDIES, VERSIONS, fresh_database, make_app
from .hostile import ODD, examples, odd_text

TRIALS = ["NCT00001908", "NCT00001909", "NCT02365168", "NCT05406141", "NCT06671587"]
VERSIONED = ["NCT05935098", "NCT06821503"]
SLUGS = ["asthma", "hypersensitivity", "neoplasms", "no-such-condition"]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app per backend, loaded once with a few real trials and the versions of two."""
    folder = tmp_path_factory.mktemp("web")
    with fresh_database(request.param, folder) as url:
        app = make_app(folder, url)
        store = store_of(app)
        load_paths(store, [STUDIES / f"{n}.json" for n in TRIALS])
        load_paths(store, [VERSIONS / n for n in VERSIONED])
        yield app
        store.engine.dispose()


class Unhandled(logging.Handler):
    """Collect what the app logs as an unhandled error, so a 500 comes with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def unhandled() -> Iterator[Unhandled]:
    handler = Unhandled()
    logging.getLogger("server").addHandler(handler)
    yield handler
    logging.getLogger("server").removeHandler(handler)


def check(app: Flask, unhandled: Unhandled, path: str, query: Any = None, headers: Any = None) -> Any:
    """Ask for a path: a 4xx with a message, or a 200/3xx/304 whose body reads back as its type."""
    unhandled.records.clear()
    with app.test_client() as client:
        answer = client.get(path, query_string=query, headers=headers)
    failure = "\n".join(logging.Formatter().format(r) for r in unhandled.records)
    # The SPARQL endpoint sheds load with 503 and Retry-After (its limits are its own business).
    shed = answer.status_code == 503 and path.startswith("/sparql") and "Retry-After" in answer.headers
    assert answer.status_code < 500 or shed, f"{answer.status_code} on {path} {query} {headers}\n{failure}"
    if shed:
        return answer
    assert answer.status_code in {200, 301, 302, 303, 304, 307, 308} or 400 <= answer.status_code < 500
    body = answer.get_data()
    if answer.status_code >= 400:
        assert len(body.strip()) > 20, (path, query)  # it says why
    elif answer.status_code == 200 and path.split("?")[0] not in {"/dumps/"}:
        kind = answer.mimetype
        if kind.endswith(("xml", "rss+xml", "atom+xml", "opml")):
            ET.fromstring(body)
        elif kind.endswith("json") or kind.endswith("ld+json"):
            json.loads(body)
        elif kind == "text/html":
            assert b"</html>" in body
    return answer


# -- every route -------------------------------------------------------------------

def path_values(rule: Rule) -> st.SearchStrategy[dict[str, Any]]:
    """Values for a rule's variables: good ones, near misses and junk."""
    junk = st.one_of(odd_text(30), st.sampled_from(ODD), st.text(max_size=300), st.just("x" * 5000))
    values: dict[str, st.SearchStrategy[Any]] = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "IntegerConverter":
            values[name] = st.integers(0, 10**30)
        elif kind == "AnyConverter":
            values[name] = st.sampled_from(sorted(converter.items) if hasattr(converter, "items") else ["atom", "rss"])
        elif name == "nct_id":
            values[name] = st.one_of(st.sampled_from(TRIALS + VERSIONED), nct_spellings(), junk)
        elif name == "slug":
            values[name] = st.one_of(st.sampled_from(SLUGS), junk)
        elif name == "ext":
            values[name] = st.one_of(st.sampled_from(["html", "jsonld", "ttl", "nt", "rdf", "json", "xml", "HTML"]), junk)
        else:
            values[name] = st.one_of(st.sampled_from(["", "a", "index", "x.nt.gz"]), junk)
    return st.fixed_dictionaries(values)


def nct_spellings() -> st.SearchStrategy[str]:
    """An NCT ID in every spelling: case, leading zeros, extra digits, other scripts' digits, slashes."""
    def respell(nct: str, how: str) -> str:
        digits = nct[3:]
        return {
            "lower": nct.lower(), "mixed": "nCt" + digits, "short": "NCT" + digits.lstrip("0"),
            "extra": nct + "0", "arabic": "NCT" + digits.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
            "wide": "NCT" + digits.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            "slash": nct + "/", "space": f" {nct} ", "newline": nct + "\n", "dot": nct + ".", "dots": nct + "..html",
            "bare": digits, "prefix": "NCT-" + digits, "nul": nct + "\x00",
        }[how]
    hows = ["lower", "mixed", "short", "extra", "arabic", "wide", "slash", "space", "newline", "dot", "dots", "bare",
            "prefix", "nul"]
    return st.builds(respell, st.sampled_from(TRIALS), st.sampled_from(hows))


PARAMS = ["q", "page", "status", "phase", "kind", "country", "near", "archive", "query", "format", "update", "size"]
GOOD = {
    "status": ["RECRUITING", "recruiting", "COMPLETED,RECRUITING", "TERMINATED"],
    "phase": ["PHASE1", "phase2", "NA", "EARLY_PHASE1,PHASE3"],
    "kind": ["status", "new,status", "site_status", "STATUS"],
    "country": ["France", "United States", "Korea, Republic of", "Côte D'Ivoire"],
    "near": ["48.85,2.35", "-90,180", "91,0", "0,-181", "nan,nan", "inf,0", "1e400,0", "١,٢"],
    "archive": ["1-50", "50-1", "0-0", "1-999999999999", "1-9999999999999", "١-٢", "1-50\n", "-1-5"],
    "page": ["1", "2", "0", "-1", "999999999", "1000000000", "²", "١", "1.5", "1e3", "9" * 5000, " 1"],
    "q": ["asthma", "NCT00001908", "nct00001908", "asthma cytokine", '"', "%", "_", "*", "OR", "a" * 500],
    "query": ["SELECT * WHERE { ?s ?p ?o } LIMIT 1", "ASK {}", "SELECT", "DROP ALL"],
}


def param_values(name: str) -> st.SearchStrategy[str]:
    known = st.sampled_from(GOOD.get(name, ["", "1"]))
    return st.one_of(known, known, known, odd_text(40), st.sampled_from(ODD), st.text(max_size=50))


queries = st.lists(st.tuples(st.sampled_from(PARAMS), st.sampled_from(PARAMS).flatmap(param_values)), max_size=4)
# Parameters drawn together with their own values, the commoner case.
own_queries = st.lists(st.sampled_from(PARAMS).flatmap(lambda n: param_values(n).map(lambda v: (n, v))), max_size=5)


def routes(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and r.endpoint != "static"]


def build(rule: Rule, values: dict[str, Any]) -> str:
    """Write a rule's path with values, percent-encoded as a client would."""
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+(?:\([^)]*\))?:)?{name}>", quote(str(value), safe=""), path)
    return path


@settings(max_examples=examples(250), **SETTINGS)
@given(data=st.data())
def test_every_route_answers_junk_without_a_server_error(app: Flask, unhandled: Unhandled, data: st.DataObject):
    rule = data.draw(st.sampled_from(routes(app)), label="rule")
    path = build(rule, data.draw(path_values(rule), label="values"))
    query = data.draw(st.one_of(own_queries, queries), label="query")
    check(app, unhandled, path, query)


def test_the_routes_are_the_ones_covered(app: Flask):
    """A new route is covered by the test above as it is; this only shows what it walks."""
    assert {r.endpoint for r in routes(app)} >= {"pages.home", "linked_data.trial", "feeds.condition_feed"}


@settings(max_examples=examples(150), **SETTINGS)
@given(name=st.sampled_from(["/", "/conditions", "/conditions/asthma", "/changes", "/changes.atom", "/changes.rss",
                             "/conditions/asthma.rss", "/conditions.opml", "/sitemap.xml"]), query=own_queries)
def test_listing_and_feed_parameters(app: Flask, unhandled: Unhandled, name: str, query: list[tuple[str, str]]):
    check(app, unhandled, name, query)


LISTINGS = ["/", "/conditions", "/conditions/asthma", "/changes", "/changes.atom", "/conditions/asthma.rss",
            "/conditions.opml"]


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_known_value_of_every_parameter_on_every_listing(app: Flask, unhandled: Unhandled, name: str):
    for path in LISTINGS:
        for value in GOOD[name]:
            check(app, unhandled, path, [(name, value)])
            check(app, unhandled, path, [(name, value), (name, value + "," + value)])


ACCEPT = st.one_of(
    st.sampled_from([
        "text/html", "application/ld+json", "text/turtle;q=0.9, */*;q=0.1", "application/rdf+xml;q=1.0",
        "application/n-triples;q=0", "*/*;q=0", "text/*;q=abc", "text/html;q=-1", "text/html;q=1e400",
        "text/html;q=nan", "image/png", ";;;", "*/*;q=0.5;level=1", ",,,", "text/html;q=", "a/b/c", "",
        "application/json;q=0.00001", "text/turtle;q=1.0000001", "application/ld+json;profile=\"x\"",
    ]),
    st.lists(st.tuples(st.sampled_from(["text/html", "*/*", "text/turtle", "application/ld+json", "x/y"]),
                       st.one_of(st.floats(allow_nan=True), st.text(max_size=6))), max_size=4).map(
        lambda parts: ", ".join(f"{m};q={q}" for m, q in parts)),
    st.text(max_size=100).filter(lambda t: "\n" not in t and "\r" not in t),
)


@settings(max_examples=examples(150), **SETTINGS)
@given(path=st.sampled_from(["/trials/NCT00001908", "/vocab", "/.well-known/void", "/sparql", "/", "/changes",
                             "/context.jsonld", "/trials/NCT00001908.ttl"]),
       accept=ACCEPT, etag=st.one_of(st.none(), st.text(max_size=40), st.just('"*"'), st.just("W/\"x\", *")),
       since=st.one_of(st.none(), st.text(max_size=40), st.just("Wed, 21 Oct 2015 07:28:00 GMT")))
def test_accept_and_conditional_headers(app: Flask, unhandled: Unhandled, path: str, accept: str, etag: Any, since: Any):
    headers = {"Accept": accept}
    if etag is not None:
        headers["If-None-Match"] = etag
    if since is not None:
        headers["If-Modified-Since"] = since
    headers = {k: v for k, v in headers.items() if "\n" not in v and "\r" not in v}
    check(app, unhandled, path, headers=headers)


@settings(max_examples=examples(100), **SETTINGS)
@given(spelling=nct_spellings(), ext=st.sampled_from(["", ".html", ".jsonld", ".ttl", ".nt", ".rdf", ".json", ".HTML", "."]))
def test_nct_ids_in_every_spelling(app: Flask, unhandled: Unhandled, spelling: str, ext: str):
    answer = check(app, unhandled, "/trials/" + quote(spelling, safe="/") + ext)
    if answer.status_code == 301:
        target = answer.headers["Location"]
        assert re.search(r"/trials/NCT[0-9]{8}(\.\w+)?$", target), target
        assert check(app, unhandled, target).status_code == 200


@pytest.mark.parametrize("path", [
    "/trials/%FF%FE", "/conditions/%00", "/conditions/%C0%AF", "/%2e%2e/%2e%2e/etc/passwd", "/dumps/..%2F..%2Fconfig",
    "/dumps/%2e%2e", "/trials/NCT00001908%00.html", "/trials/NCT00001908.%FF", "/changes?kind=%FF%FE",
    "/?q=%00", "/?q=%ED%A0%80", "/?page=%00", "/conditions?page=%EF%BC%91", "/sitemaps/99999999999999999999.xml",
    "/sitemaps/conditions-0.xml", "/conditions/" + "a" * 10_000, "/?q=" + "a" * 20_000, "/changes?country=" + "é" * 5000,
    "/conditions/asthma.atom?near=" + "1" * 400 + ",2", "/changes.rss?archive=" + "9" * 30 + "-" + "9" * 31,
])
def test_percent_encoded_junk_and_long_urls(app: Flask, unhandled: Unhandled, path: str):
    check(app, unhandled, path)
