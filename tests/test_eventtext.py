import dataclasses
import datetime as dt

import pytest

from server.changetext import change_lines, entry_title
from server.events import KINDS, Event
from server.eventtext import (
    STATUS_HEADLINES,
    phase_words,
    status_word,
    summary_line,
    xml_text,
)
from server.explain import STATUS_LABELS
from server.trials import parse_trial

from .fake_registry import read, version_files

NCT = "NCT06821503"


@pytest.fixture(scope="module")
def trial():
    return parse_trial(read(version_files(NCT)[-1]))


def event(kind, old=None, new=None, **detail):
    return Event(
        event_id="e" * 32, nct_id=NCT, kind=kind, old=old, new=new, detail=detail, version_id=1,
        registry_last_update="2026-03-10", detected_at=dt.datetime(2026, 3, 11, tzinfo=dt.UTC),
    )


def test_status_title_says_what_happened_and_what_it_was(trial):
    title = entry_title(event("status", "NOT_YET_RECRUITING", "RECRUITING"), trial)
    assert title == f"Now recruiting: {trial.brief_title} ({NCT}) — was not yet recruiting"


SITE = {"facility": "Beijing Cancer Hospital", "city": "Beijing", "state": None, "country": "China"}
OLD_CRITERIA = "Inclusion Criteria:\n\n* Age 18 or over\n* ECOG 0-1\n\nExclusion Criteria:\n\n* Pregnancy"
NEW_CRITERIA = "Inclusion Criteria:\n\n* Age 18 or over\n* ECOG 0-2\n\nExclusion Criteria:\n\n* Pregnancy"

# One event of every kind, shaped as server/events.py documents, with what its title and lines say.
EXAMPLES = {
    "new": (event("new", None, "RECRUITING", title="T"), "New trial", "recruiting", ["First seen in the registry, recruiting."]),
    "status": (event("status", "RECRUITING", "SUSPENDED", why_stopped="Funding"), "Suspended", "was recruiting", ["recruiting → suspended"]),
    "site_status": (
        event("site_status", sites=[{**SITE, "change": "status", "old": "NOT_YET_RECRUITING", "new": "RECRUITING"}]),
        "Site change", "Beijing Cancer Hospital now recruiting",
        ["Beijing Cancer Hospital, Beijing, China: not yet recruiting → recruiting"],
    ),
    "results": (event("results", None, "2026-03-01"), "Results posted", NCT, ["Results first posted 2026-03-01."]),
    "dates": (
        event("dates", {"primary_completion": {"date": "2026-06", "type": "ESTIMATED"}},
              {"primary_completion": {"date": "2027-01", "type": "ESTIMATED"}}, fields=["primary_completion"]),
        "Dates changed", "— primary completion 2026-06 → 2027-01",
        ["primary completion: 2026-06 (estimated) → 2027-01 (estimated)"],
    ),
    "enrollment": (
        event("enrollment", {"count": 40, "type": "ESTIMATED"}, {"count": 72, "type": "ACTUAL"}),
        "Enrollment changed", "40 (estimated) → 72 (actual)", ["40 (estimated) → 72 (actual)"],
    ),
    "eligibility": (event("eligibility", OLD_CRITERIA, NEW_CRITERIA), "Eligibility criteria changed", NCT, ["Added: ECOG 0-2", "Removed: ECOG 0-1"]),
    "removed": (event("removed", "RECRUITING", None, title="T"), "Removed from the registry", "was recruiting", ["No longer in the registry; its last status was recruiting."]),
    "updated": (event("updated", fields=["conditions", "design.primary_purpose"]), "Record updated", "conditions, primary purpose", ["Changed: conditions, primary purpose."]),
}


def test_every_kind_has_its_own_title(trial):
    assert set(EXAMPLES) == set(KINDS)
    titles = set()
    for kind, (ev, starts, says, lines) in EXAMPLES.items():
        title = entry_title(ev, trial)
        assert title.startswith(f"{starts}: {trial.brief_title} ({NCT})"), kind
        assert says in title, kind
        assert change_lines(ev) == lines, kind
        titles.add(title)
    assert len(titles) == len(KINDS)


def test_title_without_the_trial_names_what_the_event_knows():
    assert entry_title(event("results"), None) == f"Results posted: {NCT} ({NCT})"
    assert entry_title(event("removed", "COMPLETED", None, title="A study"), None) == (
        f"Removed from the registry: A study ({NCT}) — was completed"
    )


def test_many_changes_are_counted_in_the_title_and_listed_in_lines(trial):
    sites = [
        {**SITE, "change": "added", "old": None, "new": "RECRUITING"},
        {**SITE, "facility": "Harbin Hospital", "city": "Harbin", "change": "removed", "old": "RECRUITING", "new": None},
    ]
    ev = event("site_status", sites=sites)
    assert entry_title(ev, trial).endswith("— 2 sites: 1 added, 1 no longer listed")
    assert change_lines(ev) == ["Beijing Cancer Hospital, Beijing, China added, recruiting", "Harbin Hospital, Harbin, China no longer listed"]
    opened = event("site_status", sites=[{**SITE, "change": "status", "old": None, "new": "RECRUITING"}] * 3)
    assert entry_title(opened, trial).endswith("— 3 sites now recruiting")
    many = "\n".join(f"* criterion {n}" for n in range(12))
    lines = change_lines(event("eligibility", None, many))
    assert lines[:5] == [f"Added: criterion {n}" for n in range(5)] and lines[-1] == "…and 7 more changed lines."
    assert change_lines(event("eligibility", "* a\n* b", "*  a\n\n* b")) == ["The criteria were reworded."]
    actual = event("dates", {"start": {"date": "2025-09", "type": "ESTIMATED"}}, {"start": {"date": "2025-09", "type": "ACTUAL"}}, fields=["start"])
    assert entry_title(actual, trial).endswith("— start 2025-09 now actual")


def test_every_status_has_words_and_a_headline():
    assert set(STATUS_HEADLINES) == set(STATUS_LABELS)
    assert status_word("ACTIVE_NOT_RECRUITING") == "active, not recruiting"
    assert status_word("SOMETHING_NEW") == "something new"
    assert phase_words(("PHASE1", "PHASE2")) == "Phase 1/Phase 2"


def test_summary_line_is_the_first_sentence_cut_at_a_word(trial):
    line = summary_line(trial)
    assert trial.brief_summary.startswith(line.rstrip("…")[:50]) and line.endswith(".")
    long = dataclasses.replace(trial, brief_summary="word " * 100)
    cut = summary_line(long, limit=40)
    assert cut.endswith("…") and len(cut) <= 41 and not cut[:-1].endswith(" ")


def test_xml_text_drops_what_xml_cannot_carry():
    assert xml_text("a\x00b\x0bc\x1fd\te\nf") == "abcd\te\nf"
