"""Find a list numbered inside one criterion: "... 4. Inadequate bone marrow 5. Evidence of ..."."""

from __future__ import annotations

import re

# "4. ", "e. ", "iii. " before a capital: a candidate item marker.
_MARKER = re.compile(r"(?:^|(?<=\s))(\d{1,2}|[a-h]|[ivx]{1,4})\.\s+(?=[A-Z])")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
# Two markers in a row ("4." then "5.") make a list; one alone may end a sentence ("Grade 2. The ...").
MIN_MARKERS = 2


def numbered_items(text: str) -> list[tuple[str, str]]:
    """Cut a text at its run of numbered items: [(marker, item)], the text before them with marker ""."""
    run = _longest_run(list(_MARKER.finditer(text)))
    if len(run) < MIN_MARKERS:
        return [("", text)]
    ends = [match.start() for match in run[1:]] + [len(text)]
    before = text[: run[0].start()].strip()
    items = [(match.group(1) + ".", text[match.end() : end].strip()) for match, end in zip(run, ends, strict=True)]
    return [("", before), *items] if before else items


def _longest_run(markers: list[re.Match[str]]) -> list[re.Match[str]]:
    """Return the longest run of markers of one kind that count up by one ("4.", "5.", "6.")."""
    best: list[re.Match[str]] = []
    for start, first in enumerate(markers):
        run = [first]
        for match in markers[start + 1 :]:
            if _follows(run[-1].group(1), match.group(1)):
                run.append(match)
        if len(run) > len(best):
            best = run
    return best


def _follows(previous: str, marker: str) -> bool:
    for kind in (str.isdigit, lambda m: m in _ROMAN):
        if kind(previous) and kind(marker):
            value = int if previous.isdigit() else _ROMAN.__getitem__
            return value(marker) == value(previous) + 1
    if len(previous) == len(marker) == 1 and previous.isalpha() and marker.isalpha():
        return ord(marker) == ord(previous) + 1
    return False
