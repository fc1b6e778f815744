"""Registry values as JSON-LD values that every RDF format can carry unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from .dates import PartialDate

# Characters XML 1.0 cannot hold: RDF/XML could not carry them, so no format does.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_HTTP_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_PRECISION_TYPES = {"day": "xsd:date", "month": "xsd:gYearMonth", "year": "xsd:gYear"}


def text(value: str | None) -> str | None:
    """Return registry text fit for every RDF format, or None when nothing is left."""
    if value is None:
        return None
    cleaned = _NOT_XML.sub("", value).strip()
    return cleaned or None


def iri(value: str | None) -> str | None:
    """Return a link from the registry if it is an http(s) IRI, else None (a broken link is dropped)."""
    value = value.strip() if value else None
    if not value or not _HTTP_IRI.match(value):
        return None
    try:
        ox.NamedNode(value)  # the full IRI grammar: percent escapes, one fragment, a valid host
    except ValueError:
        return None
    return value


def date(value: PartialDate | None) -> dict[str, str] | None:
    """Return a date typed at its own precision: xsd:date, xsd:gYearMonth or xsd:gYear."""
    if value is None:
        return None
    return {"@value": value.isoformat(), "@type": _PRECISION_TYPES[value.precision]}


def decimal(number: float) -> dict[str, str]:
    """Return a number as an xsd:decimal, written the same way by every JSON-LD processor.

    A JSON number with a fraction becomes an xsd:double whose canonical form processors write
    differently ("45.1" or "4.51E1"), so coordinates go out as typed strings.
    """
    written = repr(float(number))
    if "e" in written or "E" in written:
        written = f"{number:.12f}".rstrip("0")
    if written.endswith("."):
        written += "0"
    return {"@value": written, "@type": "xsd:decimal"}


def distinct(values: Iterable[str | None], exclude: str | None = None) -> list[str]:
    """Return the texts once each (ignoring case), in order, leaving out ``exclude``."""
    seen = {exclude.casefold()} if exclude else set()
    out = []
    for value in values:
        cleaned = text(value)
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            out.append(cleaned)
    return out


def compact(value: Any) -> Any:
    """Drop empty values (None, empty text, lists and objects) at every depth."""
    if isinstance(value, dict):
        pairs = ((k, compact(v)) for k, v in value.items())
        kept = {k: v for k, v in pairs if not _empty(v)}
        # A typed node left with nothing but its type and IRI says nothing; a bare {"@id"} is a link.
        return None if "@type" in kept and set(kept) <= {"@id", "@type"} else kept or None
    if isinstance(value, list):
        return [v for v in (compact(v) for v in value) if not _empty(v)]
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)
