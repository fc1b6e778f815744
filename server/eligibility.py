"""Eligibility criteria text -> discrete inclusion and exclusion criteria.

The registry's criteria are free text in a loose Markdown: numbered lists, bullets, nested
items, "Inclusion Criteria:" headings in many spellings, or none at all. ``split_criteria``
turns that text into sections of items, keeping each item's original wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INCLUSION = "inclusion"
EXCLUSION = "exclusion"
GENERAL = "general"  # the record does not say which, or says both

# Markdown escapes the registry writes: \> \< \~ \[ \] \* \- \. ...
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|=^])")
_EMPHASIS = re.compile(r"\*\*|__|^#+\s*")
# A list marker: bullet, number, letter or roman numeral, then the item's text.
_MARKER = re.compile(
    r"""^(?:
        [*•●○◦▪■·–—]\s*(?=\S)                   # bullets, with or without a space
      | [-+](?:\s+|(?=[^\W\d_]))               # "- x", "-x" but not "-5"
      | \(?\d{1,3}[.)](?:\s+|(?=[^\W\d_]))      # 1. 1) (1) 1.Aged, but not 1.5
      | \(\d{1,3}\)\s*
      | \(?(?:[a-zA-Z]|[ivxIVX]{2,5})[.)]\s+     # a. (b) iv.
      | [①-⑳]\s*
    )""",
    re.VERBOSE,
)
_INCL = re.compile(r"\binclu(?:sion|ded|de)\b|\beligib(?:le|ility)\b", re.IGNORECASE)
_EXCL = re.compile(
    r"\bexclu(?:sion|ded|de)\b|\bineligib(?:le|ility)\b|\bnot (?:be )?eligible\b|\bdisqualif", re.IGNORECASE
)
_BOTH = re.compile(r"\binclusion\b.*\bexclusion\b|\bexclusion\b.*\binclusion\b", re.IGNORECASE)
_CRITERIA_WORD = re.compile(r"\b(?:criteria|requirements|characteristics)\b", re.IGNORECASE)
_BARE_HEADING = re.compile(
    r"^(?!.*\b(?:not|no|meet\w*|met|fulfil\w*|satisf\w*|see|per)\b)"
    r"(?:[\w/-]+\s+){0,6}?(?:inclusion|exclusion|eligibility)(?:\s+(?:criteria|requirements))?\b[^.;]{0,60}[:.]?$",
    re.IGNORECASE,
)
_INLINE_HEADING = re.compile(r"((?:key\s+)?(?:inclusion|exclusion)\s+criteria\s*:)", re.IGNORECASE)
_PROTOCOL_NOTE = re.compile(
    r"protocol[- ]defined|criteria (?:may|will|could|might) apply|in the (?:study )?protocol", re.IGNORECASE
)
_LEAD_IN = re.compile(r"\b(?:following|these|above|below) (?:criteria|requirements)\b", re.IGNORECASE)
# "Inclusion Criteria:• Age 20 to 45;": a heading with the first item on its line.
_HEADING_THEN_ITEM = re.compile(
    r"^(\s*)((?:[\w-]+\s+){0,3}(?:inclusion|exclusion)\s+criteria\s*[:：])\s*(\S.*)$", re.IGNORECASE
)
_OPEN_END = re.compile(r"(?:[;,]|\b(?:and|or))\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Criterion:
    """One criterion in its original wording, with the items nested under it."""

    text: str
    children: tuple[Criterion, ...] = ()

    def walk(self) -> list[Criterion]:
        """List this criterion and every one nested under it, depth first."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found


@dataclass(frozen=True)
class Section:
    """Criteria under one heading: inclusion, exclusion or general (not said)."""

    kind: str
    heading: str | None
    items: tuple[Criterion, ...]


@dataclass(frozen=True)
class Criteria:
    """A record's eligibility criteria, split; ``original`` keeps the text as written."""

    original: str
    sections: tuple[Section, ...] = ()
    notes: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> tuple[Criterion, ...]:
        """Return the top-level criteria of every section of one kind."""
        return tuple(item for s in self.sections if s.kind == kind for item in s.items)

    @property
    def inclusion(self) -> tuple[Criterion, ...]:
        return self.of_kind(INCLUSION)

    @property
    def exclusion(self) -> tuple[Criterion, ...]:
        return self.of_kind(EXCLUSION)

    @property
    def general(self) -> tuple[Criterion, ...]:
        return self.of_kind(GENERAL)

    def all(self) -> list[Criterion]:
        """List every criterion, nested ones included."""
        return [c for s in self.sections for item in s.items for c in item.walk()]


def unescape(text: str) -> str:
    """Undo the registry's Markdown backslash escapes (``\\>`` -> ``>``)."""
    return _ESCAPE.sub(r"\1", text)


@dataclass
class _Node:
    text: str
    indent: int
    style: str | None  # the kind of list marker (bullet, number, letter...), None when unmarked
    children: list[_Node] = field(default_factory=list)

    def freeze(self) -> Criterion:
        return Criterion(self.text.strip(), tuple(c.freeze() for c in self.children))

    def opens_list(self) -> bool:
        """An item ending in a colon introduces the items after it ("...any of the following:")."""
        return self.text.rstrip().endswith((":", "："))


