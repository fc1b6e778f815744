"""Which of a trial's sites a reader sees first: nearest to a point, in their countries, open ones first."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .trials import GeoPoint, Location

# Sites taking participants come first, then those about to, then the rest.
_OPENNESS = {"RECRUITING": 0, "AVAILABLE": 0, "ENROLLING_BY_INVITATION": 1, "NOT_YET_RECRUITING": 1}
_EARTH_KM = 6371.0


@dataclass(frozen=True)
class RankedSite:
    """A site with its distance from the reader's point, when both are known."""

    location: Location
    km: float | None = None


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Return the great-circle distance between two points (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_sites(
    locations: Sequence[Location],
    near: GeoPoint | None = None,
    countries: Sequence[str] = (),
    limit: int = 5,
) -> list[RankedSite]:
    """Rank sites: by distance from ``near`` if given, else those in ``countries`` and open ones first.

    Ties keep the registry's order, so the same record always lists the same sites.
    """
    wanted = {c.casefold() for c in countries}

    def key(indexed: tuple[int, RankedSite]) -> tuple[float, int, int, int]:
        index, site = indexed
        loc = site.location
        far = site.km if site.km is not None else (math.inf if near else 0.0)
        elsewhere = int(bool(wanted) and (loc.country or "").casefold() not in wanted)
        return (far, elsewhere, _OPENNESS.get(loc.status or "", 2), index)

    ranked = [
        RankedSite(loc, distance_km(near, loc.geo) if near and loc.geo else None) for loc in locations
    ]
    return [site for _, site in sorted(enumerate(ranked), key=key)[: max(limit, 0)]]
