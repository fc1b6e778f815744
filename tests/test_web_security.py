"""Web hardening over real HTTP: security headers everywhere, size limits, per-client SPARQL limits, no leaks."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

from server import create_app
from server.clientlimits import client_key, client_slot
from server.config import load_settings
from server.serve import request_line_limit
from server.sparql import TooManyQueries
from server.store import store_of
from server.web.security import HEADERS

from .conftest import LiveServer
from .sparql_support import BY_STATUS, indexed_app, stop_queries
from .test_browser import run_chromium
from .test_web_sparql import EXPENSIVE

TEMPLATES = Path(__file__).parent.parent / "server" / "templates"
SPARQL_JSON = "application/sparql-results+json"


def csp_directives(value: str) -> dict[str, list[str]]:
    """Parse a Content-Security-Policy header into its directives."""
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_secured(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url} ({response.status_code})"
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, where
    policy = csp_directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"], where
    # Scripts fall back to default-src 'none': none may run, inline or not.
    assert "'unsafe-inline'" not in policy.get("script-src", []), where
    assert "'unsafe-eval'" not in policy.get("script-src", []), where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["form-action"] == ["'self'"], where


class PageInspector(HTMLParser):
    """Collect what a Content-Security-Policy without inline script or style would block."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and named.get("type") != "application/ld+json":
            self.blocked.append(f"<script {attrs}>")
        if tag == "style":
            self.blocked.append("<style>")
        self.blocked.extend(f"{name}= on <{tag}>" for name, _ in attrs if name == "style" or name.startswith("on"))
        if any((value or "").lower().startswith("javascript:") for _, value in attrs):
            self.blocked.append(f"javascript: URL on <{tag}>")
        if tag == "form":
            self.forms.append(named)
        if tag == "a" and named.get("href"):
            self.links.append(named["href"] or "")


def inspect(html: str) -> PageInspector:
    inspector = PageInspector()
    inspector.feed(html)
    return inspector


# -- headers -------------------------------------------------------------------


def test_every_kind_of_answer_carries_the_security_headers(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 3)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        home = client.get("/", headers={"Accept": "text/html"})
        nct_id = next(link for link in inspect(home.text).links if link.startswith("/trials/NCT")).split("/")[-1]
        conditions = client.get("/conditions")
        slug = re.search(r'href="/conditions/([a-z0-9-]+)"', conditions.text).group(1)  # type: ignore[union-attr]
        turtle = client.get(f"/trials/{nct_id}.ttl")
        answers = [
            home,
            conditions,
            client.get(f"/conditions/{slug}"),
            client.get(f"/trials/{nct_id}", headers={"Accept": "text/html"}),
            turtle,
            client.get(f"/trials/{nct_id}", headers={"Accept": "application/ld+json"}),
            client.get(f"/trials/{nct_id}.ttl", headers={"If-None-Match": turtle.headers["etag"]}),
            client.get(f"/trials/{nct_id}", headers={"Accept": "image/png"}),
            client.get("/trials/NCT99999999"),
            client.get(f"/trials/{nct_id.lower()}"),
            client.get("/vocab"),
            client.get("/vocab", headers={"Accept": "text/turtle"}),
            client.get("/context.jsonld"),
            client.get(f"/conditions/{slug}.atom"),
            client.get("/changes.rss"),
            client.get("/changes"),
            client.get("/conditions.opml"),
            client.get("/sparql", headers={"Accept": "text/html"}),
            client.get("/sparql", headers={"Accept": "text/turtle"}),
            client.get("/sparql", params={"query": BY_STATUS}, headers={"Accept": SPARQL_JSON}),
            client.get("/sparql", params={"query": "SELECT nonsense"}),
            client.post("/sparql", data={"update": "DROP ALL"}),
            client.request("OPTIONS", "/sparql"),
            client.put("/sparql"),
            client.get("/.well-known/void"),
            client.get("/dumps/"),
            client.get("/status"),
            client.get("/sitemap.xml"),
            client.get("/robots.txt"),
            client.get("/static/style.css"),
            client.head("/"),
            client.get("/no/such/page"),
        ]
    stop_queries(app)
    statuses = {response.status_code for response in answers}
    assert {200, 301, 304, 400, 403, 404, 405, 406} <= statuses
    for response in answers:
        assert_secured(response)
    assert answers[6].status_code == 304