@dataclass
class _Open:
    kind: str
    heading: str | None
    roots: list[_Node] = field(default_factory=list)


def split_criteria(text: str) -> Criteria:
    """Split criteria text into inclusion, exclusion and general sections of items."""
    sections: list[_Open] = []
    notes: list[str] = []
    current = _Open(GENERAL, None)
    stack: list[_Node] = []  # the open path of nested items, outermost first
    for raw in _lines(text):
        line = _EMPHASIS.sub("", unescape(raw.strip())).strip()
        style, body = _strip_marker(line)
        if not body:
            continue
        if _PROTOCOL_NOTE.search(body) and _CRITERIA_WORD.search(body):
            notes.append(body)  # "Other protocol-defined exclusion criteria may apply"
            continue
        heading = _heading(body, marked=style is not None)
        if heading is not None:
            kind, label = heading
            if current.roots or current.heading is not None:
                sections.append(current)
            current = _Open(kind or current.kind, label)
            stack = []
            continue
        node = _Node(body, len(raw) - len(raw.lstrip()), style)
        depth, how = _place(stack, node)
        if how == "continue":
            stack[depth].text += " " + body
        elif depth < 0:
            current.roots.append(node)
            stack = [node]
        else:
            stack[depth].children.append(node)
            stack = [*stack[: depth + 1], node]
    if current.roots or current.heading is not None:
        sections.append(current)
    return Criteria(
        original=text,
        sections=tuple(
            Section(s.kind, s.heading, tuple(n.freeze() for n in s.roots)) for s in sections if s.roots
        ),
        notes=tuple(notes),
    )


def _strip_marker(line: str) -> tuple[str | None, str]:
    """Split a line into its list marker's style and its text ("* 1.Aged" is one marker)."""
    style: str | None = None
    for _ in range(2):
        match = _MARKER.match(line)
        if not match:
            break
        style = style or _style(match.group(0).strip())
        line = line[match.end():].strip()
    return style, line


def _style(marker: str) -> str:
    core = marker.strip("()")
    if core[:1].isdigit():
        return "number" + marker[-1]
    if core[:1].isalpha():
        return ("roman" if len(core) > 2 else "letter") + marker[-1]
    return "bullet" + marker[:1]


def _place(stack: list[_Node], node: _Node) -> tuple[int, str]:
    """Find where a line goes: under the item at a depth of the open path (-1: top level).

    Returns the depth and "child", or "continue" when an unmarked line carries on that item.
    Deeper indentation nests; a colon opens a list at the same indentation; items of the same
    marker at the same indentation are siblings; unmarked paragraphs after a colon stay in
    its list while the one before leaves its sentence open ("...;", "..., or").
    """
    for depth in range(len(stack) - 1, -1, -1):
        above = stack[depth]
        if node.indent > above.indent:
            if node.style is not None or above.opens_list() or above.children:
                return depth, "child"
            return depth, "continue"
        if node.indent < above.indent:
            continue
        if above.opens_list() and not above.children and (node.style != above.style or node.style is None):
            return depth, "child"
        if node.style == above.style and (node.style is not None or depth == 0 or _OPEN_END.search(above.text)):
            return depth - 1, "child"
    return -1, "child"


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text.strip():
        # A record flattened to one line: put its headings and dash bullets on lines again.
        text = _INLINE_HEADING.sub(r"\n\1\n", text)
        text = re.sub(r"(?<=[\w.):])\s*-\s+(?=[A-Z])", "\n- ", text)
    lines: list[str] = []
    for line in text.split("\n"):
        match = _HEADING_THEN_ITEM.match(line)
        if match and (_MARKER.match(match.group(3)) or len(match.group(3).split()) > 3):
            lines += [match.group(1) + match.group(2), match.group(1) + match.group(3)]
        else:
            lines.append(line)
    return lines


def _heading(body: str, marked: bool) -> tuple[str | None, str] | None:
    """Say whether a line is a section heading, and of which kind (None: keep the current)."""
    label = body.rstrip(" :").strip()
    if len(body) > 130 or not label:
        return None
    excl = _EXCL.search(body) is not None
    incl = _INCL.search(body) is not None
    bare = _BARE_HEADING.match(body) is not None
    if marked and not bare:
        return None
    colon = body.endswith((":", "："))
    if incl or excl:
        if not (colon or bare):
            return None
        if _BOTH.search(body):
            # "Inclusion and Exclusion Criteria:" heads both; "other ... criteria may apply" is a note.
            return (GENERAL, label) if colon and not _PROTOCOL_NOTE.search(body) else None
        # "not eligible", "exclusion criteria include": exclusion wins over the words of inclusion.
        return (EXCLUSION if excl else INCLUSION), label
    # "ADDITIONAL CRITERIA FOR COHORT B", "Patients must meet all of the following criteria:".
    lead_in = colon and (len(body) <= 60 or _LEAD_IN.search(body) is not None)
    if not marked and _CRITERIA_WORD.search(body) and (lead_in or (body.isupper() and len(body) <= 80)):
        return None, label
    return None
