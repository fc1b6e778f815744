"""Events -> Atom 1.0 and RSS 2.0 documents (feedgen), with WebSub hubs and RFC 5005 archives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from .changetext import entry_title
from .events import Event
from .eventtext import xml_text
from .feedentry import EntryContext, categories, entry_html, entry_text, trial_url
from .trials import Trial

ATOM_NS = "http://www.w3.org/2005/Atom"
# RFC 5005 feed paging and archiving.
HISTORY_NS = "http://purl.org/syndication/history/1.0"

# Feed format (the URL's extension) -> media type.
FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml"}


@dataclass(frozen=True)
class Item:
    """One entry to post: the event and the trial as it was in the event's version."""

    event: Event
    trial: Trial | None


@dataclass(frozen=True)
class FeedDocument:
    """Everything about one feed document except its entries."""

    feed_id: str  # permanent; the same for a feed and its archives
    title: str
    description: str
    self_url: str
    html_url: str
    updated: dt.datetime  # timezone-aware
    hubs: tuple[str, ...] = ()
    current_url: str | None = None  # set on archive documents: their subscription document
    prev_archive: str | None = None
    next_archive: str | None = None

    @property
    def is_archive(self) -> bool:
        return self.current_url is not None

    def extra_links(self) -> list[tuple[str, str]]:
        """List the (rel, href) links feedgen does not write into RSS by itself."""
        links = [("hub", hub) for hub in self.hubs]
        for rel, href in (
            ("current", self.current_url),
            ("prev-archive", self.prev_archive),
            ("next-archive", self.next_archive),
        ):
            if href:
                links.append((rel, href))
        return links


def tag_uri(authority: str, specific: str) -> str:
    """Build a ``tag:`` URI (RFC 4151): ``authority`` is ``host,date``, e.g. ``example.org,2026``."""
    return f"tag:{authority}:{specific}"


def entry_id(authority: str, event: Event) -> str:
    """Return an event's permanent entry id, the same in Atom and RSS."""
    return tag_uri(authority, f"event:{event.event_id}")


def entry_updated(event: Event) -> dt.datetime:
    """Date an entry by the registry's last update of its version (midnight UTC), else detection."""
    if event.registry_last_update:
        try:
            day = dt.date.fromisoformat(event.registry_last_update)
        except ValueError:
            return event.detected_at
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return event.detected_at


@dataclass(frozen=True)
class Entry:
    """One entry written out: what goes into either format for one item."""

    guid: str
    title: str
    link: str
    published: dt.datetime
    updated: dt.datetime
    categories: tuple[tuple[str, str], ...]
    summary: str
    content: str


def write_entry(item: Item, ctx: EntryContext, authority: str) -> Entry:
    """Write one item's entry; it depends on the item, ``ctx`` and ``authority`` alone."""
    event, trial = item.event, item.trial
    return Entry(
        guid=entry_id(authority, event),
        title=entry_title(event, trial),
        link=trial_url(ctx.base_url, event.nct_id),
        published=event.detected_at,
        updated=entry_updated(event),
        categories=tuple(categories(event, trial)),
        summary=entry_text(event, trial),
        content=entry_html(event, trial, ctx),
    )


def render(fmt: str, doc: FeedDocument, entries: Sequence[Entry], ctx: EntryContext) -> bytes:
    """Write a feed document in ``atom`` or ``rss``; entries come newest first."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown feed format {fmt!r}")
    fg = _generator(fmt, doc, ctx)
    for entry in entries:
        _add_entry(fg, entry)
    out: bytes = fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)
    return out


def _generator(fmt: str, doc: FeedDocument, ctx: EntryContext) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension("history", _LinksAndHistory, atom=True, rss=True)
    fg.history.doc = doc
    fg.id(doc.feed_id)
    fg.title(xml_text(doc.title))
    fg.subtitle(xml_text(doc.description))  # also the RSS description
    fg.author(name="trialpub", uri=ctx.base_url)
    fg.generator("trialpub", uri=ctx.base_url)
    fg.language("en")
    fg.updated(doc.updated)  # also RSS lastBuildDate: the document must not depend on the clock
    fg.link(href=doc.self_url, rel="self", type=FORMATS[fmt])
    # Last, because feedgen makes the last link the RSS channel's link.
    fg.link(href=doc.html_url, rel="alternate", type="text/html")
    return fg


def _add_entry(fg: FeedGenerator, entry: Entry) -> None:
    fe = fg.add_entry(order="append")
    fe.guid(entry.guid, permalink=False)  # also the Atom id
    fe.title(entry.title)
    fe.link(href=entry.link, rel="alternate", type="text/html")
    fe.published(entry.published)
    fe.updated(entry.updated)
    for term, label in entry.categories:
        fe.category(term=term, label=label)
    fe.summary(entry.summary)
    fe.content(entry.content, type="html")


class _LinksAndHistory(BaseExtension):  # type: ignore[misc]
    """Add hub and archive links to both formats (feedgen writes only ``self`` into RSS), and fh:archive."""

    doc: FeedDocument | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS}

    def extend_atom(self, feed: Any) -> Any:
        # feedgen writes Atom elements unqualified under a default xmlns; so do we.
        self._extend(feed, "link")
        return feed

    def extend_rss(self, feed: Any) -> Any:
        self._extend(feed.find("channel"), f"{{{ATOM_NS}}}link")
        return feed

    def _extend(self, parent: Any, link_tag: str) -> None:
        assert self.doc is not None
        for rel, href in self.doc.extra_links():
            xml_elem(link_tag, parent, rel=rel, href=href)
        if self.doc.is_archive:
            xml_elem(f"{{{HISTORY_NS}}}archive", parent)
