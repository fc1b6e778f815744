"""The glossary's prefix-tree patterns match exactly what a longest-first alternation matches."""

import json
import re

import pytest

from server.glossary import load_glossary

from .conftest import STUDIES


def longest_first(keys, flags):
    alternatives = "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", flags)


def criteria_texts():
    for path in sorted(STUDIES.glob("*.json"))[:120]:
        module = json.loads(path.read_text())["protocolSection"].get("eligibilityModule", {})
        if module.get("eligibilityCriteria"):
            yield module["eligibilityCriteria"]


@pytest.mark.parametrize(("table", "flags", "attribute"), [
    ("words", re.IGNORECASE, "word_pattern"),
    ("abbreviations", 0, "abbreviation_pattern"),
    ("openings", re.IGNORECASE, "opening_pattern"),
])
def test_same_spans_as_the_plain_alternation(table, flags, attribute):
    glossary = load_glossary()
    plain, tree = longest_first(getattr(glossary, table), flags), getattr(glossary, attribute)
    texts = [*criteria_texts(), "Informed  consent form signed; informed consent; INFORMED CONSENT FORMS", "adrenal renal-function ALTERNATIVE ALT"]
    for text in texts:
        assert [m.span() for m in tree.finditer(text)] == [m.span() for m in plain.finditer(text)]
        for line in text.splitlines():
            found, expected = tree.match(line.strip()), plain.match(line.strip())
            assert (found and found.span()) == (expected and expected.span())
