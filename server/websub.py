"""WebSub publishing: tell each configured hub which feeds gained entries, never failing the caller."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from . import changefeed as cf
from .events import Event
from .feeds import FORMATS
from .store import store_of

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

# Answers worth asking again: the hub is busy or broken for the moment.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass
class PublishReport:
    """What the pings did: feed URLs each hub accepted, and those it did not."""

    accepted: list[tuple[str, str]] = field(default_factory=list)  # (hub, feed URL)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (hub, feed URL, why)


def changed_feed_urls(base_url: str, slugs: Iterable[str]) -> list[str]:
    """List the feeds that gain entries when trials filed under ``slugs`` change: theirs and /changes."""
    paths = ["/changes"] + [f"/conditions/{slug}" for slug in sorted(set(slugs))]
    return [f"{base_url}{path}.{fmt}" for path in paths for fmt in FORMATS]


def publish_changed_feeds(app: Flask, events: Sequence[Event]) -> PublishReport:
    """Ping every configured hub for every feed the events add entries to; log, never raise."""
    report = PublishReport()
    hubs: list[str] = [h for h in app.config["WEBSUB_HUBS"] if isinstance(h, str) and h]
    if not hubs or not events:
        return report
    try:
        with store_of(app).connect() as conn:
            slugs = cf.slugs_of(conn, (e.nct_id for e in events))
        urls = changed_feed_urls(app.config["BASE_URL"], slugs)
        with httpx.Client(timeout=app.config["WEBSUB_TIMEOUT"], headers={"User-Agent": "trialpub"}) as client:
            for hub in hubs:
                for url in urls:
                    why = ping(client, hub, url, app.config["WEBSUB_RETRIES"], app.config["WEBSUB_RETRY_DELAY"])
                    if why is None:
                        report.accepted.append((hub, url))
                    else:
                        report.failed.append((hub, url, why))
    except Exception:  # publishing is a courtesy to subscribers: it must never fail a load or sync
        log.exception("WebSub publishing stopped early")
    if report.failed:
        log.warning("WebSub: %d pings failed, first: %s", len(report.failed), report.failed[0])
    log.info("WebSub: %d feeds announced to %d hubs", len(report.accepted), len(hubs))
    return report


@contextmanager
def announcing(app: Flask) -> Iterator[None]:
    """Publish the feeds that gained entries while the block ran (a load or sync), even if it failed.

    What a failed run committed before failing is posted in the feeds, so it is announced too.
    """
    if not app.config["WEBSUB_HUBS"]:
        yield
        return
    try:
        before = last_event_id(app)
    except Exception:  # a store that cannot be read fails the run itself, not here
        log.exception("WebSub: cannot tell which events are new; nothing will be announced")
        yield
        return
    try:
        yield
    finally:
        publish_since(app, before)


def last_event_id(app: Flask) -> int:
    """Return the newest event's row id, to publish what a run adds after it."""
    with store_of(app).connect() as conn:
        return cf.last_event(conn)[0]


def publish_since(app: Flask, after_event_id: int) -> PublishReport:
    """Publish the feeds changed by every event stored after a row id (e.g. by the load just run)."""
    if not app.config["WEBSUB_HUBS"]:
        return PublishReport()
    try:
        with store_of(app).connect() as conn:
            events = cf.events_after(conn, after_event_id)
    except Exception:  # never fail the run over an announcement
        log.exception("WebSub: cannot read the new events; nothing announced")
        return PublishReport()
    return publish_changed_feeds(app, events)


def ping(client: httpx.Client, hub: str, url: str, retries: int, delay: float) -> str | None:
    """Send one publish ping, retrying what may pass later; return None on success, else why it failed."""
    why = "not sent"
    for attempt in range(max(retries, 0) + 1):
        if attempt:
            time.sleep(delay * 2 ** (attempt - 1))
        try:
            answer = client.post(hub, data={"hub.mode": "publish", "hub.url": url})
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            why = f"{type(exc).__name__}: {exc}"
            continue
        if answer.is_success:
            return None
        why = f"HTTP {answer.status_code}"
        if answer.status_code not in _RETRY_STATUS:
            break
    return why