def test_cors_stays_on_the_sparql_endpoint_and_linked_data(app: Flask, live_server: LiveServer):
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        for response in (client.request("OPTIONS", "/sparql"), client.get("/vocab"), client.get("/context.jsonld")):
            assert response.headers["access-control-allow-origin"] == "*"
            assert_secured(response)
        # Pages for people are not opened to other origins.
        assert "access-control-allow-origin" not in client.get("/").headers


def test_templates_hold_no_inline_script_or_style():
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            assert 'type="application/ld+json"' in match.group(0), template.name
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", text, re.IGNORECASE), template.name


def test_served_pages_need_nothing_the_policy_blocks_and_the_sparql_form_works(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 3)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        home = client.get("/")
        trial_path = next(link for link in inspect(home.text).links if link.startswith("/trials/NCT"))
        pages = {path: client.get(path, headers={"Accept": "text/html"}) for path in
                 ("/", "/conditions", trial_path, "/vocab", "/changes", "/status", "/sparql", "/no/such/page")}
        form_page = pages["/sparql"]
        form = inspect(form_page.text).forms[0]
        # form-action 'self': the form must send to this site, which the query then answers in the page.
        assert form["action"] == "/sparql" and form["method"] == "get"
        answered = client.get(form["action"] or "", params={"query": BY_STATUS, "format": "html"})
    stop_queries(app)
    for path, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), path
        assert inspect(page.text).blocked == [], path
    assert answered.status_code == 200
    assert "<table>" in answered.text and "row" in answered.text
    assert_secured(answered)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_real_browser_reports_no_policy_violation(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 3)
    with LiveServer(app) as live:
        trial_path = next(
            link for link in inspect(httpx.get(live.url, timeout=60).text).links if link.startswith("/trials/NCT")
        )
        paths = [
            "/", trial_path, "/conditions", "/vocab", "/changes", "/no/such/page",
            f"/sparql?format=html&query={quote(BY_STATUS)}",
        ]
        runs = {path: run_chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", live.url + path)
                for path in paths}
    stop_queries(app)
    for path, run in runs.items():
        assert run.returncode == 0, run.stderr[-2000:]
        assert "<h1>" in run.stdout, path
        # Chromium reports every blocked script, style or form target on its console.
        violations = [line for line in run.stderr.splitlines() if "Content Security Policy" in line]
        assert violations == [], (path, violations)


# -- size limits ---------------------------------------------------------------


