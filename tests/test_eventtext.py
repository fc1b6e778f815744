import dataclasses
import datetime as dt

import pytest

from server.events import KINDS, Event
from server.eventtext import (
    STATUS_HEADLINES,
    STATUS_WORDS,
    entry_title,
    phase_words,
    status_word,
    summary_line,
    xml_text,
)
from server.trials import parse_trial

from .history import history

NCT = "NCT06821503"


@pytest.fixture(scope="module")
def trial():
    return parse_trial(history()[NCT][-1])


def event(kind, old=None, new=None, **detail):
    return Event(
        event_id="e" * 32, nct_id=NCT, kind=kind, old=old, new=new, detail=detail, version_id=1,
        registry_last_update="2026-03-10", detected_at=dt.datetime(2026, 3, 11, tzinfo=dt.UTC),
    )


def test_status_title_says_what_happened_and_what_it_was(trial):
    title = entry_title(event("status", "NOT_YET_RECRUITING", "RECRUITING"), trial)
    assert title == f"Now recruiting: {trial.brief_title} ({NCT}) — was not yet recruiting"


# One plausible event of every kind, and words its title must carry.
EXAMPLES = {
    "new": (event("new", None, "RECRUITING"), "New trial", "recruiting"),
    "status": (event("status", "RECRUITING", "SUSPENDED"), "Suspended", "was recruiting"),
    "site_status": (event("site_status", "NOT_YET_RECRUITING", "RECRUITING", facility="Beijing Cancer Hospital"), "Site change", "recruiting"),
    "results": (event("results", None, None), "Results posted", NCT),
    "dates": (event("dates", "2026-06", "2027-01", field="primaryCompletion"), "Dates changed", "2026-06 → 2027-01"),
    "enrollment": (event("enrollment", 40, 72), "Enrollment changed", "40 → 72"),
    "eligibility": (event("eligibility", None, None), "Eligibility criteria changed", NCT),
    "removed": (event("removed", None, None), "Removed from the registry", NCT),
    "updated": (event("updated", fields=["contactsLocationsModule", "armsInterventionsModule"]), "Record updated", "contacts locations module, arms interventions module"),
}


def test_every_kind_has_its_own_title(trial):
    assert set(EXAMPLES) == set(KINDS)
    titles = set()
    for kind, (ev, starts, says) in EXAMPLES.items():
        title = entry_title(ev, trial)
        assert title.startswith(f"{starts}: {trial.brief_title} ({NCT})"), kind
        assert says in title, kind
        titles.add(title)
    assert len(titles) == len(KINDS)


def test_title_without_the_trial_names_the_nct_id():
    assert entry_title(event("removed"), None) == f"Removed from the registry: {NCT} ({NCT})"


def test_every_status_has_words_and_a_headline():
    assert set(STATUS_HEADLINES) == set(STATUS_WORDS)
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
