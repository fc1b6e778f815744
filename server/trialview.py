"""Everything a trial page shows, worked out from the record and its events (pure).

The template only lays this out; the FAQ answers here are also the ones the page's
FAQPage JSON-LD carries, so what search engines read is what people read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from . import explain
from .conditions import ConditionRef, trial_conditions
from .eligibility import EXCLUSION, INCLUSION, Criterion, split_criteria
from .events import Event
from .glossary import Glossary
from .plain import Plain, plain_english
from .trials import Arm, Contact, Intervention, Location, Outcome, Trial

# A huge record must still give a page a phone can load: lists are cut, with a count of the rest.
SITES_PER_COUNTRY = 40
SITES_ON_PAGE = 150
OUTCOMES_PER_KIND = 15
ARMS_ON_PAGE = 20
INTERVENTIONS_ON_PAGE = 20
SUMMARY_ANSWER_CHARS = 400
DESCRIPTION_CHARS = 160
STALE_AFTER_DAYS = 365
# Per-site statuses that mean "you may be able to join here", listed first.
OPEN_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "AVAILABLE")
HISTORY_KINDS = ("status", "site_status")
HEALTHY_VOLUNTEERS = {
    True: "accepts healthy volunteers",
    False: "does not accept healthy volunteers",
    None: "does not say whether it accepts healthy volunteers",
}

REGISTRY_STUDY = "https://clinicaltrials.gov/study/{nct_id}"
ICTRP_TRIAL = "https://trialsearch.who.int/Trial2.aspx?TrialID={nct_id}"
SOURCES = (
    ("MedlinePlus: Clinical trials", "https://medlineplus.gov/clinicaltrials.html",
     "plain-language background from the U.S. National Library of Medicine (NLM)."),
    ("FDA: Clinical trials — what patients need to know", "https://www.fda.gov/patients/clinical-trials-what-patients-need-know",
     "how the U.S. Food and Drug Administration oversees trials and approves treatments."),
    ("NCI: Clinical trials information for patients", "https://www.cancer.gov/research/participate/clinical-trials",
     "the National Cancer Institute's guide to taking part in a trial."),
)


@dataclass(frozen=True)
class CriterionView:
    """One criterion: its original wording, its plain rendering, and the items under it."""

    original: str
    plain: Plain
    children: tuple[CriterionView, ...] = ()


@dataclass(frozen=True)
class CriteriaSection:
    kind: str
    heading: str
    items: tuple[CriterionView, ...]


@dataclass(frozen=True)
class CountrySites:
    """The sites of one country: all counted, the first ones listed."""

    country: str
    total: int
    statuses: tuple[tuple[str, int], ...]  # (status label, sites)
    sites: tuple[Location, ...]

    @property
    def hidden(self) -> int:
        return self.total - len(self.sites)


@dataclass(frozen=True)
class OutcomeList:
    title: str
    shown: tuple[Outcome, ...]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


@dataclass(frozen=True)
class HistoryEntry:
    date: str
    text: str
    kind: str


@dataclass(frozen=True)
class Freshness:
    data_as_of: dt.datetime
    last_update_posted: str | None
    status_verified: str | None
    verified_days_ago: int | None

    @property
    def stale(self) -> bool:
        return self.verified_days_ago is not None and self.verified_days_ago > STALE_AFTER_DAYS


@dataclass(frozen=True)
class Question:
    question: str
    answer: str


@dataclass(frozen=True)
class TrialPage:
    """The trial page's content, in the order the page shows it."""

    trial: Trial
    opening: str
    description: str
    status_label: str
    phases_label: str
    study_type_label: str
    phase_meanings: tuple[str, ...]
    study_type_meaning: str | None
    status_meaning: str | None
    enrollment: str | None
    age: str
    sex: str
    criteria: tuple[CriteriaSection, ...]
    interventions: tuple[Intervention, ...]
    arms: tuple[Arm, ...]
    criteria_notes: tuple[str, ...]
    countries: tuple[CountrySites, ...]
    site_count: int
    open_site_count: int
    outcomes: tuple[OutcomeList, ...]
    history: tuple[HistoryEntry, ...]
    freshness: Freshness
    faq: tuple[Question, ...]
    conditions: tuple[ConditionRef, ...]
    registry_url: str
    ictrp_url: str
    sources: tuple[tuple[str, str, str], ...]


