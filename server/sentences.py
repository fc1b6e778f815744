"""Cut a plainly worded criterion into short sentences, each a condition a reader can follow.

Cuts are made only where the original joins two things that stand on their own: semicolons and
full stops, a clause after ", and"/", or", examples and exceptions after a comma, a "which" clause,
two conditions that each carry their own limit, and items of a list that are clauses.
"""

from __future__ import annotations

import re

from .subjects import with_subjects

HOLD = "\ue000{}\ue001"
HELD = re.compile("\ue000(\\d+)\ue001")
# A long aside with numbers in it becomes sentences of its own, right after the sentence it sat in.
APART = "\ue002{}\ue003"
SET_APART = re.compile("\\s*\ue002(\\d+)\ue003")
MIN_CLAUSE_WORDS = 5
# ", or locally recurrent, ...": an alternative this short between two commas sits inside a phrase.
INSERTED_WORDS = 3
# Semicolons and full stops end sentences; the full stop of "Inc." or "Ltd." in a name does not.
_SENTENCE_ENDS = re.compile(r";|(?<=[a-z)%\ue001\ue003])(?<!\bInc)(?<!\bLtd)(?<!\bCorp)(?<!\bCo)\.\s+(?=[A-Z])")
_SHARED_OBJECT = re.compile(r"\b(?:to|for|with|of|on|in|from|by|than|take)$", re.IGNORECASE)
_CLAUSE_JOIN = re.compile(r",\s+(?=(?:and|or|but)\s)", re.IGNORECASE)
# One character of a phrase that runs to the end of its sentence: no comma, and no "and is"/"or must"
# that would join a clause of the main sentence after it.
_TO_END = (
    r"(?:(?!\b(?:and|or)\s+(?:has|have|had|is|are|was|were|be|must|should|will|would|can|could|may|might|need|needs)\b)"
    r"[^,])"
)
# A comma that opens an aside of its own becomes a sentence that says what the aside does.
_LEADS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), lead)
    for pattern, lead in (
        (r",\s+(?:including|includes)(?:,?\s+but\s+not\s+limited\s+to)?[:,]?\s+", "This includes "),
        # The examples a criterion gives: "These include" names them in plain words.
        (r",\s+such\s+as:?\s+", "These include "),
        (r",\s+(?:except|excluding|with\s+the\s+exception\s+of)(?:\s+for)?:?\s+", "This does not include "),
        (r",\s+unless\s+", "This does not apply if "),
        (r",\s+(?:defined|characterized)\s+(?:as|by):?\s+", "This means "),
        (r",?\s+because\s+", "This is because "),
        # Only when they run to the end of the sentence: "..., if any, ..." stays.
        (rf",\s+if\s+(?={_TO_END}{{12,}}$)", "This applies if "),
        (rf",\s+when\s+(?={_TO_END}{{12,}}$)", "This applies when "),
        (rf",\s+due\s+to\s+(?={_TO_END}{{8,}}$)", "This is due to "),
        (rf",\s+so\s+that\s+(?={_TO_END}{{12,}}$)", "This is so that "),
        (
            rf",?\s+as\s+(judged|shown|defined|measured|proven|confirmed|found|detected|assessed|checked)\s+(by|in|on)\s+(?={_TO_END}+$)",
            r"This is \1 \2 ",
        ),
    )
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
_BARE_LIMIT = re.compile(
    r"(?:no|not|more|less|greater|lower|higher|above|below|under|over|at\s+least|at\s+most|\d)\b", re.IGNORECASE
)
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



def split_sentences(text: str) -> list[str]:
    """Cut a text into short sentences at semicolons, full stops and clause-joining commas."""
    parts: list[str] = []
    for piece in _SENTENCE_ENDS.split(text):
        for clause in _split_leads(piece):
            for part in _split_clauses(clause):
                for item in _split_list(part):
                    for limit in _split_limits(item):
                        parts.extend(_split_long(limit))
    return with_subjects(parts)


def _split_limits(text: str) -> list[str]:
    """Cut "ANC at least 1500/µL, platelets at least 100,000/µL" where each item has its own limit."""
    items = [text[start:end] for start, end in _spans_between(_LIMIT_ITEM, text)]
    if len(items) < 2 or not all(_HAS_LIMIT.search(item) for item in items):
        return [text]
    # "not less than 19, no more than 27": two limits of one measure, the second with no name of its own.
    if any(_BARE_LIMIT.match(item) for item in items[1:]):
        return [text]
    # "A at least 3 weeks, B at least 2 weeks, and C at least 4 weeks before joining": a time at the
    # end that only the last item names belongs to all of them.
    timed = [bool(_TIMED.search(item)) for item in items]
    if timed[-1] and not all(timed):
        return [text]
    joints = [match.group(1) for match in _LIMIT_ITEM.finditer(text)]
    joined = zip(joints, items[1:], strict=True)
    return [items[0], *(f"{joint.capitalize()} {item}" if joint else item for joint, item in joined)]


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
    ends = list(_LIST_END.finditer(text))
    if not ends:
        return [text]
    last = ends[-1]
    items = [*text[: last.start()].split(", "), text[last.end() :]]
    if len(items) < 3 or any(len(item.split()) < MIN_ITEM_WORDS for item in items):
        return [text]
    if not all(_ITEM_START.match(item) for item in items[1:]):
        return [text]
    if any(_SHARED_OBJECT.search(item.rstrip()) for item in items[:-1]):
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
    return all(_NUMBER.search(HELD.sub("", SET_APART.sub("", side))) for side in near)


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
            return [*_split_leads(left), ("These include " if examples.group(1) else "This includes ") + right]
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
        # "have received, have been intolerant to, or have been ineligible for all treatment": the items
        # share what follows the last one, so none stands alone.
        if _SHARED_OBJECT.search(left):
            return None
        # "a locally advanced, or locally recurrent, unresectable disease": a short alternative set
        # off by commas inside a phrase, not a clause.
        if "," in right and len(right.split(",", 1)[0].split()) <= INSERTED_WORDS:
            return None
        if len(left.split()) >= MIN_CLAUSE_WORDS and len(right.split()) >= MIN_CLAUSE_WORDS:
            return match.start(), match.end()
    return None
