"""Plain-English wording of one eligibility criterion.

The rendering keeps every number, unit and threshold of the original; it only changes the
words around them: comparison signs become words ("≥" -> "at least"), abbreviations and
long medical words give way to plain ones from the glossary, asides in parentheses move to
notes, and long sentences are cut at semicolons and at commas that join two clauses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .glossary import Glossary

# (pattern, words): signs and phrasings of comparison, most specific first.
_COMPARISONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        (r"(?:greater|more|higher)\s+than\s+or\s+equal\s+to", "at least"),
        (r"equal\s+to\s+or\s+(?:greater|more|higher)\s+than", "at least"),
        (r"(?:less|lower|fewer)\s+than\s+or\s+equal\s+to", "at most"),
        (r"equal\s+to\s+or\s+(?:less|lower|fewer)\s+than", "at most"),
        (r"≥|>=|=>|⩾|≧|＞=", "at least"),
        (r"≤|<=|=<|⩽|≦|＜=", "at most"),
        (r">|＞", "more than"),
        (r"<|＜", "less than"),
    )
)
# "1.5 x ULN", "3×ULN": "times", but "1.5 x 10^9/L" keeps its multiplication sign.
_TIMES = re.compile(r"(?<=\d)\s*[x×X*]\s*(?=(?:the\s+)?(?:ULN|upper|institutional|IULN|normal|LLN|lower)\b)")
_LATIN = (
    # "e.g." opens a note as "For example"; inside a sentence "such as" says it in fewer words.
    (re.compile(r"^\s*e\.\s?g\.,?", re.IGNORECASE), "for example"),
    (re.compile(r"\be\.\s?g\.,?", re.IGNORECASE), "such as"),
    (re.compile(r"\bi\.\s?e\.,?", re.IGNORECASE), "that is"),
    (re.compile(r"^\s*[Ee]g,"), "for example"),
    (re.compile(r"\b[Ee]g,"), "such as"),
    (re.compile(r"\betc\.?(?=\W*$)", re.IGNORECASE), "and so on"),
    (re.compile(r"\betc\.", re.IGNORECASE), "and so on,"),
    (re.compile(r"\bvs\.?(?=\s)", re.IGNORECASE), "versus"),
    (re.compile(r"\band/or\b", re.IGNORECASE), "or"),
)
# An aside that only names an abbreviation: "(ECOG)", "(HBsAg)", "(ICF)".
_ABBREVIATION_ONLY = re.compile(r"^[A-Za-z0-9+/-]*[A-Z][A-Za-z0-9+/-]*s?$")
_ABBREVIATIONS_JOINED = re.compile(r"\s*(?:,|/|\bor\b|\band\b)\s*")
# "(BSA)", "(SSRI)": capitals only, to be matched against the initials of the words before them.
_INITIALS_ONLY = re.compile(r"^[A-Z]{2,6}$")
_WORDS = re.compile(r"[A-Za-z]+")
_SMALL_WORDS = frozenset({"of", "and", "the", "in", "for", "to", "with", "on", "a"})
_SIGN_ONLY = re.compile(r"^[<>=≤≥＜＞⩽⩾≦≧\s]+$")
_CLAUSE_JOIN = re.compile(r",\s+(?=(?:and|or|but)\s)", re.IGNORECASE)
# A comma that opens an aside of its own becomes a sentence that says what the aside does.
_LEADS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), lead)
    for pattern, lead in (
        (r",\s+(?:including|includes)(?:,?\s+but\s+not\s+limited\s+to)?:?\s+", "This includes "),
        (r",\s+such\s+as:?\s+", "For example: "),
        (r",\s+(?:except|excluding|with\s+the\s+exception\s+of)(?:\s+for)?:?\s+", "This does not include "),
        (r",\s+unless\s+", "This does not apply if "),
        (r",\s+(?:defined|characterized)\s+(?:as|by):?\s+", "This means "),
        (r",?\s+because\s+", "This is because "),
        # Only when they run to the end of the sentence: "..., if any, ..." stays.
        (r",\s+if\s+(?=[^,]{12,}$)", "This applies if "),
        (r",?\s+as\s+(judged|shown|defined|measured|proven|confirmed|found|detected|assessed)\s+(by|in|on)\s+(?=(?:(?!\b(?:and|or)\b)[^,])+$)",
         r"This is \1 \2 "),
    )
)
# "in the study doctor's view" qualifies a judgement in the middle of a sentence: said after it instead.
_JUDGE = re.compile(
    r"(?<!\bor)(?<!\band)(?<!\bor\s)(?<!\band\s),?\s*\b(?:in\s+the\s+(?:(?:treating\s+)?study\s+doctor(?:'s|s'|s)?|lead\s+study\s+doctor's)\s+(?:view|judgment)"
    r"|in\s+the\s+(?:view|judgment|opinion)\s+of\s+the\s+(?:treating\s+|lead\s+)?study\s+doctor"
    r"|as\s+judged\s+by\s+the\s+(?:treating\s+|lead\s+)?study\s+doctor)(?![\w']),?",
    re.IGNORECASE,
)
MIN_LEAD_WORDS = 3
# Examples named without a comma ("drugs such as A, B or C") get a sentence of their own only when
# they run to the end: a word like "within" or "that" after them may qualify the whole criterion.
_EXAMPLES = re.compile(
    r"\s+(?:(such\s+as|for\s+example)|including(?:,?\s+but\s+not\s+limited\s+to)?)[:,]?\s+", re.IGNORECASE
)
_NOT_A_LIST = re.compile(
    r"\b(?:within|before|after|during|prior|since|until|past|last|time|that|which|who|whose|where|when|while"
    r"|must|should|will|would|can|could|may|might|is|are|was|were|be|been|has|have|had|unless|if|from|for|to"
    r"|by|per|as|on|at|in|than|least|most|except|including|such)\b|[\ue000-\ue003]",
    re.IGNORECASE,
)
# ", which can cause ..." describes what comes before it: "This can cause ...".
_WHICH = re.compile(r",\s+which\s+(?=(\w+))", re.IGNORECASE)
_PLURAL_VERBS = frozenset({"are", "were", "have", "do", "include", "require", "need", "cause", "make", "lead"})
# A sentence longer than this is cut where "and", "or" or "but" joins two long phrases.
LONG_SENTENCE_WORDS = 12
MIN_PHRASE_WORDS = 5
# Only where the words after "and"/"or" start a clause of their own: a verb or a new subject.
# ("locally advanced or metastatic cancer" joins two adjectives and "women ... and men must"
# two subjects: both must stay whole.)
_CLAUSE_START = (
    r"(?:has|have|had|is|are|was|were|be|been|must|should|will|would|can|could|may|might|need|needs"
    r"|agree|agrees|plan|plans|use|uses|sign|signs|do|does|did|get|gets|take|takes|meet|meets|show|shows"
    r"|who|they|he|she)"
)
# "A, B, or C": the last item's conjunction; a list is cut only when each item has this many words.
_LIST_END = re.compile(r",\s+(or|and)\s+", re.IGNORECASE)
MIN_ITEM_WORDS = 4
# "ALT at most 3 times the upper limit of normal, total bilirubin at most 1.5 times ...": each item
# carries its own limit, so each is a condition of its own.
_LIMIT_ITEM = re.compile(r",\s+(?:(and|or)\s+)?(?!\d)")
_TIMED = re.compile(r"\b(?:before|after|prior|within|during|since|until|from)\b", re.IGNORECASE)
_HAS_LIMIT = re.compile(
    r"\b(?:at\s+least|at\s+most|more\s+than|less\s+than|greater\s+than|lower\s+than|higher\s+than|above|below)"
    r"\s+\d",
    re.IGNORECASE,
)
_ITEM_START = re.compile(
    rf"(?:{_CLAUSE_START}|those|where|when|within|after|before|during|until)\s", re.IGNORECASE
)
_STARTS_CLAUSE = re.compile(rf"(?:and|or|but)\s+{_CLAUSE_START}\s", re.IGNORECASE)
_JOIN = re.compile(
    rf"\s+(?=(?:and|or|but)\s+{_CLAUSE_START}\s)|,\s+(?:while|whereas)\s+", re.IGNORECASE
)
# "and"/"or" between two conditions that each carry their own numbers: see _alternatives.
_ALTERNATIVE = re.compile(r"\s+(?=(and|or|AND|OR)\s)")
_RELATIVE = re.compile(r"\b(?:who|which|whom|whose)\b", re.IGNORECASE)
_NEW_SUBJECT = re.compile(r"\s*(?:and|or|but)\s+(?:who|they|he|she|the|this|these|there)\b", re.IGNORECASE)
# "without growth factor support for ANC or transfusion for platelets": "or" inside what is negated.
_NEGATED = re.compile(r"\b(?:without|no|not|neither|nor)\b", re.IGNORECASE)
_EITHER = re.compile(r"\b(?:either|between|both)\b", re.IGNORECASE)
_LIMIT = re.compile(
    r"\s*(?:or|and)\s+(?:(?:more|less|greater|lower|higher|fewer|above|below|over|under|at\s+(?:least|most))\b|\d)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w/-])\d")
_SPACES = re.compile(r"\s+")
_DOUBLED_THE = re.compile(r"\b(the) the\b", re.IGNORECASE)
# A plain word may change the article before it: "an allogeneic" -> "a donor", "a prior" -> "an earlier".
_ARTICLE_AN = re.compile(r"(?<![\w-])([Aa])n(?=\s+[b-df-gj-np-tv-z])")
_ARTICLE_A = re.compile(r"(?<![\w-])(a)(?=\s+(?!one\b|once\b)[aeio])")
# A sentence that now opens with plain words written in lower case ("WOCBP should" -> "women ...").
_SENTENCE_START = re.compile(r"([.!?]\s+)([a-z])")
# "..., or" at the end of an item links it to the next one; a sentence of its own ends without it.
_DANGLING = re.compile(r",?\s+(?:or|and)$", re.IGNORECASE)
_NOTE = re.compile(r"^notes?\s*:\s*", re.IGNORECASE)
_HOLD = "\ue000{}\ue001"
_HELD = re.compile("\ue000(\\d+)\ue001")
# A long aside with numbers in it becomes sentences of its own, right after the sentence it sat in.
_APART = "\ue002{}\ue003"
_SET_APART = re.compile("\\s*\ue002(\\d+)\ue003")
MIN_CLAUSE_WORDS = 5
# An aside this short is a name or an abbreviation, not a digression: it stays in the sentence.
SHORT_ASIDE_WORDS = 3
# An aside with numbers this long ("within 14 days before day 1 of treatment") is a sentence of its own.
LONG_ASIDE_WORDS = 5


@dataclass(frozen=True)
class Plain:
    """A criterion in plain words, the asides moved out of it, and the abbreviations explained."""

    text: str
    notes: tuple[str, ...] = ()
    terms: tuple[tuple[str, str], ...] = ()  # (abbreviation, what it means)


def plain_english(text: str, glossary: Glossary) -> Plain:
    """Reword one criterion plainly, keeping every number, unit and threshold."""
    found = _Asides()
    outer = _take_asides(_SPACES.sub(" ", text).strip(), found, glossary)
    outer = _reword(_opening(outer, glossary), glossary, found.terms)
    sentences: list[str] = []
    for part in _split(outer):
        # "Note: ..." sentences are asides too.
        if _NOTE.match(part.strip()):
            note = _SET_APART.sub(lambda m: " (" + found.apart[int(m.group(1))] + ")", part.strip())
            found.notes.append(_NOTE.sub("", note))
            continue
        # A sentence that ends in ":" leads into a list: the phrase stays where it is.
        part, judged = _JUDGE.subn("", part) if not part.rstrip().endswith(":") else (part, 0)
        if sentence := _sentence(_SET_APART.sub("", part)):
            sentences.append(sentence)
        if judged:
            sentences.append("The study doctor decides this.")
        for index in _SET_APART.findall(part):
            aside = plain_english(found.apart[int(index)], glossary)
            sentences.append(aside.text)
            found.notes.extend(aside.notes)
            for short, meaning in aside.terms:
                found.terms.setdefault(short, meaning)
    body = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), " ".join(s for s in sentences if s))
    body = _HELD.sub(lambda m: "(" + _reword(found.held[int(m.group(1))], glossary, found.terms) + ")", body)
    return Plain(
        text=body,
        notes=tuple(
            _sentence(_HELD.sub(lambda m: "(" + found.held[int(m.group(1))] + ")", _reword(note, glossary, found.terms)))
            for note in found.notes
        ),
        terms=tuple(found.terms.items()),
    )


@dataclass(frozen=True)
class _Asides:
    """What a criterion's asides became: notes, text held in place, sentences of their own, terms."""

    notes: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    apart: list[str] = field(default_factory=list)
    terms: dict[str, str] = field(default_factory=dict)


