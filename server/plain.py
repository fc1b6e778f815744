"""Plain-English wording of one eligibility criterion.

The rendering keeps every number, unit and threshold of the original; it only changes the
words around them: comparison signs become words ("≥" -> "at least"), abbreviations and
long medical words give way to plain ones from the glossary, asides in parentheses move to
notes, and long sentences are cut at semicolons and at commas that join two clauses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from .asides import Asides, aside_sentence, take_asides
from .glossary import Glossary
from .numbered import numbered_items
from .sentences import HELD, SET_APART, split_sentences

# (pattern, words): signs and phrasings of comparison, most specific first.
_COMPARISONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        (r"(?:greater|more|higher)\s+than\s+or\s+equal\s+to", "at least"),
        (r"equal\s+to\s+or\s+(?:greater|more|higher)\s+than", "at least"),
        (r"(?:less|lower|fewer)\s+than\s+or\s+equal\s+to", "at most"),
        (r"equal\s+to\s+or\s+(?:less|lower|fewer)\s+than", "at most"),
        (r"greater\s+than", "more than"),
        (r"≥|>=|=>|⩾|≧|＞=", "at least"),
        (r"≤|<=|=<|⩽|≦|＜=", "at most"),
        (r">|＞", "more than"),
        (r"<|＜", "less than"),
    )
)
# "1.5 x ULN", "3×ULN": "times", but "1.5 x 10^9/L" keeps its multiplication sign.
_TIMES = re.compile(r"(?<=\d)\s*[x×X*]\s*(?=(?:the\s+)?(?:ULN|upper|institutional|IULN|normal|LLN|lower)\b)")
_LATIN = (
    # "e.g." opening a note names examples ("These include ..."); inside a sentence "such as" does.
    (re.compile(r"^\s*e\.\s?g\.,?", re.IGNORECASE), "these include"),
    (re.compile(r"\be\.\s?g\.,?", re.IGNORECASE), "such as"),
    (re.compile(r"\bi\.\s?e\.,?", re.IGNORECASE), "that is"),
    (re.compile(r"^\s*[Ee]g,"), "these include"),
    (re.compile(r"\b[Ee]g,"), "such as"),
    (re.compile(r"\betc\.?(?=\W*$)", re.IGNORECASE), "and so on"),
    (re.compile(r"\betc\.", re.IGNORECASE), "and so on,"),
    (re.compile(r"\bvs\.?(?=\s)", re.IGNORECASE), "versus"),
    (re.compile(r"\band\s*/\s*or\b", re.IGNORECASE), "or"),
)
_NAME_LINKS = frozenset({"for", "of", "and", "in", "on", "the", "to"})
# Where a sentence opens: the start, after a semicolon, or after a full stop before a capital.
_SENTENCE_OPENS = re.compile(r"^\s*|;\s*|(?<=[a-z)%])\.\s+(?=[A-Z])")
# After "You have ...": "and is" -> "and are", "his/her" -> "your", "he or she" -> "you".
_AGREE_VERB = re.compile(r"\b(and|or|but)\s+(has|is|was|does|agrees|understands|signs)\b", re.IGNORECASE)
_YOU_FORM = {"has": "have", "is": "are", "was": "were", "does": "do", "agrees": "agree", "understands": "understand",
             "signs": "sign"}
_THIRD_PERSON = re.compile(r"\b(?:his\s*(?:/|or)\s*her|her\s*(?:/|or)\s*his|he\s*(?:/|or)\s*she|she\s*(?:/|or)\s*he)\b",
                           re.IGNORECASE)
# "in the study doctor's view" qualifies a judgement in the middle of a sentence: said after it instead.
_JUDGE = re.compile(
    r"(?<!\bor)(?<!\band)(?<!\bor\s)(?<!\band\s),?\s*\b(?:in\s+the\s+(?:(?:treating\s+)?study\s+doctor(?:'s|s'|s)?|lead\s+study\s+doctor's)\s+(?:view|judgment)"
    r"|in\s+the\s+(?:view|judgment|opinion)\s+of\s+the\s+(?:treating\s+|lead\s+)?study\s+doctors?"
    r"|as\s+judged\s+by\s+the\s+(?:treating\s+|lead\s+)?study\s+doctors?"
    r"|as\s+the\s+study\s+doctors?\s+(?:judges?|decides?)"
    r"|(?:as\s+)?(?:based\s+on|per)\s+(?:the\s+)?(?:study\s+doctor'?s?\s+(?:judgment|check|view)"
    r"|(?:judgment|view)\s+of\s+the\s+study\s+doctors?))(?![\w']),?",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_DOUBLED_THE = re.compile(r"\b(the) the\b", re.IGNORECASE)
# "severe anaphylaxis" -> "severe severe allergic reaction", "CT scan" -> "CT scan scan": a word the
# plain words repeat is said once ("had had" is English and stays).
_DOUBLED_WORD = re.compile(r"\b(?!had\b|that\b)(\w+) \1\b", re.IGNORECASE)
# "lactating (breastfeeding)" -> "breastfeeding (breastfeeding)": an aside that repeats the words before it.
_ECHO = re.compile(r"\b([\w-]+(?: [\w-]+){0,3}) \((\1)\)", re.IGNORECASE)
# A plain word may change the article before it: "an allogeneic" -> "a donor", "a prior" -> "an earlier".
_ARTICLE_AN = re.compile(r"(?<![\w-])([Aa])n(?=\s+[b-df-gj-np-tv-z])")
_ARTICLE_A = re.compile(r"(?<![\w-])(a)(?=\s+(?!one\b|once\b)[aeio])")
# A sentence that now opens with plain words written in lower case ("WOCBP should" -> "women ...").
_SENTENCE_START = re.compile(r"((?<!\bInc)(?<!\bLtd)(?<!\bCorp)(?<!\bCo)[.!?]\s+)([a-z])")
# "..., or" at the end of an item links it to the next one; a sentence of its own ends without it.
_DANGLING = re.compile(r",?\s+(?:or|and)$", re.IGNORECASE)
_NOTE = re.compile(r"^notes?\s*:\s*", re.IGNORECASE)
# The private-use characters sentences.py marks held parts with; the text's own would be taken for them.
_PLACEHOLDER = re.compile("[\ue000-\ue003]")


@dataclass(frozen=True)
class Plain:
    """A criterion in plain words, the asides moved out of it, and the abbreviations explained."""

    text: str
    notes: tuple[str, ...] = ()
    terms: tuple[tuple[str, str], ...] = ()  # (abbreviation, what it means)


def plain_english(text: str, glossary: Glossary) -> Plain:
    """Reword one criterion plainly, keeping every number, unit and threshold."""
    # "\&lt; 37 kg/m2" in the registry: escaped signs are read as the signs they stand for.
    text = _PLACEHOLDER.sub(" ", html.unescape(text.replace("\\&", "&")))
    items = numbered_items(text)
    if len(items) > 1:
        # "... 4. Inadequate bone marrow 5. Evidence of ...": each numbered item is worded on its own.
        parts = [(marker, _plain_one(item, glossary)) for marker, item in items]
        terms: dict[str, str] = {}
        for _, part in parts:
            for short, meaning in part.terms:
                terms.setdefault(short, meaning)
        return Plain(
            text=" ".join(f"{marker} {part.text}".strip() for marker, part in parts if part.text),
            notes=tuple(note for _, part in parts for note in part.notes),
            terms=tuple(terms.items()),
        )
    return _plain_one(text, glossary)


def _plain_one(text: str, glossary: Glossary) -> Plain:
    found = Asides()
    outer = take_asides(_SPACES.sub(" ", text).strip(), found, glossary)
    outer = _reword(_agree(_opening(outer, glossary)), glossary, found.terms)
    sentences: list[str] = []
    for part in split_sentences(outer):
        # "Note: ..." sentences are asides too.
        if _NOTE.match(part.strip()):
            note = SET_APART.sub(lambda m: " (" + found.apart[int(m.group(1))] + ")", part.strip())
            found.notes.append(_NOTE.sub("", note))
            continue
        # A sentence that ends in ":" leads into a list: the phrase stays where it is.
        judged_by_many = any("doctors" in found_judge.group(0) for found_judge in _JUDGE.finditer(part))
        part, judged = _JUDGE.subn("", part) if not part.rstrip().endswith(":") else (part, 0)
        if sentence := _sentence(SET_APART.sub("", part)):
            sentences.append(sentence)
        if judged:
            sentences.append("The study doctors decide this." if judged_by_many else "The study doctor decides this.")
        for index in SET_APART.findall(part):
            aside = plain_english(found.apart[int(index)], glossary)
            sentences.append(aside_sentence(aside.text))
            found.notes.extend(aside.notes)
            for short, meaning in aside.terms:
                found.terms.setdefault(short, meaning)
    body = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), " ".join(s for s in sentences if s))
    body = HELD.sub(lambda m: "(" + _held(found.held[int(m.group(1))], glossary, found.terms) + ")", body)
    body = _ECHO.sub(r"\1", body)
    return Plain(
        text=body,
        notes=tuple(
            _note(_reword(note, glossary, found.terms), found.held) for note in found.notes
        ),
        terms=tuple(found.terms.items()),
    )


def _note(note: str, held: list[str]) -> str:
    """Make a reworded aside a note: its own held parts back in brackets, opened as a sentence."""
    return aside_sentence(_ECHO.sub(r"\1", _sentence(HELD.sub(lambda m: "(" + held[int(m.group(1))] + ")", note))))


def _opening(text: str, glossary: Glossary) -> str:
    """Reword how a criterion and each of its sentences open: "History of stroke" -> "Has had stroke"."""
    out: list[str] = []
    done = 0
    for start in _SENTENCE_OPENS.finditer(text):
        match = glossary.opening_pattern.match(text, start.end())
        if match is None or match.start() < done:
            continue
        out += [text[done : match.start()], glossary.plain_opening(match.group(0))]
        done = match.end()
    return "".join([*out, text[done:]])


def _held(text: str, glossary: Glossary, terms: dict[str, str]) -> str:
    """Reword an aside kept in its sentence: "(e.g. beta-blockers)" -> "(such as beta-blockers)"."""
    plain = _reword(text, glossary, terms)
    return "such as" + plain[len("these include") :] if plain.startswith("these include") else plain


def _agree(text: str) -> str:
    """Make the verbs and pronouns after an opening "You" agree with it ("and is" -> "and are")."""
    if not text.startswith("You "):
        return text
    text = _AGREE_VERB.sub(lambda m: m.group(1) + " " + _YOU_FORM[m.group(2).lower()], text)
    return _THIRD_PERSON.sub(lambda m: "you" if m.group(0).lower().startswith(("he", "she")) else "your", text)


def _reword(text: str, glossary: Glossary, terms: dict[str, str]) -> str:
    """Swap signs, Latin, long words and abbreviations for plain words."""
    written = text
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
    text = _DOUBLED_WORD.sub(lambda m: m.group(0) if m.group(0).lower() in written.lower() else m.group(1), text)
    return re.sub(r"\s+([,.;:!?])", r"\1", text).strip()


def _plain_word_in(glossary: Glossary) -> Callable[[re.Match[str]], str]:
    """Replace a long word unless it is part of a name ("Chronic Cluster Headache")."""

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        before = match.string[: match.start()].rstrip()
        after = match.string[match.end() :].lstrip()
        starts_sentence = not before or before[-1] in ".:;!?("
        # "Criteria for Adverse Events": the name runs on across "for", "of" and "and".
        previous = next((word for word in reversed(before.split()) if word not in _NAME_LINKS), "")
        in_name = after[:1].isupper() or (previous.istitle() and previous[-1:].isalnum())
        if found[:1].isupper() and not starts_sentence and in_name:
            return found
        # "Anaphylaxis, Angioedema, or ...": a capital in the middle of a sentence is the registry's style.
        return glossary.plain_word(found, capital=starts_sentence or found.isupper())

    return replace


def _sentence(text: str) -> str:
    """Make a fragment a sentence: trimmed, capitalised, with a full stop."""
    # "point of view .." in the registry: one full stop ends a sentence.
    text = _DANGLING.sub("", re.sub(r"\s*(?<!\.)\.\.$", ".", text.strip().strip(",;").strip()))
    # "...; or" leaves a bare "or" that links the item to the next one: not a sentence.
    if not text or text.lower().rstrip(".") in ("or", "and"):
        return ""
    # "iOS", "eGFR": a word with a capital inside keeps its case.
    # "ß" has no one-letter capital ("SS"): such a letter stays as written.
    if text[0].islower() and not text[1:2].isupper() and len(text[0].upper()) == 1:
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?:" else text + "."
