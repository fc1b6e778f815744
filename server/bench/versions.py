"""Check that a served trial document shows one stored version whole: the old one or the new one, never a mix.

Each trial watched during a load has two expected versions: the one the store holds before a
sync starts ("old") and the one the sync's snapshot brings ("new"; the same as old if the sync
leaves it alone). A JSON-LD or Turtle document must equal one of them exactly; an HTML page must
embed one version's description and show that same version's status in its own markup. When a
document matches neither, its parts (version hash, dateModified, status, enrollment, dates,
criteria, summary, sites) say which version each came from: that is a torn read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pyoxigraph as ox

# Parts of the trial node that sync changes touch; the version hash and dateModified sit on the page node.
TRIAL_PARTS = ("status", "tp:enrollment", "tp:primaryCompletionDate", "tp:eligibilityCriteria", "description",
               "tp:site")
PAGE_PARTS = ("version", "dateModified")
_SCRIPT = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)
_BADGE = re.compile(r'class="badge status status-([a-z_]+)"')


@dataclass(frozen=True)
class Expected:
    """One version of a trial as each format must show it."""

    label: str  # "old" or "new"
    jsonld_digest: str
    triples_digest: str
    parts: Mapping[str, str]
    badge: str  # the status class the HTML page carries


def expect(
    label: str, document: Mapping[str, Any], triples: Iterable[ox.Triple], overall_status: str | None
) -> Expected:
    """Describe what a version looks like in every format from its JSON-LD document and triples."""
    return Expected(
        label=label,
        jsonld_digest=_digest(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)),
        triples_digest=_triples_digest(triples),
        parts=json_parts(document),
        badge=(overall_status or "unknown").lower(),
    )


def json_parts(node: Mapping[str, Any]) -> dict[str, str]:
    """Return the parts of a trial node that a change can touch, each as canonical JSON."""
    parts = {key: _canon(node[key]) for key in TRIAL_PARTS if key in node}
    page = node.get("mainEntityOfPage")
    if isinstance(page, Mapping):
        parts.update({key: _canon(page[key]) for key in PAGE_PARTS if key in page})
    return parts


def check(kind: str, nct_id: str, body: bytes, versions: tuple[Expected, ...], base_url: str) -> tuple[str, Any]:
    """Say which version a served document shows: ("old" | "new", None) or ("torn", what disagrees)."""
    if kind == "html":
        return _check_html(nct_id, body, versions, base_url)
    if kind == "jsonld":
        document = orjson.loads(body)
        digest = _digest(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
        found = next((v.label for v in versions if v.jsonld_digest == digest), None)
        return (found, None) if found else ("torn", _which(json_parts(document), versions))
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=ox.RdfFormat.TURTLE)]
    digest = _triples_digest(triples)
    found = next((v.label for v in versions if v.triples_digest == digest), None)
    return (found, None) if found else ("torn", {"turtle": "matches no stored version", "triples": len(triples)})


def _check_html(nct_id: str, body: bytes, versions: tuple[Expected, ...], base_url: str) -> tuple[str, Any]:
    text = body.decode()
    badge = _BADGE.search(text)
    trial_id = f"{base_url}/trials/{nct_id}#trial"
    node: Mapping[str, Any] | None = None
    for script in _SCRIPT.findall(text):
        graph = json.loads(script).get("@graph", [])
        node = next((n for n in graph if isinstance(n, Mapping) and n.get("@id") == trial_id), node)
    if node is None or badge is None:
        return "torn", {"html": "no embedded trial description or no status badge"}
    # A page too heavy to embed the whole description embeds its core: compare the parts it has.
    parts = {**json_parts(node), "badge": badge.group(1)}
    for version in versions:
        expected = {**version.parts, "badge": version.badge}
        if "version" in parts and all(expected.get(key) == value for key, value in parts.items()):
            return version.label, None
    return "torn", _which(parts, versions)


def _which(parts: Mapping[str, str], versions: tuple[Expected, ...]) -> dict[str, str]:
    """Name, for each part, the versions it agrees with: the evidence of a torn read."""
    out = {}
    for key, value in parts.items():
        agree = [v.label for v in versions if {**v.parts, "badge": v.badge}.get(key) == value]
        out[key] = "+".join(agree) or "neither"
    return out


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _triples_digest(triples: Iterable[ox.Triple]) -> str:
    return _digest("\n".join(sorted(str(t) for t in triples)).encode())