def _take_asides(text: str, found: _Asides, glossary: Glossary) -> str:
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
                if spelled is not None:
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


def _aside(inner: str, ends: bool, found: _Asides, glossary: Glossary) -> str:
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
    if ends and any(ch.isdigit() for ch in inner) and words >= LONG_ASIDE_WORDS:
        found.apart.append(inner)
        return " " + _APART.format(len(found.apart) - 1)
    if any(ch.isdigit() for ch in inner) or words <= SHORT_ASIDE_WORDS:
        # Thresholds, doses, other names ("XL184 (cabozantinib)") stay where they are.
        found.held.append(inner)
        return " " + _HOLD.format(len(found.held) - 1)
    found.notes.append(inner)
    return ""


def _opening(text: str, glossary: Glossary) -> str:
    """Reword how a criterion opens: "History of stroke" -> "Has had stroke"."""
    match = glossary.opening_pattern.match(text)
    if match is None:
        return text
    return glossary.plain_opening(match.group(0)) + text[match.end() :]


def _reword(text: str, glossary: Glossary, terms: dict[str, str]) -> str:
    """Swap signs, Latin, long words and abbreviations for plain words."""
    text = _TIMES.sub(" times ", text)
    for pattern, words in _COMPARISONS:
        text = pattern.sub(f" {words} ", text)
    for pattern, words in _LATIN:
        text = pattern.sub(words, text)
    text = glossary.word_pattern.sub(_plain_word_in(glossary), text)
    text = _ARTICLE_AN.sub(r"\1", text)
    text = _ARTICLE_A.sub(r"\1n", text)

    def expand(match: re.Match[str]) -> str:
        found = glossary.abbreviations[match.group(0)]
        terms.setdefault(found.short, found.meaning)
        return found.plain

    text = glossary.abbreviation_pattern.sub(expand, text)
    # "the institutional ULN" -> "the the site's upper limit of normal": one "the" is enough.
    text = _DOUBLED_THE.sub(r"\1", _SPACES.sub(" ", text))
    return re.sub(r"\s+([,.;:!?])", r"\1", text).strip()


