"""Any text through the eligibility splitter and the plain rendering; any pair of versions through the diff."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from server.diff import diff
from server.eligibility import _EMPHASIS, split_criteria, unescape
from server.errors import InvalidRecord
from server.glossary import load_glossary
from server.plain import plain_english
from server.trials import Trial, parse_trial

from .hostile import ODD, edited, examples, mutated, odd_text, real_records

GLOSSARY = load_glossary()
RECORDS = real_records(16)
CRITERIA_TEXTS = [
    text for r in RECORDS if (text := r["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria"))
]
# The pieces criteria are made of: headings, markers, indents, and real lines.
PIECES = [
    "Inclusion Criteria:", "Exclusion Criteria:", "INCLUSION CRITERIA", "Key inclusion criteria:", "Eligibility:",
    "\n", "\n\n", "\r\n", "  ", "    ", "\t", "* ", "- ", "-", "1. ", "2) ", "(3) ", "a. ", "iv. ", "• ", "① ",
    "**", "__", "# ", "\\>", "\\*", ":", "; or", ", and", "(", ")", "[", "]", "≥ 18 years", "< 5 x ULN",
    "\ue000", "\ue0010\ue001", "\ue000" "0" "\ue001",
    *{line.strip() for text in CRITERIA_TEXTS for line in text.splitlines()[:6] if line.strip()},
]


def criteria_text() -> st.SearchStrategy[str]:
    """Text shaped like criteria: headings, list markers, real lines and odd characters, in any order."""
    return st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(ODD), odd_text(12)), max_size=40).map("".join)


def spliced(text: str) -> st.SearchStrategy[str]:
    """A real criteria text with odd pieces put in at random places."""
    return st.lists(st.tuples(st.integers(0, len(text)), st.sampled_from(PIECES + ODD)), max_size=8).map(
        lambda cuts: _splice(text, cuts)
    )


def _splice(text: str, cuts: list[tuple[int, str]]) -> str:
    for at, piece in sorted(cuts, reverse=True):
        text = text[:at] + piece + text[at:]
    return text


any_criteria = st.one_of(criteria_text(), odd_text(200), st.sampled_from(CRITERIA_TEXTS).flatmap(spliced))


def normalized(text: str) -> str:
    """The text as the splitter reads it: escapes undone, emphasis marks dropped."""
    return _EMPHASIS.sub("", unescape(text))


# -- the eligibility splitter --------------------------------------------------

@settings(max_examples=examples(300), deadline=None)
@given(any_criteria)
def test_the_splitter_takes_any_text_and_invents_nothing(text: str):
    criteria = split_criteria(text)
    assert criteria.original == text
    source = normalized(text.replace("\r", "\n"))
    said = [c.text for c in criteria.all()] + [s.heading or "" for s in criteria.sections] + list(criteria.notes)
    for item in criteria.all():
        assert item.text and item.text == item.text.strip()
    for words in said:
        for word in words.split():
            assert word in source, (word, text)
    assert all(s.items for s in criteria.sections)


@settings(max_examples=examples(200), deadline=None)
@given(st.sampled_from(CRITERIA_TEXTS).flatmap(spliced))
def test_the_splitter_keeps_every_long_word_of_real_criteria(text: str):
    """What the splitter drops is markers and empty headings: every longer word of an item is kept."""
    criteria = split_criteria(text)
    kept = Counter(re.findall(r"\w{5,}", " ".join(
        [c.text for c in criteria.all()] + [s.heading or "" for s in criteria.sections] + list(criteria.notes)
    )))
    # "Inclusion C  riteria:" (a space spliced in) is still a heading: the splitter drops it too.
    headings_only = " ".join(line for line in text.splitlines() if re.search(r"(?i)criteria|eligib|inclusion|exclusion", line))
    lost = Counter(re.findall(r"\w{5,}", normalized(text))) - kept - Counter(re.findall(r"\w{5,}", headings_only))
    assert not lost, (lost, text)


# -- the plain rendering ----------------------------------------------------------

NUMBER = re.compile(r"(?<![A-Za-z0-9.])(?<![A-Za-z]-)\d+(?:[.,]\d+)*")


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(any_criteria, st.sampled_from(CRITERIA_TEXTS).flatmap(spliced).map(
    lambda t: " ".join(c.text for c in split_criteria(t).all()[:3])
)))
def test_the_plain_rendering_takes_any_text_and_keeps_its_numbers(text: str):
    plain = plain_english(text, GLOSSARY)
    out = " ".join([plain.text, *plain.notes])
    assert not re.search("[\ue000\ue001]", out)
    missing = Counter(NUMBER.findall(text)) - Counter(NUMBER.findall(out))
    assert not missing, (missing, text, out)
    assert all(isinstance(a, str) and isinstance(m, str) for a, m in plain.terms)


# -- the diff --------------------------------------------------------------------------

def parsed(record: dict[str, Any]) -> Trial:
    try:
        return parse_trial(record)
    except InvalidRecord:
        assume(False)
        raise


@st.composite
def version_pairs(draw: st.DrawFn) -> tuple[Trial, Trial]:
    """Two versions of one trial: real ones, mutations of them, or the same one twice."""
    base = draw(st.sampled_from(RECORDS))
    how = draw(st.sampled_from(["same", "mutated", "both", "other"]))
    if how == "same":
        return parsed(base), parsed(json.loads(json.dumps(base)))
    if how == "other":
        # Another trial's content under this one's NCT ID: everything changes.
        other = json.loads(json.dumps(draw(st.sampled_from(RECORDS))))
        other["protocolSection"]["identificationModule"]["nctId"] = base["protocolSection"]["identificationModule"]["nctId"]
        return parsed(base), parsed(other)
    first = base if how == "mutated" else draw(edited(base))
    return parsed(first), parsed(draw(edited(base)))


def swapped(change: Any) -> tuple[str, Any, Any, str]:
    return (change.kind, change.new, change.old, json.dumps(change.detail, sort_keys=True))


def by_kind(changes: list[Any]) -> dict[str, Any]:
    return {c.kind: c for c in changes}


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(version_pairs())
def test_the_diff_takes_any_pair_and_reads_the_same_both_ways(pair: tuple[Trial, Trial]):
    old, new = pair
    forward, backward = diff(old, new), diff(new, old)
    assert diff(old, old) == [] and diff(new, new) == []
    if old == new:
        assert forward == backward == []
    for change in forward + backward:
        json.dumps([change.old, change.new, change.detail])  # stored as JSON
    ahead, back = by_kind(forward), by_kind(backward)
    # Results are news only when they appear; everything else changes both ways or not at all.
    assert set(ahead) - {"results"} == set(back) - {"results"}
    for kind in ("status", "dates", "enrollment", "eligibility"):
        if kind in ahead:
            assert (ahead[kind].old, ahead[kind].new) == (back[kind].new, back[kind].old)
    if "updated" in ahead:
        assert ahead["updated"].detail == back["updated"].detail
    if "site_status" in ahead:
        turned = {"added": "removed", "removed": "added", "status": "status"}
        mirror = [
            {**e, "change": turned[e["change"]], "old": e["new"], "new": e["old"]} for e in back["site_status"].detail["sites"]
        ]
        assert sorted(map(json.dumps, ahead["site_status"].detail["sites"])) == sorted(map(json.dumps, mirror))
    # Versions that differ only in bookkeeping are not news.
    same_content = dataclasses.replace(
        new, version_holder=old.version_holder, last_update_posted=old.last_update_posted,
        last_update_submitted=old.last_update_submitted,
    )
    assert (same_content == old) <= (forward == [])


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.sampled_from(RECORDS), st.data())
def test_the_diff_of_raw_records_is_the_diff_of_their_trials(record: dict[str, Any], data: st.DataObject):
    other = data.draw(st.one_of(edited(record), mutated(record).map(lambda m: m[0])))
    trial = parsed(other)
    assert diff(record, other) == diff(parse_trial(record), trial)