def test_bodies_and_urls_past_their_limits_are_refused(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 1, max_body_bytes=4000, max_url_bytes=1000, sparql_max_query_bytes=1000)
    small = "SELECT * WHERE { ?s ?p ?o } LIMIT 1"
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        long_url_page = client.get("/", params={"q": "x" * 1200})
        long_url_sparql = client.get("/sparql", params={"query": small + " #" + "x" * 1200})
        big_body_page = client.post("/", content=b"x" * 5000)
        big_form_sparql = client.post("/sparql", data={"query": small + " #" + "x" * 5000})
        big_query_sparql = client.post(
            "/sparql", content=(small + " #" + "x" * 5000).encode(), headers={"Content-Type": "application/sparql-query"}
        )
        # Sent in chunks, without a length: the body is cut off as it is read.
        chunked = client.post(
            "/sparql",
            content=iter([b"query=" + b"x" * 3000, b"y" * 3000]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        within = client.post("/sparql", data={"query": small}, headers={"Accept": SPARQL_JSON})
    stop_queries(app)
    assert long_url_page.status_code == 414
    assert long_url_page.headers["content-type"].startswith("text/html")
    assert "at most 1,000" in long_url_page.text and "POST" in long_url_page.text
    assert long_url_sparql.status_code == 414
    assert long_url_sparql.headers["content-type"].startswith("text/plain")
    assert "at most 1,000" in long_url_sparql.text
    assert big_body_page.status_code == 413 and "at most 4,000" in big_body_page.text
    for response in (big_form_sparql, big_query_sparql):
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/plain")
        assert "at most 4,000" in response.text
    assert chunked.status_code == 413
    assert within.status_code == 200 and within.json()["head"]["vars"]
    for response in (long_url_page, long_url_sparql, big_body_page, big_form_sparql, chunked):
        assert_secured(response)


def test_the_default_body_limit_lets_the_longest_posted_query_through():
    settings = load_settings(environ={})
    # A query of the largest size, percent-encoded at worst, must meet the query limit's 413, not this one.
    assert settings["max_body_bytes"] >= 3 * settings["sparql_max_query_bytes"] + 4096


def test_gunicorn_reads_request_lines_just_past_the_url_limit():
    assert request_line_limit(1000) > 1000
    assert request_line_limit(8000) > 8000 + len("OPTIONS  HTTP/1.1")
    # Past gunicorn's largest limit, gunicorn is told to set none and the app's limit does the work.
    assert request_line_limit(50000) == 0


# -- per-client SPARQL limits ----------------------------------------------------


def test_a_client_past_its_queries_a_minute_is_told_to_wait_and_others_are_served(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 3, sparql_client_per_minute=3, trusted_proxies=1)
    first, second = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.9"}
    params = {"query": BY_STATUS}
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        started = time.time()
        admitted = [client.get("/sparql", params=params, headers=first) for _ in range(3)]
        refused = client.get("/sparql", params=params, headers=first)
        refused_page = client.get("/sparql", params={**params, "format": "html"}, headers=first)
        elapsed = time.time() - started
        other = client.get("/sparql", params=params, headers=second)
        # The form and the service description are not queries and are not counted.
        form = client.get("/sparql", headers={**first, "Accept": "text/html"})
    stop_queries(app)
    assert [response.status_code for response in admitted] == [200, 200, 200]
    assert refused.status_code == 429
    # Wait until the first of the three leaves the minute: no sooner, and no longer than that.
    for answer in (refused, refused_page):
        assert 60 - elapsed - 1 <= int(answer.headers["retry-after"]) <= 60
    assert "3 queries in the last minute" in refused.text
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused_page.status_code == 429
    assert "The query was not run" in refused_page.text and "last minute" in refused_page.text
    assert other.status_code == 200
    assert form.status_code == 200
    assert_secured(refused)


def test_without_trusted_proxies_a_forwarded_for_header_does_not_make_a_new_client(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 1, sparql_client_per_minute=2)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        answers = [
            client.get("/sparql", params={"query": BY_STATUS}, headers={"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(3)
        ]
    stop_queries(app)
    assert [response.status_code for response in answers] == [200, 200, 429]


def test_the_minute_is_counted_across_servers_on_one_data_dir(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 1, sparql_client_per_minute=3)
    # A second app on the same data dir and database stands for another web worker.
    twin = create_app({"data_dir": app.config["DATA_DIR"], "database_url": database_url, "sparql_client_per_minute": 3})
    with LiveServer(app) as one, LiveServer(twin) as two:
        codes = [httpx.get(f"{url}/sparql", params={"query": BY_STATUS}, timeout=60).status_code
                 for url in (one.url, two.url, one.url, two.url)]
    stop_queries(app)
    stop_queries(twin)
    store_of(twin).engine.dispose()
    assert codes == [200, 200, 200, 429]


def test_a_client_with_a_query_running_is_refused_another_and_others_are_served(tmp_path: Path, database_url: str):
    app = indexed_app(
        tmp_path, database_url, 60, sparql_timeout=3.0, sparql_max_concurrent=2, trusted_proxies=1
    )
    busy, other = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.9"}
    results: dict[str, httpx.Response] = {}
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        slow = threading.Thread(
            target=lambda: results.setdefault("slow", client.get("/sparql", params={"query": EXPENSIVE}, headers=busy))
        )
        slow.start()
        time.sleep(1.0)
        during = client.get("/sparql", params={"query": BY_STATUS}, headers=busy)
        meanwhile = client.get("/sparql", params={"query": BY_STATUS}, headers=other)
        slow.join()
        after = client.get("/sparql", params={"query": BY_STATUS}, headers=busy)
    stop_queries(app)
    assert during.status_code == 429
    assert int(during.headers["retry-after"]) >= 1
    assert "already have 1 query running" in during.text
    assert meanwhile.status_code == 200
    assert results["slow"].status_code == 503
    # The slot is given back once the query ends, and its lock file goes with it.
    assert after.status_code == 200
    assert list((Path(app.config["DATA_DIR"]) / "sparql-clients").glob("*.lock")) == []


HOLDER = """
import sys
from pathlib import Path
from server.clientlimits import client_slot
with client_slot(Path(sys.argv[1]), sys.argv[2], 1):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_client_slot_held_by_another_process_is_not_given_twice(tmp_path: Path):
    folder, key = tmp_path / "clients", client_key("203.0.113.7")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), key], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(TooManyQueries) as refused, client_slot(folder, key, 1):
            pass
        assert refused.value.status == 429
        # Another client is not held back by it.
        with client_slot(folder, client_key("198.51.100.9"), 1) as number:
            assert number == 0
    finally:
        holder.communicate("done\n", timeout=30)
    # Let go by the other process, the slot is free again.
    with client_slot(folder, key, 1) as number:
        assert number == 0
    assert list(folder.glob("*.lock")) == []


# -- no internals in error answers ---------------------------------------------

LEAKS = ("Traceback", "server/", "site-packages", ".py", "sqlalchemy", "SELECT ", "sqlite", "psycopg")


def break_the_store(app: Flask, database_url: str) -> None:
    """Damage the test's own database for real: garbage for SQLite, dropped tables on PostgreSQL."""
    engine = store_of(app).engine
    if database_url.startswith("sqlite"):
        engine.dispose()
        path = Path(database_url.removeprefix("sqlite:///"))
        path.write_bytes(b"this is not a database " * 400)
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE trials, events CASCADE"))
        engine.dispose()


def test_an_internal_error_shows_no_trace_path_or_sql(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 2)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        trial_path = next(link for link in inspect(client.get("/").text).links if link.startswith("/trials/NCT"))
        break_the_store(app, database_url)
        answers = [
            client.get("/"),
            client.get(trial_path, headers={"Accept": "text/html"}),
            client.get(f"{trial_path}.ttl"),
            client.get("/status", headers={"Accept": "application/json"}),
            client.get("/changes.atom"),
        ]
    stop_queries(app)
    for response in answers:
        where = str(response.request.url)
        assert response.status_code in (500, 503), where
        for leak in (*LEAKS, str(tmp_path)):
            assert leak not in response.text, (where, leak)
        assert "Something went wrong" in response.text or "Temporarily unavailable" in response.text
        assert_secured(response)


def test_a_broken_triple_store_shows_no_trace_or_path(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 2)
    for path in (Path(app.config["DATA_DIR"]) / "oxigraph").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage" * 64)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        answers = [
            client.get("/sparql", params={"query": BY_STATUS}),
            client.get("/sparql", params={"query": BY_STATUS, "format": "html"}),
        ]
    stop_queries(app)
    plain, page = answers
    assert plain.status_code == page.status_code == 503
    problem = page.text.split('role="alert"')[1].split("</section>")[0]
    for text in (plain.text, problem):
        assert "triple store" in text
        for leak in (*LEAKS, str(tmp_path)):
            assert leak not in text, leak
    for response in answers:
        assert_secured(response)
