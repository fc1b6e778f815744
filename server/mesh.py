"""MeSH terms the registry derived, in NLM's own form and joined to the record's conditions and interventions."""

from __future__ import annotations

import re

from .trials import MeshTerm, Trial

# MeSH unique IDs grew from 7 to 10 characters in 2014, the number series running on
# (NLM Technical Bulletin 2013 Mar-Apr, "MeSH Unique Identifiers: Length Expanding to Ten
# Characters"): D065886 is old, D000067877 new. The registry also writes some old IDs padded
# (D000000230 for D000230). Below these numbers, the highest 7-character IDs the registry's
# records show, a padded ID is an old one and goes back to its 7-character form.
_SEVEN_CHARACTER_SERIES = {"D": 65887, "C": 584544}
_MESH_UI = re.compile(r"^([CD])(\d{6}|\d{9})$")


def mesh_ui(registry_id: str) -> str | None:
    """Return the MeSH unique ID NLM uses for one the registry wrote, or None if it is not one."""
    match = _MESH_UI.match(registry_id.strip())
    if match is None:
        return None
    letter, digits = match.groups()
    if len(digits) == 9 and int(digits) < _SEVEN_CHARACTER_SERIES[letter]:
        return f"{letter}{int(digits):06d}"
    return f"{letter}{digits}"


def conditions(trial: Trial) -> list[tuple[str, MeshTerm | None]]:
    """List the record's conditions, each with its MeSH term when the names agree, then the other terms."""
    by_name = {term.term.casefold(): term for term in trial.condition_mesh.terms}
    named: dict[str, tuple[str, MeshTerm | None]] = {}
    for label in trial.conditions:
        named.setdefault(label.casefold(), (label, by_name.get(label.casefold())))
    for term in trial.condition_mesh.terms:
        named.setdefault(term.term.casefold(), (term.term, term))
    return list(named.values())


def intervention_terms(trial: Trial) -> tuple[list[list[MeshTerm]], list[MeshTerm]]:
    """Give each intervention the MeSH terms its names hold; return those left over too.

    The registry derives MeSH terms for the interventions as a whole, so a term goes to each
    intervention whose name or other names contain it (or are contained in it) as whole words.
    """
    terms = {t.id: t for t in trial.intervention_mesh.terms}.values()
    per_intervention = [
        [t for t in terms if any(_mentions(t.term, name) for name in (item.name, *item.other_names))]
        for item in trial.interventions
    ]
    matched = {t.id for hits in per_intervention for t in hits}
    return per_intervention, [t for t in terms if t.id not in matched]


def _mentions(term: str, name: str) -> bool:
    """Say whether the shorter of two names (4 letters or more) is a whole-word part of the longer."""
    a, b = term.casefold(), name.casefold()
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 4 and re.search(rf"(?<!\w){re.escape(short)}(?!\w)", long) is not None
