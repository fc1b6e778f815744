from server.sites import distance_km, nearest_sites
from server.trials import GeoPoint, parse_trial

from .fake_registry import read, version_files


def trial():
    return parse_trial(read(version_files("NCT05280470")[-1]))


def test_nearest_to_a_point_comes_first_with_its_distance():
    locations = trial().locations
    target = next(loc for loc in reversed(locations) if loc.geo)
    ranked = nearest_sites(locations, near=target.geo, limit=3)
    assert ranked[0].location == target and ranked[0].km == 0
    assert [s.km for s in ranked] == sorted(s.km for s in ranked)


def test_sites_in_the_asked_countries_come_first():
    locations = trial().locations
    ranked = nearest_sites(locations, countries=["spain"], limit=len(locations))
    in_spain = [loc for loc in locations if loc.country == "Spain"]
    first = [s.location for s in ranked[: len(in_spain)]]
    assert in_spain and sorted(first, key=locations.index) == in_spain
    recruiting = [loc.status == "RECRUITING" for loc in first]
    assert recruiting == sorted(recruiting, reverse=True)
    assert len(nearest_sites(locations, limit=2)) == 2


def test_distance_paris_to_london_is_about_344_km():
    assert 340 < distance_km(GeoPoint(48.8566, 2.3522), GeoPoint(51.5074, -0.1278)) < 348
