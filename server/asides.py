"""The asides of a criterion: what its brackets hold, and where each goes in the plain wording.

An aside that only names an abbreviation goes to the list of terms; one with a threshold or a
name stays where it is; a long one with numbers becomes a sentence of its own; the rest go to
notes under the criterion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .glossary import Glossary
from .sentences import APART, HOLD

# An aside that only names an abbreviation: "(ECOG)", "(HBsAg)", "(ICF)".
_ABBREVIATION_ONLY = re.compile(r"^[A-Za-z0-9+/-]*[A-Z][A-Za-z0-9+/-]*s?$")
_ABBREVIATIONS_JOINED = re.compile(r"\s*(?:,|/|\bor\b|\band\b)\s*")
# "(BSA)", "(SSRI)": capitals only, to be matched against the initials of the words before them.
_INITIALS_ONLY = re.compile(r"^[A-Z]{2,6}$")
_WORDS = re.compile(r"[A-Za-z]+")
_SMALL_WORDS = frozenset({"of", "and", "the", "in", "for", "to", "with", "on", "a"})
_QUALIFIER = re.compile(
    r"(?:or|e\.\s?g\.|i\.\s?e\.|eg|ie|for\s+example|such\s+as|that\s+is|defined|including|excluding|except"
    r"|unless|with\s+the\s+exception|as\s+described|see)\b",
    re.IGNORECASE,
)
_SIGN_ONLY = re.compile(r"^[<>=≤≥＜＞⩽⩾≦≧\s]+$")
# An aside this short is a name or an abbreviation, not a digression: it stays in the sentence.
SHORT_ASIDE_WORDS = 3
# An aside with numbers this long ("within 14 days before day 1 of treatment") is a sentence of its own.
LONG_ASIDE_WORDS = 5
# An aside set apart as a sentence of its own says what it does: "(defined as ...)" -> "This means ...".
_ASIDE_LEADS = (
    (re.compile(r"(?:defined\s+as|that\s+is),?\s+", re.IGNORECASE), "This means "),
    (re.compile(r"(?:such\s+as|for\s+example),?\s+", re.IGNORECASE), "These include "),
    (re.compile(r"(?:except\s+for|except|other\s+than|excluding),?\s+", re.IGNORECASE), "This does not include "),
    (re.compile(r"including(?:,?\s+but\s+not\s+limited\s+to)?,?:?\s+", re.IGNORECASE), "This includes "),
)


@dataclass(frozen=True)
class Asides:
    """What a criterion's asides became: notes, text held in place, sentences of their own, terms."""

    notes: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    apart: list[str] = field(default_factory=list)
    terms: dict[str, str] = field(default_factory=dict)


def take_asides(text: str, found: Asides, glossary: Glossary) -> str:
    """Pull out the top-level (...) and [...] asides: to notes, to nothing, or held in place."""
    out: list[str] = []
    depth = 0
    start = 0
    closing = {"(": ")", "[": "]"}
    expected: list[str] = []
    for index, char in enumerate(text):
        if char in closing:
            if depth == 0:
                out.append(text[start:index])
                start = index
            depth += 1
            expected.append(closing[char])
        elif expected and char == expected[-1]:
            expected.pop()
            depth -= 1
            if depth == 0:
                # Only an aside that ends its sentence can follow it without losing what it qualifies.
                ends = not text[index + 1 :].strip() or text[index + 1 :].lstrip()[0] in ".;"
                inner = text[start + 1 : index].strip()
                spelled = _spelled_out(inner, text[:start])
                if inner in ("s", "es") and text[start - 1 : start].isalpha():
                    # "symptom(s)" stays one word.
                    aside = f"({inner})"
                elif spelled is not None:
                    # "body surface area (BSA)": the words are already there; the short form is listed.
                    found.terms.setdefault(inner, spelled)
                    aside = ""
                else:
                    aside = _aside(inner, ends, found, glossary)
                # "AST (SGOT)/ALT" -> "AST/ALT": no space is left where a dropped aside touched a word.
                if not aside and text[index + 1 : index + 2] in ("/", ",", ";", ":", "."):
                    out[-1] = out[-1].rstrip()
                out.append(aside)
                start = index + 1
    # An unclosed bracket leaves the rest of the text as written.
    out.append(text[start:])
    return "".join(out)


def _spelled_out(inner: str, before: str) -> str | None:
    """Return the words just before an aside that the aside abbreviates ("body surface area (BSA)")."""
    if not _INITIALS_ONLY.match(inner):
        return None
    letters = inner.upper()
    words = _WORDS.findall(before)
    for count in range(2, min(len(words), len(letters) + 3) + 1):
        phrase = words[-count:]
        initials = "".join(word[0] for word in phrase if word.lower() not in _SMALL_WORDS).upper()
        if initials == letters and phrase[0].lower() not in _SMALL_WORDS:
            return " ".join(phrase)
    return None


def _aside(inner: str, ends: bool, found: Asides, glossary: Glossary) -> str:
    if not inner:
        return ""
    if _SIGN_ONLY.match(inner):
        return ""  # "less than or equal to (<=) 1": the words already say it
    named = _ABBREVIATIONS_JOINED.split(inner)
    known = [glossary.abbreviations.get(name) if _ABBREVIATION_ONLY.match(name) else None for name in named]
    if all(known):
        # "(ECOG)", "(HBV or HCV)" name known abbreviations: their meanings are listed under the criterion.
        for abbreviation in known:
            if abbreviation is not None:
                found.terms.setdefault(abbreviation.short, abbreviation.meaning)
        return ""
    words = len(inner.split())
    # In the middle of a sentence only an aside that says how it qualifies ("or at least 1000/µL if
    # ...", "e.g. ...", "except ...") can follow the sentence without losing its place; "(within 6
    # months)" after one item of a list would seem to speak of them all.
    if (ends or _QUALIFIER.match(inner)) and any(ch.isdigit() for ch in inner) and words >= LONG_ASIDE_WORDS:
        found.apart.append(inner)
        return " " + APART.format(len(found.apart) - 1)
    if any(ch.isdigit() for ch in inner) or words <= SHORT_ASIDE_WORDS:
        # Thresholds, doses, other names ("XL184 (cabozantinib)") stay where they are.
        found.held.append(inner)
        return " " + HOLD.format(len(found.held) - 1)
    found.notes.append(inner)
    return ""


def aside_sentence(text: str) -> str:
    """Open an aside set apart with what it does: "Defined as X." -> "This means X."."""
    for pattern, lead in _ASIDE_LEADS:
        if match := pattern.match(text):
            return lead + text[match.end() :]
    return text
