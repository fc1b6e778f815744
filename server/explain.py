"""Plain words for the registry's codes: phases, statuses, study types, enrollment, ages.

Every sentence a trial page says about a field's meaning comes from here, so the page and
its FAQ say the same thing.
"""

from __future__ import annotations

import re

from .trials import Trial

PHASE_LABELS = {
    "EARLY_PHASE1": "Early Phase 1",
    "PHASE1": "Phase 1",
    "PHASE2": "Phase 2",
    "PHASE3": "Phase 3",
    "PHASE4": "Phase 4",
    "NA": "No phase",
}

PHASE_MEANINGS = {
    "EARLY_PHASE1": (
        "Early Phase 1 (also called Phase 0) studies give a very small dose to a few people, "
        "to learn how a drug acts in the body before testing it for safety."
    ),
    "PHASE1": (
        "Phase 1 studies test a treatment in people for the first time. They look at safety, "
        "at what dose to use and at how the body handles the treatment. They are usually small."
    ),
    "PHASE2": (
        "Phase 2 studies give the treatment to more people to see whether it works and to learn "
        "more about its safety and side effects."
    ),
    "PHASE3": (
        "Phase 3 studies compare the treatment with the usual treatment (or a placebo) in many "
        "people, to confirm that it works, watch for side effects and decide whether it should be approved."
    ),
    "PHASE4": (
        "Phase 4 studies follow a treatment that is already approved, to learn more about its "
        "long-term benefits and risks in everyday use."
    ),
    "NA": (
        "This study has no phase: phases apply to drug trials, and this study tests something "
        "else (for example a device, a behavior or a procedure) or only observes."
    ),
}

STUDY_TYPE_LABELS = {
    "INTERVENTIONAL": "Interventional",
    "OBSERVATIONAL": "Observational",
    "EXPANDED_ACCESS": "Expanded access",
}

STUDY_TYPE_MEANINGS = {
    "INTERVENTIONAL": (
        "In an interventional study, participants receive a treatment or other intervention "
        "chosen by the study plan."
    ),
    "OBSERVATIONAL": (
        "In an observational study, researchers watch and measure what happens to people; "
        "the study does not assign a treatment."
    ),
    "EXPANDED_ACCESS": (
        "Expanded access lets patients with a serious illness get a treatment that is not yet "
        "approved, outside a clinical trial."
    ),
}

STATUS_LABELS = {
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "RECRUITING": "Recruiting",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "SUSPENDED": "Suspended",
    "TERMINATED": "Terminated",
    "COMPLETED": "Completed",
    "WITHDRAWN": "Withdrawn",
    "UNKNOWN": "Unknown status",
    "AVAILABLE": "Available",
    "NO_LONGER_AVAILABLE": "No longer available",
    "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing",
    "WITHHELD": "Withheld",
}

STATUS_MEANINGS = {
    "NOT_YET_RECRUITING": "The study has not started to recruit participants yet.",
    "RECRUITING": "The study is looking for participants now: people who meet the criteria may be able to join.",
    "ENROLLING_BY_INVITATION": (
        "The study is enrolling people it invites, chosen from a group set in advance; "
        "it does not take other applicants."
    ),
    "ACTIVE_NOT_RECRUITING": "The study is going on, but it is not taking new participants.",
    "SUSPENDED": "The study has stopped for now and may start again.",
    "TERMINATED": "The study stopped early and will not start again.",
    "COMPLETED": "The study has ended normally.",
    "WITHDRAWN": "The study stopped before it enrolled its first participant.",
    "UNKNOWN": (
        "The registry has not heard from the study in a long time: its last status was not "
        "confirmed when it was due."
    ),
    "AVAILABLE": "The treatment can be requested through expanded access now.",
    "NO_LONGER_AVAILABLE": "The treatment can no longer be requested through expanded access.",
    "TEMPORARILY_NOT_AVAILABLE": "The treatment cannot be requested through expanded access for now.",
    "APPROVED_FOR_MARKETING": "The treatment has been approved and can be sold to the public.",
    "WITHHELD": "The registry withholds the details of this expanded access record.",
}

# Enrollment sizes, documented on the page: up to 50 is small, up to 300 medium,
# up to 1,000 large, more is very large.
ENROLLMENT_SIZES = ((50, "a small study"), (300, "a medium-sized study"), (1000, "a large study"))
VERY_LARGE = "a very large study"

SEX_WORDS = {"ALL": "All sexes", "FEMALE": "Female only", "MALE": "Male only"}

_AGE = re.compile(r"^\s*(\d+)\s+(\w+?)s?\s*$")


def label(code: str | None, labels: dict[str, str]) -> str:
    """Return the label of a registry code, or the code itself made readable."""
    if not code:
        return "Unknown"
    return labels.get(code, code.replace("_", " ").capitalize())


def phases_label(trial: Trial) -> str:
    """Name a trial's phases: "Phase 1/Phase 2", or "" for none."""
    return "/".join(label(p, PHASE_LABELS) for p in trial.design.phases if p != "NA")


def enrollment_words(count: int | None, kind: str | None) -> str | None:
    """Say the enrollment in plain words: "a target of 18 participants — a small study"."""
    if count is None:
        return None
    if count == 0:
        return "no participants enrolled" if kind == "ACTUAL" else "no enrollment target given"
    noun = "participant" if count == 1 else "participants"
    size = next((words for limit, words in ENROLLMENT_SIZES if count <= limit), VERY_LARGE)
    if kind == "ACTUAL":
        return f"{count:,} {noun} enrolled — {size}"
    return f"a target of {count:,} {noun} — {size}"


def age_words(minimum: str | None, maximum: str | None) -> str:
    """Say the age range: "18 years and older", "up to 65 years", "18 to 65 years"."""
    low, high = _age(minimum), _age(maximum)
    if low and high:
        return f"{low} to {high}"
    if low:
        return f"{low} and older"
    if high:
        return f"up to {high}"
    return "any age"


def _age(text: str | None) -> str | None:
    if not text:
        return None
    match = _AGE.match(text)
    if not match:
        return text.strip()
    number, unit = int(match.group(1)), match.group(2).lower()
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def opening_sentence(trial: Trial, as_of: str | None) -> str:
    """Describe the trial in one sentence, from its record."""
    kind = label(trial.design.study_type, STUDY_TYPE_LABELS).lower()
    phases = phases_label(trial)
    what = f"{'an' if (phases or kind)[:1].lower() in 'aeiou' else 'a'} {phases + ' ' if phases else ''}{kind} study"
    text = f"{trial.brief_title} ({trial.nct_id}) is {what}"
    if trial.conditions:
        text += " of " + _join(list(trial.conditions[:3]) + (["other conditions"] if len(trial.conditions) > 3 else []))
    if trial.lead_sponsor:
        text += f", sponsored by {trial.lead_sponsor.name}"
    status = label(trial.overall_status, STATUS_LABELS).lower()
    text += f"; {status} as of the latest registry update"
    return text + (f" ({as_of})." if as_of else ".")


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
