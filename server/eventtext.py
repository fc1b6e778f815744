"""The words events are told in: statuses, phases, kinds and fields in plain English, XML-safe text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .explain import PHASE_LABELS, STATUS_LABELS, label
from .trials import Trial

# How the title of a status event starts, by the status the trial moved to.
STATUS_HEADLINES = {
    "RECRUITING": "Now recruiting",
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "ACTIVE_NOT_RECRUITING": "Recruitment closed",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "COMPLETED": "Completed",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "WITHDRAWN": "Withdrawn",
    "AVAILABLE": "Now available",
    "NO_LONGER_AVAILABLE": "No longer available",
    "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing",
    "WITHHELD": "Withheld",
    "UNKNOWN": "Status unknown",
}

# What each kind of event is called where it is named on its own (a category, a heading).
KIND_LABELS = {
    "new": "New trial",
    "status": "Status change",
    "site_status": "Site change",
    "results": "Results posted",
    "dates": "Dates changed",
    "enrollment": "Enrollment changed",
    "eligibility": "Eligibility criteria changed",
    "removed": "Removed from the registry",
    "updated": "Record updated",
}

# Characters XML 1.0 cannot carry at all; registry text has been seen with stray control codes.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_WORD_BREAK = re.compile(r"(?<=[a-z])(?=[A-Z])|_")


def xml_text(text: str) -> str:
    """Drop the characters XML cannot carry, so any registry text can go into a feed."""
    return _NOT_XML.sub("", text)


def status_word(status: str | None) -> str:
    """Say a registry status as a sentence would (``NOT_YET_RECRUITING`` -> ``not yet recruiting``)."""
    return label(status, STATUS_LABELS).lower() if status else "no status"


def phase_words(phases: tuple[str, ...]) -> str:
    """Say a trial's phases (``PHASE1 PHASE2`` -> ``Phase 1/Phase 2``)."""
    return "/".join(label(p, PHASE_LABELS) for p in phases)


def kind_label(kind: str) -> str:
    """Name a kind of event; an unknown kind is named by itself."""
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def summary_line(trial: Trial, limit: int = 240) -> str:
    """Return the first sentence of the brief summary, cut at a word near ``limit``."""
    text = " ".join((trial.brief_summary or "").split())
    if not text:
        return ""
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def describe(value: Any) -> str:
    """Write any JSON-ready value of a change as short plain text."""
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return status_word(value) if value in STATUS_LABELS else value
    if isinstance(value, Mapping):
        return "; ".join(f"{field_words(str(k))}: {describe(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(describe(v) for v in value)
    return str(value)


def field_words(name: str) -> str:
    """Turn a field name into words (``primaryCompletion``, ``design.primary_purpose`` -> ``primary purpose``)."""
    return _WORD_BREAK.sub(" ", name.rsplit(".", 1)[-1]).lower().strip()
