"""Give a part cut off at "and"/"or" its subject again: "And be willing" -> "You must also be willing"."""

from __future__ import annotations

import re

# A cut part that opens with "and"/"or"/"but" and a verb has no subject of its own ("And be willing ...").
_BARE_VERB = re.compile(
    r"(and|or|but)\s+(?=(?:has|have|had|is|are|was|were|be|been|must|should|will|would|can|could|may|might|need"
    r"|needs|agree|agrees|plan|plans|use|uses|sign|signs|do|does|did|get|gets|take|takes|meet|meets|show|shows)"
    r"\s(?!(?:or|and|of)\s))",
    re.IGNORECASE,
)
# "You must ...": the subject (and its "must") a part without one takes from the sentence before it.
_YOU_MODAL = re.compile(
    r"You\s+(?:((?:must|should|will|can|may|need\s+to)(?:\s+not)?)\s+)?(?:(be\s+(?:willing|able)\s+to|agree\s+to)\s+)?"
)
_BE_HAVE = frozenset({"be", "been", "have", "has", "had", "is", "are", "was", "were"})
_MODAL = re.compile(r"(?:must|should|will|can|may)\s", re.IGNORECASE)
_YOU_BE = {"is": "are", "was": "were"}
# "You cannot join if they have A. And are not getting B": the "and" clause belongs to the "if" clause.
_SUBORDINATE = re.compile(r"\b(?:if|when|who|that|which|unless|whose|where|while)\b", re.IGNORECASE)


def with_subjects(parts: list[str]) -> list[str]:
    """Give a part that opens "And be ..." the subject it was cut from, or join it back to it."""
    out: list[str] = []
    head = ""  # the last part that has a subject of its own
    for part in parts:
        bare = _BARE_VERB.match(part.strip())
        if bare is None or not out:
            out.append(part)
            head = part.strip()
            continue
        joint, rest = bare.group(1).lower(), part.strip()[bare.end() :]
        you = _YOU_MODAL.match(head)
        if you is not None and not _SUBORDINATE.search(head):
            out.append(_you_again(joint, you, rest))
        else:
            # No subject to repeat: the part stays in its sentence, where it is a clause.
            out[-1] = out[-1].rstrip() + f" {joint} {rest}"
    return out


def _you_again(joint: str, you: re.Match[str], rest: str) -> str:
    """Write "and be willing" after "You must ..." as "You must also be willing"."""
    verb, _, after = rest.partition(" ")
    # "You must be willing to adhere. And sign": "sign" is what you must be willing to do; "and be"
    # and "and have" stand beside "must".
    willing = you.group(2) if you.group(2) and verb.lower() not in _BE_HAVE and not _MODAL.match(rest) else None
    said = [] if _MODAL.match(rest) else [*(you.group(1) or "").split(), *(willing or "").split()]
    if joint != "and":
        return " ".join([joint.capitalize(), "you", *said, rest])
    if said:
        return " ".join(["You", said[0], "also", *said[1:], rest])
    if _MODAL.match(rest):
        return f"You {verb} also {after}"
    if verb.lower() in ("are", "is", "were", "was"):
        return f"You {_YOU_BE.get(verb.lower(), verb)} also {after}"
    return f"You also {rest}"
