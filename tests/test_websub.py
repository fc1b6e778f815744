"""WebSub publish pings reach a real hub stub on 127.0.0.1."""

from __future__ import annotations

import socket
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from server.cli import main
from server.conditions import slugify
from server.load import load_paths
from server.schedule import scheduled_sync
from server.store import store_of
from server.websub import last_event_id, publish_changed_feeds, publish_since

from .conftest import SYNC_SETTINGS, VERSIONS, ServerThread, make_app
from .fake_registry import nct_id, read, snapshot_b, version_files


class Hub(ServerThread):
    """A hub that records publish pings and can fail the first tries of each."""

    def __init__(self, failures: int = 0, status: int = 503) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.tries: Counter[str] = Counter()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as hubs answer

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = parse_qs(self.rfile.read(length).decode())
                url = form["hub.url"][0]
                hub.tries[url] += 1
                if hub.tries[url] <= failures:
                    self.send_response(status)
                else:
                    hub.pings.append(form)
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        self.url += "/hub"


def load_history(store, nct_ids):
    """Load every real version of some trials: the load diffs each into the next, posting their events."""
    load_paths(store, [VERSIONS / n for n in nct_ids])
    return list(reversed(store.events(limit=10_000)))


def expected_urls(base, nct_ids):
    """The feeds of /changes and of every condition the trials' current records file them under."""
    latest = {nct_id(r): r for r in snapshot_b()[0]}
    slugs = set()
    for nct in nct_ids:
        record = latest.get(nct) or read(version_files(nct)[-1])
        browse = record["derivedSection"].get("conditionBrowseModule", {})
        terms = [m["term"] for m in browse.get("meshes", []) + browse.get("ancestors", [])]
        terms = terms or record["protocolSection"]["conditionsModule"]["conditions"]
        slugs |= {slugify(t) for t in terms}
    paths = ["/changes"] + [f"/conditions/{s}" for s in slugs]
    return {f"{base}{p}.{fmt}" for p in paths for fmt in ("atom", "rss")}


@pytest.fixture
def app(tmp_path, database_url):
    app = make_app(tmp_path, database_url, base_url="https://trials.example", websub_retry_delay=0.01)
    yield app
    store_of(app).engine.dispose()


def test_each_changed_feed_is_pinged_once(app):
    events = load_history(store_of(app), ["NCT06821503", "NCT07227597", "NCT04736173"])
    with Hub() as hub:
        app.config["WEBSUB_HUBS"] = [hub.url]
        report = publish_changed_feeds(app, [e for e in events if e.kind == "status"])
    urls = [ping["hub.url"][0] for ping in hub.pings]
    assert all(ping["hub.mode"] == ["publish"] for ping in hub.pings)
    assert len(urls) == len(set(urls))
    assert set(urls) == expected_urls("https://trials.example", ["NCT06821503", "NCT07227597"])
    assert not report.failed and len(report.accepted) == len(urls)


def test_busy_hubs_are_asked_again_and_broken_ones_do_not_fail_the_caller(app):
    events = load_history(store_of(app), ["NCT06821503"])
    with Hub(failures=2) as busy, Hub(failures=99, status=400) as refusing:
        app.config["WEBSUB_HUBS"] = [busy.url, refusing.url, f"http://127.0.0.1:{free_port()}/gone", "not a url"]
        report = publish_changed_feeds(app, events)
    wanted = expected_urls("https://trials.example", ["NCT06821503"])
    assert {p["hub.url"][0] for p in busy.pings} == wanted
    assert set(busy.tries.values()) == {3}
    assert set(refusing.tries.values()) == {1}  # a 4xx is final
    assert not refusing.pings
    assert len(report.failed) == 3 * len(wanted)


def test_nothing_is_sent_without_hubs_or_events(app):
    with Hub() as hub:
        assert publish_changed_feeds(app, load_history(store_of(app), ["NCT06821503"])).accepted == []
        app.config["WEBSUB_HUBS"] = [hub.url]
        assert publish_changed_feeds(app, []).accepted == []
    assert hub.pings == []


def test_publish_since_announces_what_a_run_added(app):
    store = store_of(app)
    load_history(store, ["NCT07227597"])
    before = last_event_id(app)
    assert before > 0
    load_history(store, ["NCT06821503"])
    with Hub() as hub:
        app.config["WEBSUB_HUBS"] = [hub.url]
        publish_since(app, before)
    assert {p["hub.url"][0] for p in hub.pings} == expected_urls("https://trials.example", ["NCT06821503"])


def test_each_sync_pings_every_feed_its_changes_reach_once(tmp_path, database_url, fake_registry):
    app = make_app(tmp_path, database_url, registry_url=fake_registry.url, base_url="https://trials.example",
                   **SYNC_SETTINGS)
    store = store_of(app)
    with Hub() as hub:
        app.config["WEBSUB_HUBS"] = [hub.url]
        scheduled_sync(app)  # the baseline: no event, nothing to announce
        assert hub.pings == []
        fake_registry.snapshot(*snapshot_b())
        scheduled_sync(app)
    changed = {e.nct_id for e in store.events(limit=10_000)}
    assert len(changed) > 10
    urls = [p["hub.url"][0] for p in hub.pings]
    assert sorted(urls) == sorted(expected_urls("https://trials.example", changed))


def test_load_command_pings_each_feed_its_events_changed_once(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("TRIALPUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIALPUB_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIALPUB_BASE_URL", "https://trials.example")
    with Hub() as hub:
        monkeypatch.setenv("TRIALPUB_WEBSUB_HUBS", f'["{hub.url}"]')
        # Two real versions of one trial: the load diffs them into a status event.
        first = CliRunner().invoke(main, ["load", str(VERSIONS / "NCT06821503")])
        assert first.exit_code == 0, first.output
        pinged = [p["hub.url"][0] for p in hub.pings]
        # The same files again store nothing new, so no feed changed.
        again = CliRunner().invoke(main, ["load", str(VERSIONS / "NCT06821503")])
        assert again.exit_code == 0, again.output
    assert sorted(pinged) == sorted(expected_urls("https://trials.example", ["NCT06821503"]))
    assert len(hub.pings) == len(pinged)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
