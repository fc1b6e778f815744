"""Splitting criteria text into inclusion and exclusion items, on real records and on the shapes they take."""

import json
import re

import pytest

from server.eligibility import EXCLUSION, GENERAL, INCLUSION, split_criteria, unescape

from .conftest import STUDIES


def criteria_of(nct_id: str) -> str:
    record = json.loads((STUDIES / f"{nct_id}.json").read_text())
    return record["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]


def real_criteria() -> list[tuple[str, str]]:
    found = []
    for path in sorted(STUDIES.glob("NCT*.json")):
        module = json.loads(path.read_text())["protocolSection"].get("eligibilityModule", {})
        if module.get("eligibilityCriteria"):
            found.append((path.stem, module["eligibilityCriteria"]))
    return found


REAL = real_criteria()
WORD = re.compile(r"[^\W_]+")


def test_there_are_enough_real_records():
    assert len(REAL) >= 100


@pytest.mark.parametrize(("nct_id", "text"), REAL, ids=[n for n, _ in REAL])
def test_split_keeps_every_word_of_every_real_record(nct_id, text):
    criteria = split_criteria(text)
    items = criteria.all()
    assert items, f"{nct_id}: no criterion found"
    assert all(item.text.strip() for item in items)
    kept = " ".join(
        [c.text for c in items] + [s.heading or "" for s in criteria.sections] + list(criteria.notes)
    )
    # Only list markers, blank lines, empty headings and Markdown escapes may go; no word of the text.
    original_words = WORD.findall(unescape(text).lower())
    kept_words = set(WORD.findall(kept.lower()))
    lost = [w for w in original_words if w not in kept_words and not re.fullmatch(r"\d{1,3}|[a-z]|[ivx]+|[①-⑳]", w)]
    dropped_headings = {"key", "inclusion", "exclusion", "criteria"}
    assert set(lost) <= dropped_headings, f"{nct_id} lost {sorted(set(lost))[:10]}"


# Counted by hand from the records' text: (inclusion, exclusion, general, nested items).
HAND_COUNTED = {
    "NCT05980455": (10, 12, 0, 0),  # lead-in sentences instead of headings, numbered items
    "NCT04974970": (4, 17, 0, 1),  # "a." nested under item 3 of the inclusion list
    "NCT06362252": (11, 24, 0, 5),  # lead-ins under headings; 3 + 2 numbered sub-items
    "NCT05823506": (3, 5, 0, 0),  # "Inclusion Criteria:• Age 20 to 45;" heading and item on one line
    "NCT00663728": (2, 2, 0, 0),  # the whole text flattened to one line
    "NCT06028984": (8, 15, 0, 0),  # bullets
    "NCT04047862": (10, 13, 0, 1),  # "Phase 1 Key Inclusion Criteria" / "Phase 1b Key ..." sub-headings
    "NCT00001909": (0, 0, 25, 11),  # no headings: paragraphs, 11 drugs listed under a colon
}


@pytest.mark.parametrize("nct_id", sorted(HAND_COUNTED))
def test_counts_match_a_reading_by_hand(nct_id):
    criteria = split_criteria(criteria_of(nct_id))
    nested = sum(len(item.walk()) - 1 for s in criteria.sections for item in s.items)
    assert (len(criteria.inclusion), len(criteria.exclusion), len(criteria.general), nested) == HAND_COUNTED[nct_id]


@pytest.mark.parametrize(
    "heading",
    [
        "Inclusion Criteria:",
        "INCLUSION CRITERIA",
        "inclusion criteria :",
        "Inclusion criteria",
        "Key Inclusion Criteria:",
        "**Inclusion Criteria:**",
        "Inclusion:",
        "Patient Inclusion Criteria:",
        "Inclusion Criteria for the Study",
        "Participants are eligible to be included in the study only if all of the following criteria apply:",
    ],
)
def test_inclusion_headings_in_their_real_spellings(heading):
    criteria = split_criteria(f"{heading}\n\n* Adults\n* Asthma")
    assert [s.kind for s in criteria.sections] == [INCLUSION]
    assert [c.text for c in criteria.inclusion] == ["Adults", "Asthma"]


@pytest.mark.parametrize(
    "heading",
    [
        "Exclusion Criteria:",
        "EXCLUSION CRITERIA",
        "Exclusion criteria.",
        "Key Exclusion Criteria:",
        "Excluded:",
        "Participants who meet any of the following criteria will be disqualified from entering the study:",
        "Individuals who meet any of these criteria are not eligible for enrollment as study participants:",
        "The main exclusion criteria include but are not limited to the following:",
    ],
)
def test_exclusion_headings_in_their_real_spellings(heading):
    criteria = split_criteria(f"Inclusion Criteria:\n\n* Adults\n\n{heading}\n\n1. Pregnancy\n2. Smoking")
    assert [c.text for c in criteria.exclusion] == ["Pregnancy", "Smoking"]
    assert [c.text for c in criteria.inclusion] == ["Adults"]


def test_nested_items_by_indent_and_by_colon():
    text = (
        "Inclusion Criteria:\n\n"
        "1. Adequate organ function:\n"
        "   * ANC ≥ 1.5 × 10^9/L\n"
        "   * Platelets ≥ 100 × 10^9/L\n"
        "2. One of the following:\n"
        "a. prior surgery\n"
        "b. prior radiotherapy\n"
        "3. Consent\n"
        "   continued on a second line\n"
    )
    criteria = split_criteria(text)
    first, second, third = criteria.inclusion
    assert [c.text for c in first.children] == ["ANC ≥ 1.5 × 10^9/L", "Platelets ≥ 100 × 10^9/L"]
    assert [c.text for c in second.children] == ["prior surgery", "prior radiotherapy"]
    assert third.text == "Consent continued on a second line" and not third.children


def test_markers_of_every_kind():
    text = "\n".join(["1.Aged 18 to 75", "2) Male", "- Smoker", "• Asthma", "(4) Diabetes", "① Consent", "-Fluent"])
    assert [c.text for c in split_criteria(text).general] == [
        "Aged 18 to 75", "Male", "Smoker", "Asthma", "Diabetes", "Consent", "Fluent",
    ]


def test_numbers_are_not_taken_for_markers():
    criteria = split_criteria("Inclusion Criteria:\n\n1.5 mg/dL or less\n-5 days is not a bullet")
    assert [c.text for c in criteria.inclusion] == ["1.5 mg/dL or less", "-5 days is not a bullet"]


def test_text_without_headings_is_general_and_escapes_are_undone():
    criteria = split_criteria("Age \\>= 18\n\nNo HIV \\[type 1\\]")
    assert [s.kind for s in criteria.sections] == [GENERAL]
    assert [c.text for c in criteria.general] == ["Age >= 18", "No HIV [type 1]"]


def test_protocol_notes_are_not_criteria():
    criteria = split_criteria(
        "Inclusion Criteria:\n* Adults\n\nExclusion Criteria:\n* Smokers\n\n"
        "NOTE: Other protocol-defined Inclusion/Exclusion criteria may apply."
    )
    assert criteria.notes == ("NOTE: Other protocol-defined Inclusion/Exclusion criteria may apply.",)
    assert [c.text for c in criteria.exclusion] == ["Smokers"]


def test_empty_and_odd_text_gives_no_criteria_and_no_error():
    for text in ["", "\n\n", "Inclusion Criteria:", "* \n-\n1.", "<!-- -->"]:
        criteria = split_criteria(text)
        assert all(c.text for c in criteria.all())
    assert EXCLUSION not in [s.kind for s in split_criteria("Inclusion Criteria:\n* x").sections]
