"""What one event changed, told per kind: lines a reader can scan, and the entry's title."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from .events import Event
from .eventtext import STATUS_HEADLINES, describe, field_words, kind_label, status_word, xml_text
from .trials import Trial

# A change this short fits in a title ("— 40 → 72").
_SHORT = 60
# Criteria lines shown for an eligibility change, each way, and how long each may be.
_CRITERIA_LINES = 5
_CRITERIA_LINE = 200


def entry_title(event: Event, trial: Trial | None) -> str:
    """Write an entry's title: what happened, to which trial, and what it was before."""
    title = trial.brief_title if trial else event.detail.get("title") or event.nct_id
    name = f"{title} ({event.nct_id})"
    if event.kind == "status":
        headline = STATUS_HEADLINES.get(str(event.new), f"Now {status_word(_text(event.new))}")
        return xml_text(f"{headline}: {name} — was {status_word(_text(event.old))}")
    short = short_change(event)
    return xml_text(f"{kind_label(event.kind)}: {name}" + (f" — {short}" if short else ""))


def short_change(event: Event) -> str | None:
    """Say the change in a few words for a title, or None when it does not fit in a few."""
    if event.kind == "new":
        return status_word(_text(event.new))
    if event.kind == "removed":
        return f"was {status_word(_text(event.old))}" if event.old else None
    if event.kind == "site_status":
        sites = _sites(event)
        return _site_line(sites[0], short=True) if len(sites) == 1 else _site_counts(sites) if sites else None
    if event.kind in ("results", "eligibility"):
        return None
    if event.kind == "dates":
        return _short_dates(event)
    if event.kind == "updated":
        short = ", ".join(field_words(str(f)) for f in _fields(event))
    else:
        lines = change_lines(event)
        short = lines[0] if len(lines) == 1 else ""
    return short if short and len(short) <= _SHORT else None


def change_lines(event: Event) -> list[str]:
    """Say what changed, a line per thing: old → new, what was added or removed."""
    tell = _TELLERS.get(event.kind, _values)
    return [xml_text(line) for line in tell(event)] or [f"{kind_label(event.kind)}."]


def told_detail(event: Event) -> set[str]:
    """Name the detail keys change_lines already tells, so a body does not repeat them."""
    return {"new": {"title"}, "removed": {"title"}, "site_status": {"sites"}}.get(event.kind, set()) | (
        {"fields"} if event.kind in ("dates", "updated") else set()
    )


def _status(event: Event) -> list[str]:
    return [f"{status_word(_text(event.old))} → {status_word(_text(event.new))}"]


def _new(event: Event) -> list[str]:
    return [f"First seen in the registry, {status_word(_text(event.new))}."]


def _removed(event: Event) -> list[str]:
    last = f"; its last status was {status_word(_text(event.old))}" if event.old else ""
    return [f"No longer in the registry{last}."]


def _results(event: Event) -> list[str]:
    return [f"Results first posted {event.new}." if event.new else "Results posted."]


def _site_status(event: Event) -> list[str]:
    return [_site_line(site) for site in _sites(event)]


def _site_line(site: Mapping[str, Any], short: bool = False) -> str:
    parts = (site.get("facility"),) if short and site.get("facility") else (
        site.get("facility"), site.get("city"), site.get("state"), site.get("country")
    )
    place = ", ".join(str(p) for p in parts if p) or "a site"
    change, old, new = site.get("change"), _text(site.get("old")), _text(site.get("new"))
    if change == "added":
        return f"{place} added" + (f", {status_word(new)}" if new else "")
    if change == "removed":
        return f"{place} no longer listed"
    return f"{place} now {status_word(new)}" if short else f"{place}: {status_word(old)} → {status_word(new)}"


