"""The plain-English glossary: abbreviations and long words, kept as data in glossary.toml."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Abbreviation:
    """An abbreviation, the plain words that stand in for it, and what it means."""

    short: str
    plain: str
    meaning: str


@dataclass(frozen=True)
class Glossary:
    """Abbreviations (matched case-sensitively) and plain words for long ones (any case)."""

    abbreviations: Mapping[str, Abbreviation]
    words: Mapping[str, str]
    openings: Mapping[str, str] = field(default_factory=dict)
    abbreviation_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    word_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    opening_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The longest key matching wins, so "informed consent form" over "informed consent".
        object.__setattr__(self, "abbreviation_pattern", _alternation(self.abbreviations, 0))
        object.__setattr__(self, "word_pattern", _alternation(self.words, re.IGNORECASE))
        object.__setattr__(self, "opening_pattern", _alternation(self.openings, re.IGNORECASE))

    def plain_opening(self, found: str) -> str:
        """Return the plain words for a matched opening, capitalised to start a sentence."""
        plain = self.openings[_fold(found)]
        return plain[:1].upper() + plain[1:]

    def plain_word(self, found: str, capital: bool = True) -> str:
        """Return the plain words for a matched long word, capitalised where it was and ``capital`` allows."""
        plain = self.words[_fold(found)]
        return plain[:1].upper() + plain[1:] if capital and found[:1].isupper() and not found.isupper() else plain


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower())


def _alternation(keys: Mapping[str, Any], flags: int) -> re.Pattern[str]:
    if not keys:
        return re.compile(r"(?!)")
    # Words are whole words: "ALT" is not found in "ALTERNATIVE", nor "renal" in "adrenal".
    return re.compile(rf"(?<![\w-])(?:{_trie(keys)})(?![\w-])", flags)


def _trie(keys: Iterable[str]) -> str:
    """Write the keys as one regular expression that shares their prefixes; the longest match wins.

    A plain alternation of ~900 words is tried word by word at every position of a text (and
    case-insensitively, slowly): most of a trial page's rendering time. Matching as a tree finds
    exactly what the longest-first alternation finds, many times faster.
    """
    root: dict[str, Any] = {}
    for key in keys:
        node = root
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}  # a key ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [
            (r"\s+" if char == " " else re.escape(char)) + emit(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy: a longer key is tried before the shorter one ending here.
        return f"(?:{body})?" if "" in node else body

    return emit(root)


def parse_glossary(data: Mapping[str, Any]) -> Glossary:
    """Build a glossary from its TOML tables ``abbreviations``, ``words`` and ``openings``."""
    abbreviations = {
        short: Abbreviation(short, entry["plain"], entry.get("meaning", entry["plain"]))
        for short, entry in data.get("abbreviations", {}).items()
    }
    words = {_fold(long): plain for long, plain in data.get("words", {}).items()}
    openings = {_fold(start): plain for start, plain in data.get("openings", {}).items()}
    return Glossary(abbreviations, words, openings)


@functools.cache
def load_glossary() -> Glossary:
    """Read the glossary shipped with the package (once per process)."""
    text = resources.files("server").joinpath("glossary.toml").read_text(encoding="utf-8")
    return parse_glossary(tomllib.loads(text))
