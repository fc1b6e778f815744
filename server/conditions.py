"""Condition slugs: the names of condition pages and feeds."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .trials import Trial

_NON_WORD = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 200


@dataclass(frozen=True)
class ConditionRef:
    """One condition a trial is filed under."""

    slug: str
    label: str
    mesh_id: str | None = None
    is_ancestor: bool = False


def slugify(text: str) -> str:
    """Turn a condition name into a URL slug: ``Multiple Myeloma`` -> ``multiple-myeloma``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_WORD.sub("-", ascii_text.lower()).strip("-")[:MAX_SLUG].rstrip("-")


def trial_conditions(trial: Trial) -> list[ConditionRef]:
    """List the conditions a trial is filed under, each slug once.

    MeSH terms come first, then their ancestors (so ``neoplasms`` gathers every cancer
    trial); a record with no MeSH term is filed under its own condition text.
    """
    refs: dict[str, ConditionRef] = {}
    mesh = trial.condition_mesh
    for term in mesh.terms:
        refs.setdefault(slugify(term.term), ConditionRef(slugify(term.term), term.term, term.id))
    for term in mesh.ancestors:
        slug = slugify(term.term)
        refs.setdefault(slug, ConditionRef(slug, term.term, term.id, is_ancestor=True))
    if not mesh.terms:
        for text in trial.conditions:
            slug = slugify(text)
            if slug:
                refs.setdefault(slug, ConditionRef(slug, text.strip()))
    return [ref for ref in refs.values() if ref.slug]
