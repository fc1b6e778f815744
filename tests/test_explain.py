"""Plain words for registry codes: enrollment sizes, ages, the opening sentence."""

import json

import pytest

from server import explain
from server.trials import parse_trial

from .conftest import STUDIES


@pytest.mark.parametrize(
    ("count", "kind", "words"),
    [
        (18, "ESTIMATED", "a target of 18 participants — a small study"),
        (50, "ESTIMATED", "a target of 50 participants — a small study"),
        (51, "ACTUAL", "51 participants enrolled — a medium-sized study"),
        (300, "ACTUAL", "300 participants enrolled — a medium-sized study"),
        (1000, None, "a target of 1,000 participants — a large study"),
        (1001, "ACTUAL", "1,001 participants enrolled — a very large study"),
        (1, "ACTUAL", "1 participant enrolled — a small study"),
        (0, "ACTUAL", "no participants enrolled"),
        (None, None, None),
    ],
)
def test_enrollment_in_plain_words_with_documented_thresholds(count, kind, words):
    assert explain.enrollment_words(count, kind) == words


@pytest.mark.parametrize(
    ("minimum", "maximum", "words"),
    [
        ("18 Years", "75 Years", "18 years to 75 years"),
        ("18 Years", None, "18 years and older"),
        (None, "17 Years", "up to 17 years"),
        ("1 Month", None, "1 month and older"),
        (None, None, "any age"),
    ],
)
def test_age_range(minimum, maximum, words):
    assert explain.age_words(minimum, maximum) == words


def test_opening_sentence_from_a_real_record():
    trial = parse_trial(json.loads((STUDIES / "NCT04514484.json").read_text()))
    sentence = explain.opening_sentence(trial, "2026-03-09")
    assert sentence.startswith(f"{trial.brief_title} (NCT04514484) is a Phase 1 interventional study of ")
    assert sentence.endswith(
        "sponsored by National Cancer Institute (NCI); active, not recruiting as of the latest registry update (2026-03-09)."
    )


def test_every_status_and_phase_is_explained():
    assert set(explain.STATUS_MEANINGS) == set(explain.STATUS_LABELS)
    assert set(explain.PHASE_MEANINGS) == set(explain.PHASE_LABELS)
    assert explain.label("SOMETHING_NEW", explain.STATUS_LABELS) == "Something new"