def build_trial_page(
    trial: Trial, *, data_as_of: dt.datetime, events: Sequence[Event], glossary: Glossary, today: dt.date
) -> TrialPage:
    """Work out a trial page from its record, the events we recorded and today's date."""
    posted = trial.last_update_posted.date.isoformat() if trial.last_update_posted else None
    opening = explain.opening_sentence(trial, posted)
    criteria, notes = _criteria(trial, glossary)
    countries = _countries(trial.locations)
    freshness = Freshness(
        data_as_of=data_as_of,
        last_update_posted=posted,
        status_verified=trial.status_verified.isoformat() if trial.status_verified else None,
        verified_days_ago=(today - trial.status_verified.earliest()).days if trial.status_verified else None,
    )
    page = TrialPage(
        trial=trial,
        opening=opening,
        description=_shorten(opening, DESCRIPTION_CHARS),
        status_label=explain.label(trial.overall_status, explain.STATUS_LABELS),
        phases_label=explain.phases_label(trial),
        study_type_label=explain.label(trial.design.study_type, explain.STUDY_TYPE_LABELS),
        phase_meanings=tuple(explain.PHASE_MEANINGS[p] for p in trial.design.phases if p in explain.PHASE_MEANINGS),
        study_type_meaning=explain.STUDY_TYPE_MEANINGS.get(trial.design.study_type or ""),
        status_meaning=explain.STATUS_MEANINGS.get(trial.overall_status or ""),
        enrollment=explain.enrollment_words(trial.design.enrollment, trial.design.enrollment_type),
        age=explain.age_words(trial.eligibility.minimum_age, trial.eligibility.maximum_age),
        sex=explain.SEX_WORDS.get(trial.eligibility.sex or "", "Not stated"),
        criteria=criteria,
        interventions=trial.interventions[:INTERVENTIONS_ON_PAGE],
        arms=trial.arms[:ARMS_ON_PAGE],
        criteria_notes=notes,
        countries=countries,
        site_count=len(trial.locations),
        open_site_count=sum(1 for loc in trial.locations if loc.status in OPEN_STATUSES),
        outcomes=tuple(
            OutcomeList(title, outcomes[:OUTCOMES_PER_KIND], len(outcomes))
            for title, outcomes in (
                ("Primary outcomes", trial.primary_outcomes),
                ("Secondary outcomes", trial.secondary_outcomes),
                ("Other outcomes", trial.other_outcomes),
            )
            if outcomes
        ),
        history=tuple(entry for e in events if e.kind in HISTORY_KINDS for entry in _history(e)),
        freshness=freshness,
        faq=(),
        conditions=tuple(trial_conditions(trial)),
        registry_url=REGISTRY_STUDY.format(nct_id=trial.nct_id),
        ictrp_url=ICTRP_TRIAL.format(nct_id=trial.nct_id),
        sources=SOURCES,
    )
    return _with_faq(page)


def _criteria(trial: Trial, glossary: Glossary) -> tuple[tuple[CriteriaSection, ...], tuple[str, ...]]:
    text = trial.eligibility.criteria
    if not text:
        return (), ()
    split = split_criteria(text)

    def view(item: Criterion) -> CriterionView:
        return CriterionView(item.text, plain_english(item.text, glossary), tuple(view(c) for c in item.children))

    headings = {INCLUSION: "You may be able to join if", EXCLUSION: "You cannot join if"}
    sections = tuple(
        CriteriaSection(s.kind, s.heading or headings.get(s.kind, "Criteria"), tuple(view(i) for i in s.items))
        for s in split.sections
    )
    return sections, split.notes


