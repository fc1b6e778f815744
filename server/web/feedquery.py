"""A feed URL's query: filters, the reader's point and the archive window, checked and made canonical."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import quote, urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from ..changefeed import FeedFilter, Window
from ..events import KINDS
from ..explain import PHASE_LABELS, STATUS_LABELS
from ..trials import GeoPoint

# Letters first, then what country names hold: "Korea, Republic of", "Côte D'Ivoire".
_COUNTRY = re.compile(r"^[^\W\d_][\w .,'()&-]{0,79}$")
_WINDOW = re.compile(r"^(\d{1,12})-(\d{1,12})$")
_MAX_VALUES = 20


@dataclass(frozen=True)
class FeedQuery:
    """What a feed request asks for, beyond the path."""

    filter: FeedFilter
    near: GeoPoint | None = None
    archive: Window | None = None

    def canonical(self, with_archive: bool = True) -> str:
        """Write the query back in one canonical order, so equal requests share one self link."""
        f = self.filter
        pairs: list[tuple[str, str]] = []
        if f.kinds:
            pairs.append(("kind", ",".join(f.kinds)))
        if f.statuses:
            pairs.append(("status", ",".join(f.statuses)))
        pairs += [("country", c) for c in f.countries]
        if f.phases:
            pairs.append(("phase", ",".join(f.phases)))
        if self.near:
            pairs.append(("near", f"{self.near.lat:g},{self.near.lon:g}"))
        if with_archive and self.archive:
            pairs.append(("archive", str(self.archive)))
        return urlencode(pairs, safe=",", quote_via=quote)

    def at(self, window: Window | None) -> FeedQuery:
        """Return the same query for another archive window (None: the subscription document)."""
        return replace(self, archive=window)


def parse_feed_query(args: MultiDict[str, str], slug: str | None = None) -> FeedQuery:
    """Read ``kind``, ``status``, ``country``, ``phase``, ``near`` and ``archive``; raise BadRequest naming the bad one.

    ``kind``, ``status`` and ``phase`` take comma-separated values; ``country`` repeats instead,
    because country names hold commas. Other parameters are ignored.
    """
    kinds = _choices(args, "kind", {k: k for k in KINDS}, KINDS)
    statuses = _choices(args, "status", {s: s for s in STATUS_LABELS}, tuple(sorted(STATUS_LABELS)))
    phases = _choices(args, "phase", {p: p for p in PHASE_LABELS}, tuple(PHASE_LABELS))
    countries: list[str] = []
    for value in args.getlist("country"):
        text = " ".join(value.split())
        if not _COUNTRY.match(text):
            raise BadRequest(f"country must be a country name as the registry spells it, not {value[:40]!r}")
        if text.casefold() not in (c.casefold() for c in countries):
            countries.append(text)
    if len(countries) > _MAX_VALUES:
        raise BadRequest(f"at most {_MAX_VALUES} countries, please")
    filters = FeedFilter(slug, kinds, statuses, tuple(sorted(countries, key=str.casefold)), phases)
    return FeedQuery(filters, _near(args.get("near")), _archive(args.get("archive")))


def _choices(args: MultiDict[str, str], name: str, allowed: dict[str, str], order: tuple[str, ...]) -> tuple[str, ...]:
    chosen: set[str] = set()
    for value in args.getlist(name):
        for part in value.split(","):
            word = part.strip()
            if not word:
                continue
            key = word.lower() if name == "kind" else word.upper()
            if key not in allowed:
                raise BadRequest(f"{name} must be one of {', '.join(order)}; {word[:40]!r} is not")
            chosen.add(allowed[key])
    return tuple(v for v in order if v in chosen)


def _near(text: str | None) -> GeoPoint | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        lat, lon = (float(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        lat = lon = None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequest(f"near must be latitude,longitude in degrees, e.g. 48.85,2.35, not {text[:40]!r}")
    return GeoPoint(lat, lon)


def _archive(text: str | None) -> Window | None:
    if text is None:
        return None
    match = _WINDOW.match(text)
    if not match or int(match.group(1)) > int(match.group(2)):
        raise BadRequest(f"archive must be a range of event numbers like 1-50, not {text[:40]!r}")
    return Window(int(match.group(1)), int(match.group(2)))
