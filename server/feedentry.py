"""One feed entry's body: the change, the trial in brief and its nearest sites, as HTML and text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from .changetext import change_lines, told_detail
from .events import Event
from .eventtext import describe, field_words, kind_label, phase_words, status_word, summary_line, xml_text
from .sites import nearest_sites
from .trials import GeoPoint, Location, Trial


@dataclass(frozen=True)
class EntryContext:
    """What shapes every entry of one feed document besides the event: where links go, whose sites."""

    base_url: str
    near: GeoPoint | None = None
    countries: tuple[str, ...] = ()
    max_sites: int = 5


def trial_url(base_url: str, nct_id: str) -> str:
    """Return the URL of a trial's page."""
    return f"{base_url}/trials/{nct_id}"


def categories(event: Event, trial: Trial | None) -> list[tuple[str, str]]:
    """List an entry's categories as (term, label): the event kind, the status, the phases."""
    cats = [(event.kind, kind_label(event.kind))]
    status = event.new if event.kind == "status" and isinstance(event.new, str) else None
    status = status or (trial.overall_status if trial else None)
    if status:
        cats.append((status, status_word(status).capitalize()))
    for phase in trial.design.phases if trial else ():
        cats.append((phase, phase_words((phase,))))
    return cats


def entry_text(event: Event, trial: Trial | None) -> str:
    """Say the change and the trial in a sentence or two of plain text."""
    parts = [f"{kind_label(event.kind)}: {'; '.join(change_lines(event))}"]
    if trial and (line := summary_line(trial)):
        parts.append(line)
    return xml_text(" ".join(parts))


def entry_html(event: Event, trial: Trial | None, ctx: EntryContext) -> str:
    """Write an entry's content: the change, the trial's facts and its nearest sites, all escaped."""
    lines = change_lines(event)
    if len(lines) == 1:
        out = [f"<p><strong>{_e(kind_label(event.kind))}</strong>: {_e(lines[0])}</p>"]
    else:
        out = [f"<p><strong>{_e(kind_label(event.kind))}</strong>:</p>", _list(lines)]
    out += _detail(event)
    if trial is None:
        out.append(f"<p>{_e(event.nct_id)} is no longer in this copy of the registry.</p>")
    else:
        if line := summary_line(trial):
            out.append(f"<p>{_e(line)}</p>")
        out.append(_list(f"{k}: {v}" for k, v in _facts(trial)))
        out += _sites(trial.locations, ctx)
    ct_gov = f"https://clinicaltrials.gov/study/{event.nct_id}"
    out.append(
        f'<p><a href="{_e(trial_url(ctx.base_url, event.nct_id))}">Trial page</a>'
        f' · <a href="{_e(ct_gov)}">Record on ClinicalTrials.gov</a></p>'
    )
    return "\n".join(out)


def _facts(trial: Trial) -> list[tuple[str, str]]:
    facts = [("Status", status_word(trial.overall_status))]
    if trial.conditions:
        facts.append(("Conditions", "; ".join(trial.conditions)))
    if trial.lead_sponsor:
        facts.append(("Sponsor", trial.lead_sponsor.name))
    if trial.design.phases:
        facts.append(("Phase", phase_words(trial.design.phases)))
    if trial.design.enrollment is not None:
        kind = f" ({trial.design.enrollment_type.lower()})" if trial.design.enrollment_type else ""
        facts.append(("Enrollment", f"{trial.design.enrollment}{kind}"))
    return facts


def _detail(event: Event) -> list[str]:
    told = told_detail(event)
    items = [(k, v) for k, v in sorted(event.detail.items()) if v not in (None, "", [], {}) and k not in told]
    return [_list(f"{field_words(k).capitalize()}: {describe(v)}" for k, v in items)] if items else []


def _sites(locations: tuple[Location, ...], ctx: EntryContext) -> list[str]:
    ranked = nearest_sites(locations, near=ctx.near, countries=ctx.countries, limit=ctx.max_sites)
    if not ranked:
        return []
    shown = f"{len(ranked)} of {len(locations)} sites" if len(ranked) < len(locations) else "Sites"
    lines = []
    for site in ranked:
        loc = site.location
        place = ", ".join(p for p in (loc.facility, loc.city, loc.state, loc.country) if p)
        extra = [status_word(loc.status)] if loc.status else []
        if site.km is not None:
            extra.append(f"{site.km:,.0f} km away")
        lines.append(f"<li>{_e(place or 'Unnamed site')}{_e(' — ' + ', '.join(extra)) if extra else ''}</li>")
    return [f"<p>{_e(shown)}:</p>", "<ul>" + "".join(lines) + "</ul>"]


def _list(lines: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"


def _e(text: str) -> str:
    return escape(xml_text(text), quote=True)