def _countries(locations: Sequence[Location]) -> tuple[CountrySites, ...]:
    by_country: dict[str, list[Location]] = {}
    for loc in locations:
        by_country.setdefault(loc.country or "Country not given", []).append(loc)
    ordered = sorted(by_country.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    budget = SITES_ON_PAGE
    result = []
    for country, sites in ordered:
        # Sites open to participants first, then by city.
        sites = sorted(sites, key=lambda s: (s.status not in OPEN_STATUSES, s.city or "", s.facility or ""))
        shown = sites[: max(0, min(SITES_PER_COUNTRY, budget))]
        budget -= len(shown)
        counts = Counter(explain.label(s.status, explain.STATUS_LABELS) if s.status else "Not given" for s in sites)
        result.append(CountrySites(country, len(sites), tuple(counts.most_common()), tuple(shown)))
    return tuple(result)


def _history(event: Event) -> list[HistoryEntry]:
    """Say what an event changed: the overall status, or the status of each site it names."""
    date = event.registry_last_update or event.detected_at.date().isoformat()
    if event.kind == "status":
        old, new = _status(event.old), _status(event.new)
        text = f"Overall status changed from {old} to {new}" if event.old else f"Overall status: {new}"
        if event.detail.get("why_stopped"):
            text += f" (reason given: {event.detail['why_stopped']})"
        return [HistoryEntry(date, text, event.kind)]
    entries = []
    for site in event.detail.get("sites", []):
        where = ", ".join(str(site[key]) for key in ("facility", "city", "country") if site.get(key)) or "A site"
        change = site.get("change")
        if change == "added":
            text = f"{where}: site added ({_status(site.get('new'))})"
        elif change == "removed":
            text = f"{where}: site no longer listed (was {_status(site.get('old'))})"
        else:
            text = f"{where}: {_status(site.get('old'))} to {_status(site.get('new'))}"
        entries.append(HistoryEntry(date, text, event.kind))
    return entries


def _status(code: object) -> str:
    return explain.label(code, explain.STATUS_LABELS) if isinstance(code, str) else "status not given"


def _with_faq(page: TrialPage) -> TrialPage:
    trial = page.trial
    nct = trial.nct_id
    studying = _shorten(trial.brief_summary or trial.official_title or trial.brief_title, SUMMARY_ANSWER_CHARS)
    if trial.conditions:
        studying += f" Conditions studied: {', '.join(trial.conditions)}."
    if trial.interventions:
        studying += f" Treatments tested: {', '.join(i.name for i in trial.interventions[:5])}."
    inclusion = sum(len(s.items) for s in page.criteria if s.kind == INCLUSION)
    exclusion = sum(len(s.items) for s in page.criteria if s.kind == EXCLUSION)
    healthy = HEALTHY_VOLUNTEERS[trial.eligibility.healthy_volunteers]
    who = f"People aged {page.age} ({page.sex.lower()}); the study {healthy}."
    if inclusion or exclusion:
        who += (
            f" The record lists {inclusion} inclusion and {exclusion} exclusion criteria, shown on this page in "
            "plain words next to the original text."
        )
    who += " Only the study team can confirm whether you qualify, after screening; talk to your doctor first."
    contacts = [c for c in trial.central_contacts if c.name or c.phone or c.email]
    if contacts:
        contact = "The record lists these study contacts: " + "; ".join(_contact_words(c) for c in contacts) + "."
    else:
        contact = "The record lists no central contact for the study."
    if page.site_count:
        contact += (
            f" It lists {page.site_count} site{'s' if page.site_count != 1 else ''} in "
            f"{len(page.countries)} countr{'ies' if len(page.countries) != 1 else 'y'} (see Locations); "
            "the registry record has each site's contact details."
        )
    contact += " Talk to your doctor before you contact a site."
    safe = (
        "Every trial carries some risk, and the risks differ from trial to trial. In the United States, trials are "
        "overseen by ethics boards (IRBs) and, for drugs and devices, by the FDA. Before you join, the study team must "
        "explain the known risks in an informed consent document; you can ask questions and leave the study at any "
        "time."
    )
    if page.phase_meanings:
        safe += " " + page.phase_meanings[0]
    if trial.oversight.has_dmc:
        safe += " This study has a data monitoring committee that reviews its safety as it goes on."
    check = (
        f"Everything on this page comes from the ClinicalTrials.gov record of {nct}, at {page.registry_url}. "
        "The registry record is the official version; check it, and ask the study team, before you make plans."
    )
    faq = (
        Question(f"What is the {nct} trial studying?", studying),
        Question(f"Who can take part in {nct}?", who),
        Question(f"How do I contact the trial site for {nct}?", contact),
        Question("Is taking part in a clinical trial safe?", safe),
        Question(f"Where can I check the information about {nct}?", check),
    )
    return dataclasses.replace(page, faq=faq)


def _contact_words(contact: Contact) -> str:
    return ", ".join(p for p in (contact.name, contact.phone, contact.email) if p)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _shorten(text: str, limit: int) -> str:
    """Cut text at a sentence or word boundary near a length, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.start() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] > limit // 2:
        return cut[: ends[-1]]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"
