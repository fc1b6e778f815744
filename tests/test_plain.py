"""Plain-English criteria: plainer by measure, with every number, unit and threshold kept."""

import functools
import json
import re
import statistics
from collections import Counter

import pytest
import textstat

from server.eligibility import split_criteria
from server.glossary import load_glossary, parse_glossary
from server.plain import Plain, plain_english

from .conftest import STUDIES

GLOSSARY = load_glossary()
# The readability the plain wording reaches on the real records, measured as below; a change
# that makes the wording harder to read than this fails.
MIN_MEDIAN_GRADE_DROP = 3.3


def all_criteria() -> list[str]:
    texts = []
    for path in sorted(STUDIES.glob("NCT*.json")):
        module = json.loads(path.read_text())["protocolSection"].get("eligibilityModule", {})
        texts += [c.text for c in split_criteria(module.get("eligibilityCriteria") or "").all()]
    return texts


CRITERIA = all_criteria()

NUMBER = re.compile(r"(?<![A-Za-z0-9.])(?<![A-Za-z]-)\d+(?:[.,]\d+)*")
UNITS = (
    r"%|mg/dL|mg/dl|g/dL|g/dl|g/L|mg/L|µmol/L|μmol/L|umol/L|mmol/L|mmol/mol|mEq/L|IU/L|U/L|IU/mL|mIU/mL|ng/mL|pg/mL"
    r"|mL/min(?:/1\.73\s?m2|/1\.73\s?m²)?|ml/min(?:/1\.73\s?m2)?|kg/m2|kg/m²|cells/mm3|cells/μL|cells/µL|/mm3|/μL|/µL"
    r"|mmHg|mm Hg|msec|ms|bpm|mg|kg|g|mL|ml|L|mm|cm|years?|months?|weeks?|days?|hours?|minutes?|Gy"
)
QUANTITY = re.compile(rf"(?<![A-Za-z0-9.])(\d+(?:[.,]\d+)*)\s?({UNITS})(?![A-Za-z])")
# Each comparison, written as a sign or in words, and the words the plain rendering must use.
COMPARISON = re.compile(
    r"(greater than or equal to|more than or equal to|less than or equal to|equal to or (?:greater|more) than"
    r"|equal to or less than|at least|at most|more than|greater than"
    r"|less than|≥|>=|=>|⩾|≧|≤|<=|=<|⩽|≦|>|<|＞|＜)[\s()]*(\d+(?:[.,]\d+)*)",
    re.IGNORECASE,
)
WORDS_FOR = {
    "≥": "at least", ">=": "at least", "=>": "at least", "⩾": "at least", "≧": "at least",
    "greater than or equal to": "at least", "more than or equal to": "at least",
    "≤": "at most", "<=": "at most", "=<": "at most", "⩽": "at most", "≦": "at most",
    "less than or equal to": "at most", "equal to or less than": "at most",
    "equal to or greater than": "at least", "equal to or more than": "at least",
    ">": "more than", "＞": "more than", "<": "less than", "＜": "less than",
}


def comparisons(text: str) -> Counter:
    return Counter((WORDS_FOR.get(sign.lower(), sign.lower()), number) for sign, number in COMPARISON.findall(text))


@functools.cache
def plain_of(text: str) -> Plain:
    return plain_english(text, GLOSSARY)


def rendered(text: str) -> str:
    plain = plain_of(text)
    return " ".join([plain.text, *plain.notes])


def test_the_real_criteria_are_many():
    assert len(CRITERIA) > 5000


def test_every_number_unit_and_threshold_is_kept_in_every_real_criterion():
    problems = []
    for text in CRITERIA:
        out = rendered(text)
        for name, find in (("number", NUMBER.findall), ("quantity", QUANTITY.findall), ("comparison", comparisons)):
            missing = Counter(find(text)) - Counter(find(out))
            if missing:
                problems.append(f"{name} {dict(missing)} lost from {text[:120]!r} -> {out[:120]!r}")
    assert not problems, "\n".join(problems[:20])


def test_the_plain_wording_reads_several_grades_easier(capsys):
    drops, before, after = [], [], []
    for text in CRITERIA:
        grade, plain_grade = textstat.flesch_kincaid_grade(text), textstat.flesch_kincaid_grade(rendered_text(text))
        before.append(grade)
        after.append(plain_grade)
        drops.append(grade - plain_grade)
    median_drop = statistics.median(drops)
    with capsys.disabled():
        print(
            f"\nplain criteria readability over {len(drops)} real criteria: median Flesch-Kincaid grade drop "
            f"{median_drop:.2f} (median grade {statistics.median(before):.1f} -> {statistics.median(after):.1f}; "
            f"{sum(d >= 4 for d in drops) / len(drops):.0%} drop 4 grades or more; difference of the medians "
            f"{statistics.median(before) - statistics.median(after):.2f})"
        )
    assert median_drop >= MIN_MEDIAN_GRADE_DROP


def rendered_text(text: str) -> str:
    return plain_of(text).text


@pytest.mark.parametrize(
    ("original", "plain"),
    [
        ("Age ≥ 18 years", "Age at least 18 years."),
        ("Total bilirubin ≤1.5×ULN", "Total bilirubin at most 1.5 times the upper limit of normal."),
        ("Creatinine clearance > 60 mL/min", "Kidney clearance more than 60 mL/min."),
        ("CrCl >= 50 mL/min", "Kidney clearance at least 50 mL/min."),
        ("Positive HBsAg", "Positive hepatitis B surface antigen."),
        ("ANC ≥ 1.5 x 10^9/L", "Neutrophil count at least 1.5 x 10^9/L."),
        ("History of myocardial infarction", "Has had heart attack."),
        ("Pregnant or lactating women; or women planning pregnancy", "Pregnant or breastfeeding women. Or women planning pregnancy."),
        ("Eastern Cooperative Oncology Group (ECOG) performance status of 0 or 1", "ECOG activity score of 0 or 1."),
        ("Hemoglobin less than or equal to (<=) 9 g/dL", "Hemoglobin at most 9 g/dL."),
    ],
)
def test_plain_renderings(original, plain):
    assert plain_english(original, GLOSSARY).text == plain


def test_abbreviations_are_explained_and_asides_become_notes():
    plain = plain_english(
        "ECOG performance status ≤ 1 (assessed by the investigator) and ALT ≤ 3 × ULN", GLOSSARY
    )
    assert plain.text == "ECOG activity score at most 1 and ALT at most 3 times the upper limit of normal."
    assert plain.notes == ("Assessed by the study doctor.",)
    assert [short for short, _ in plain.terms] == ["ECOG", "ALT", "ULN"]
    assert all(meaning for _, meaning in plain.terms)


def test_lists_and_number_pairs_are_not_cut():
    text = "History of gout, uric acid stones, kidney disease, or stomach ulcers within the last 12 months or longer"
    assert "." not in plain_english(text, GLOSSARY).text[:-1]
    assert "1 or more" in plain_english("A score of 1 or more on the suicide ideation item of the scale used at screening", GLOSSARY).text


def test_glossary_entries_are_whole_and_matched_as_whole_words():
    assert all(a.plain and a.meaning for a in GLOSSARY.abbreviations.values())
    assert all(plain for plain in GLOSSARY.words.values())
    glossary = parse_glossary({"abbreviations": {"ALT": {"plain": "ALT", "meaning": "a liver enzyme"}}, "words": {"renal": "kidney"}})
    assert plain_english("ALTERNATIVE adrenal treatment", glossary).text == "ALTERNATIVE adrenal treatment."