def _site_counts(sites: list[Mapping[str, Any]]) -> str:
    """Count what happened to several sites: ``3 sites: 2 added, 1 now recruiting``, ``2 sites added``."""
    counts: Counter[str] = Counter()
    for site in sites:
        change = site.get("change")
        counts["added" if change == "added" else "no longer listed" if change == "removed"
               else f"now {status_word(_text(site.get('new')))}"] += 1
    if len(counts) == 1:
        return f"{len(sites)} sites {next(iter(counts))}"
    return f"{len(sites)} sites: " + ", ".join(f"{n} {what}" for what, n in counts.most_common())


def _dates(event: Event) -> list[str]:
    old, new = event.old if isinstance(event.old, Mapping) else {}, event.new if isinstance(event.new, Mapping) else {}
    names = [str(f) for f in _fields(event)] or sorted(set(old) | set(new))
    return [f"{field_words(name)}: {_date(old.get(name))} → {_date(new.get(name))}" for name in names]


def _short_dates(event: Event) -> str | None:
    old, new = event.old if isinstance(event.old, Mapping) else {}, event.new if isinstance(event.new, Mapping) else {}
    names = [str(f) for f in _fields(event)]
    if len(names) != 1:
        return ", ".join(field_words(n) for n in names) or None
    before, after = old.get(names[0]) or {}, new.get(names[0]) or {}
    if before.get("date") and before.get("date") == after.get("date"):
        return f"{field_words(names[0])} {after['date']} now {str(after.get('type')).lower()}"
    return f"{field_words(names[0])} {before.get('date') or 'none'} → {after.get('date') or 'none'}"


def _date(value: Any) -> str:
    if not isinstance(value, Mapping) or not value.get("date"):
        return "none"
    kind = value.get("type")
    return f"{value['date']}" + (f" ({str(kind).lower()})" if kind else "")


def _enrollment(event: Event) -> list[str]:
    return [f"{_count(event.old)} → {_count(event.new)}"]


def _count(value: Any) -> str:
    if not isinstance(value, Mapping):
        return describe(value)
    count, kind = value.get("count"), value.get("type")
    return ("unknown" if count is None else f"{count}") + (f" ({str(kind).lower()})" if kind else "")


def _eligibility(event: Event) -> list[str]:
    old, new = _criteria(event.old), _criteria(event.new)
    removed, added = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            removed += old[i1:i2]
        if op in ("replace", "insert"):
            added += new[j1:j2]
    lines = [f"Added: {_clip(line)}" for line in added[:_CRITERIA_LINES]]
    lines += [f"Removed: {_clip(line)}" for line in removed[:_CRITERIA_LINES]]
    hidden = max(len(added) - _CRITERIA_LINES, 0) + max(len(removed) - _CRITERIA_LINES, 0)
    if hidden:
        lines.append(f"…and {hidden} more changed lines.")
    return lines or ["The criteria were reworded."]


def _criteria(text: Any) -> list[str]:
    lines = (" ".join(line.split()).lstrip("*-• ").strip() for line in str(text or "").splitlines())
    return [line for line in lines if line]


def _clip(line: str) -> str:
    return line if len(line) <= _CRITERIA_LINE else line[:_CRITERIA_LINE].rsplit(" ", 1)[0] + "…"


def _updated(event: Event) -> list[str]:
    fields = ", ".join(field_words(str(f)) for f in _fields(event))
    return [f"Changed: {fields}."] if fields else []


def _values(event: Event) -> list[str]:
    if event.old is None and event.new is None:
        return _updated(event)
    return [f"{describe(event.old)} → {describe(event.new)}"]


def _sites(event: Event) -> list[Mapping[str, Any]]:
    sites = event.detail.get("sites")
    return [s for s in sites if isinstance(s, Mapping)] if isinstance(sites, list) else []


def _fields(event: Event) -> list[Any]:
    fields = event.detail.get("fields")
    return list(fields) if isinstance(fields, list | tuple) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None if value is None else str(value)


_TELLERS: dict[str, Callable[[Event], list[str]]] = {
    "new": _new,
    "status": _status,
    "site_status": _site_status,
    "results": _results,
    "dates": _dates,
    "enrollment": _enrollment,
    "eligibility": _eligibility,
    "removed": _removed,
    "updated": _updated,
}