def _plain_word_in(glossary: Glossary) -> Callable[[re.Match[str]], str]:
    """Replace a long word unless it is part of a name ("Chronic Cluster Headache")."""

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        before = match.string[: match.start()].rstrip()
        after = match.string[match.end() :].lstrip()
        starts_sentence = not before or before[-1] in ".:;!?("
        if found[:1].isupper() and not starts_sentence and after[:1].isupper():
            return found
        # "Anaphylaxis, Angioedema, or ...": a capital in the middle of a sentence is the registry's style.
        return glossary.plain_word(found, capital=starts_sentence or found.isupper())

    return replace


def _split(text: str) -> list[str]:
    """Cut a text into short sentences at semicolons, full stops and clause-joining commas."""
    parts: list[str] = []
    for piece in re.split(r";|(?<=[a-z)%\ue001\ue003])\.\s+(?=[A-Z])", text):
        for clause in _split_leads(piece):
            for part in _split_clauses(clause):
                for item in _split_list(part):
                    for limit in _split_limits(item):
                        parts.extend(_split_long(limit))
    return parts


def _split_limits(text: str) -> list[str]:
    """Cut "ANC at least 1500/µL, platelets at least 100,000/µL" where each item has its own limit."""
    items = [text[start:end] for start, end in _spans_between(_LIMIT_ITEM, text)]
    if len(items) < 2 or not all(_HAS_LIMIT.search(item) for item in items):
        return [text]
    # "A at least 3 weeks, B at least 2 weeks, and C at least 4 weeks before joining": a time at the
    # end that only the last item names belongs to all of them.
    timed = [bool(_TIMED.search(item)) for item in items]
    if timed[-1] and not all(timed):
        return [text]
    joints = [match.group(1) for match in _LIMIT_ITEM.finditer(text)]
    return [items[0], *((joint.capitalize() + " " if joint else "") + item for joint, item in zip(joints, items[1:]))]


