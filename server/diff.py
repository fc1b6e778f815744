"""What changed between two versions of one trial, as typed changes; pure."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .events import Change
from .trials import DateStruct, Location, Trial, parse_trial

# Written by the registry on every update: a record that differs only here says nothing new.
_BOOKKEEPING = frozenset({"version_holder", "last_update_posted", "last_update_submitted"})
# Fields with an event kind of their own; they never appear in an `updated` list.
_OWN_KIND = frozenset(
    {
        "overall_status",
        "locations",
        "has_results",
        "results_first_posted",
        "start",
        "primary_completion",
        "completion",
        "design.enrollment",
        "design.enrollment_type",
        "eligibility.criteria",
    }
)
# Told inside a status event when the status changes with them, `updated` otherwise.
_STATUS_DETAIL = ("why_stopped", "last_known_status")
# Nested records whose own fields are named one by one in an `updated` list.
_NESTED = frozenset({"design", "eligibility", "oversight"})
_DATES = ("start", "primary_completion", "completion")


def diff(old: Trial | Mapping[str, Any], new: Trial | Mapping[str, Any]) -> list[Change]:
    """List what changed from one version of a trial to the next, in the order of KINDS."""
    before, after = _trial(old), _trial(new)
    changes = [
        change
        for change in (
            _status(before, after),
            _sites(before, after),
            _results(before, after),
            _dates(before, after),
            _enrollment(before, after),
            _eligibility(before, after),
        )
        if change is not None
    ]
    status_changed = bool(changes) and changes[0].kind == "status"
    fields = [
        name
        for name in _changed_fields(before, after)
        if not (status_changed and name in _STATUS_DETAIL)
    ]
    if _sites_changed_otherwise(before.locations, after.locations):
        fields.append("locations")
    if fields:
        changes.append(Change("updated", detail={"fields": sorted(fields)}))
    return changes


def _trial(value: Trial | Mapping[str, Any]) -> Trial:
    return value if isinstance(value, Trial) else parse_trial(value)


def _status(before: Trial, after: Trial) -> Change | None:
    if before.overall_status == after.overall_status:
        return None
    detail = {key: getattr(after, key) for key in _STATUS_DETAIL if getattr(after, key) is not None}
    return Change("status", old=before.overall_status, new=after.overall_status, detail=detail)


_SiteKey = tuple[str | None, str | None, str | None, str | None]


def _site_key(site: Location) -> _SiteKey:
    return (site.facility, site.city, site.state, site.country)


def _by_site(locations: tuple[Location, ...]) -> dict[_SiteKey, list[Location]]:
    # A record may list one facility twice; the n-th listing pairs with the n-th.
    sites: dict[_SiteKey, list[Location]] = defaultdict(list)
    for site in locations:
        sites[_site_key(site)].append(site)
    return sites


def _sites(before: Trial, after: Trial) -> Change | None:
    old_sites, new_sites = _by_site(before.locations), _by_site(after.locations)
    entries = []
    for key in sorted(old_sites.keys() | new_sites.keys(), key=_sort_key):
        olds, news = old_sites.get(key, []), new_sites.get(key, [])
        for index in range(max(len(olds), len(news))):
            old = olds[index] if index < len(olds) else None
            new = news[index] if index < len(news) else None
            if old is not None and new is not None and old.status == new.status:
                continue
            change = "added" if old is None else "removed" if new is None else "status"
            facility, city, state, country = key
            entries.append(
                {
                    "change": change,
                    "facility": facility,
                    "city": city,
                    "state": state,
                    "country": country,
                    "old": old.status if old else None,
                    "new": new.status if new else None,
                }
            )
    return Change("site_status", detail={"sites": entries}) if entries else None


def _sort_key(key: _SiteKey) -> tuple[str, ...]:
    facility, city, state, country = key
    return (country or "", state or "", city or "", facility or "")


def _sites_changed_otherwise(old: tuple[Location, ...], new: tuple[Location, ...]) -> bool:
    """Say whether sites present in both versions differ in anything but their status."""
    old_sites, new_sites = _by_site(old), _by_site(new)
    for key in old_sites.keys() & new_sites.keys():
        for a, b in zip(old_sites[key], new_sites[key], strict=False):
            if dataclasses.replace(a, status=None) != dataclasses.replace(b, status=None):
                return True
    return False


def _results(before: Trial, after: Trial) -> Change | None:
    posted_before = before.has_results or before.results_first_posted is not None
    posted_after = after.has_results or after.results_first_posted is not None
    if posted_before or not posted_after:
        return None
    posted = after.results_first_posted
    return Change("results", old=None, new=posted.date.isoformat() if posted else None)


def _date_value(value: DateStruct | None) -> dict[str, str | None] | None:
    return None if value is None else {"date": value.date.isoformat(), "type": value.type}


def _dates(before: Trial, after: Trial) -> Change | None:
    changed = [name for name in _DATES if getattr(before, name) != getattr(after, name)]
    if not changed:
        return None
    return Change(
        "dates",
        old={name: _date_value(getattr(before, name)) for name in changed},
        new={name: _date_value(getattr(after, name)) for name in changed},
        detail={"fields": changed},
    )


def _enrollment(before: Trial, after: Trial) -> Change | None:
    old = {"count": before.design.enrollment, "type": before.design.enrollment_type}
    new = {"count": after.design.enrollment, "type": after.design.enrollment_type}
    return None if old == new else Change("enrollment", old=old, new=new)


def _eligibility(before: Trial, after: Trial) -> Change | None:
    old, new = before.eligibility.criteria, after.eligibility.criteria
    return None if old == new else Change("eligibility", old=old, new=new)


def _changed_fields(before: Trial, after: Trial) -> list[str]:
    """Name every field that differs and has no event kind of its own."""
    names: list[str] = []
    for item in dataclasses.fields(Trial):
        name = item.name
        if name in _BOOKKEEPING or name in _OWN_KIND:
            continue
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        if name in _NESTED:
            names.extend(
                f"{name}.{sub.name}"
                for sub in dataclasses.fields(old)
                if f"{name}.{sub.name}" not in _OWN_KIND and getattr(old, sub.name) != getattr(new, sub.name)
            )
        else:
            names.append(name)
    return names