def _spans_between(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Return the spans of text between the matches of pattern."""
    starts = [0, *(match.end() for match in pattern.finditer(text))]
    ends = [*(match.start() for match in pattern.finditer(text)), len(text)]
    return list(zip(starts, ends, strict=True))


def _split_list(text: str) -> list[str]:
    """Cut "A, has B, or has C" into "A. Or has B. Or has C." when each item after the first is a clause.

    Only items that start with a verb, "who"/"where" or a time ("within 90 days after ...") stand on
    their own: "uncontrolled A, B, or C" shares its first word with every item and stays whole.
    """
    last = None
    for last in _LIST_END.finditer(text):
        pass
    if last is None:
        return [text]
    items = [*text[: last.start()].split(", "), text[last.end() :]]
    if len(items) < 3 or any(len(item.split()) < MIN_ITEM_WORDS for item in items):
        return [text]
    if not all(_ITEM_START.match(item) for item in items[1:]):
        return [text]
    joint = last.group(1).capitalize()
    return [items[0], *(f"{joint} {item}" for item in items[1:])]


def _split_long(text: str) -> list[str]:
    """Cut a long sentence where "and"/"or"/"but" joins two phrases of several words each."""
    if len(text.split()) <= LONG_SENTENCE_WORDS:
        return [text]
    for match in (*_JOIN.finditer(text), *_ALTERNATIVE.finditer(text)):
        left, right = text[: match.start()], text[match.end() :]
        tail = left.rsplit(",", 1)[-1].split()
        if len(left.split()) < MIN_PHRASE_WORDS or len(right.split()) < MIN_PHRASE_WORDS:
            continue
        # "A, B or C" joins items of a list; "between 18 and 65" joins two numbers.
        if ("," in left and len(tail) <= 3) or "between" in (w.lower() for w in tail[-3:]):
            continue
        # "1 or more", "18 or older": a number and its qualifier stay together.
        if any(ch.isdigit() for word in tail[-2:] for ch in word):
            continue
        # "Academy of Allergology and Clinical Immunology": a name is not cut.
        following = right.split()[1:2]
        if following and following[0][:1].isupper() and not following[0].isupper():
            continue
        if match.re is _ALTERNATIVE and not _alternatives(match.group(1), left, right):
            continue
        # "males who have not been sterilized and are not using a condom": the verb after "and"
        # still belongs to "who"; cut there, it would lose whom it speaks of.
        if _RELATIVE.search(left) and not _NEW_SUBJECT.match(right):
            continue
        lead = "But " if match.group(0).strip(", ").lower() in ("while", "whereas") else ""
        return [left, *_split_long(lead + right)]
    return [text]


def _alternatives(word: str, left: str, right: str) -> bool:
    """Tell whether "and"/"or" joins two whole conditions rather than two words of one."""
    # "FEV1 under 80% OR any features of asthma": the registry's capitals mark the top-level join.
    if word.isupper():
        return True
    # "either A or B", "under 50 or more than 100" (two limits of one measure) and "without A or B"
    # stay whole. Otherwise a number in each of the two joined phrases ("at least 2 flare-ups in the
    # last 12 months and none in the last 1 month") gives each its own limit.
    near = (re.split(r"[,.;:]\s", left)[-1], re.split(r"[,.;]\s", right)[0])
    if _EITHER.search(left) or _LIMIT.match(right) or _NEGATED.search(near[0]):
        return False
    # "..., with documented progression" after the second phrase may speak of both: keep them together.
    rest = right[len(near[1]) :].strip(" .")
    if rest and not _NUMBER.search(rest):
        return False
    return all(_NUMBER.search(_HELD.sub("", _SET_APART.sub("", side))) for side in near)


def _split_leads(text: str) -> list[str]:
    """Turn ", including ...", ", except ...", ", unless ..." into sentences of their own."""
    for pattern, lead in _LEADS:
        match = pattern.search(text)
        if match is None:
            continue
        left, right = text[: match.start()], text[match.end() :]
        if len(left.split()) >= MIN_LEAD_WORDS and len(right.split()) >= 1:
            return [*_split_leads(left), *_split_leads(match.expand(lead) + right)]
    examples = _EXAMPLES.search(text)
    if examples is not None:
        left, right = text[: examples.start()], text[examples.end() :]
        if (
            len(left.split()) >= MIN_LEAD_WORDS
            and not left.startswith(tuple(lead for _, lead in _LEADS))
            and right.strip(" .")
            and not _NOT_A_LIST.search(right)
        ):
            return [*_split_leads(left), ("For example: " if examples.group(1) else "This includes ") + right]
    which = _WHICH.search(text)
    if which is not None:
        left, right = text[: which.start()], text[which.end() :]
        if len(left.split()) >= MIN_CLAUSE_WORDS and len(right.split()) >= MIN_LEAD_WORDS:
            subject = "These " if which.group(1).lower() in _PLURAL_VERBS else "This "
            return [*_split_leads(left), *_split_leads(subject + right)]
    return [text]


def _split_clauses(text: str) -> list[str]:
    """Cut at ", and"/", or"/", but" where both sides are clauses, not items of a list."""
    parts: list[str] = []
    while (cut := _clause_cut(text)) is not None:
        parts.append(text[: cut[0]])
        text = text[cut[1] :]
    return [*parts, text]


def _clause_cut(text: str) -> tuple[int, int] | None:
    for match in _CLAUSE_JOIN.finditer(text):
        left, right = text[: match.start()], text[match.end() :]
        # A comma earlier in the clause means a list ("A, B, or C"): not a place to cut,
        # unless a clause of its own follows ("..., and must agree to ...").
        if ("," in left or ":" in left) and not _STARTS_CLAUSE.match(right):
            return None
        if len(left.split()) >= MIN_CLAUSE_WORDS and len(right.split()) >= MIN_CLAUSE_WORDS:
            return match.start(), match.end()
    return None


def _sentence(text: str) -> str:
    """Make a fragment a sentence: trimmed, capitalised, with a full stop."""
    # "point of view .." in the registry: one full stop ends a sentence.
    text = _DANGLING.sub("", re.sub(r"\s*(?<!\.)\.\.$", ".", text.strip().strip(",;").strip()))
    if not text:
        return ""
    if text[0].islower():
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?:" else text + "."
