"""The diff on real versions of real records, and on edited copies for the kinds they lack."""

import copy
import itertools

import pytest

from server.diff import diff
from server.events import KINDS
from server.trials import parse_trial

from .fake_registry import read, version_files, version_index


def versions(nct: str) -> list[dict]:
    return [read(path) for path in version_files(nct)]


def kinds(changes) -> list[str]:
    return [c.kind for c in changes]


def test_every_real_status_change_is_a_status_event_and_nothing_else_is():
    for nct, entries in version_index().items():
        records = versions(nct)
        for (a, b), (ea, eb) in zip(itertools.pairwise(records), itertools.pairwise(entries), strict=True):
            changes = diff(a, b)
            status = [(c.old, c.new) for c in changes if c.kind == "status"]
            expected = [(ea["overallStatus"], eb["overallStatus"])] if ea["overallStatus"] != eb["overallStatus"] else []
            assert status == expected, (nct, eb["file"])
            assert kinds(changes) == sorted(kinds(changes), key=KINDS.index)
            assert "new" not in kinds(changes) and "removed" not in kinds(changes)


def test_not_yet_recruiting_to_recruiting():
    old, new = versions("NCT06821503")
    changes = {c.kind: c for c in diff(old, new)}
    assert set(changes) == {"status", "site_status", "dates", "eligibility", "updated"}
    assert (changes["status"].old, changes["status"].new) == ("NOT_YET_RECRUITING", "RECRUITING")
    # The old version listed its 16 sites without a status; the new one gives each its own.
    sites = changes["site_status"].detail["sites"]
    assert sorted((s["facility"], s["city"], s["change"], s["old"], s["new"]) for s in sites) == sorted(
        (loc.facility, loc.city, "status", None, loc.status) for loc in parse_trial(new).locations
    )
    assert [s["new"] for s in sites].count("RECRUITING") == 1
    assert changes["dates"].detail["fields"] == ["start"]
    assert changes["dates"].old["start"]["type"] == "ESTIMATED" and changes["dates"].new["start"]["type"] == "ACTUAL"
    assert changes["eligibility"].old == parse_trial(old).eligibility.criteria
    assert changes["eligibility"].new == parse_trial(new).eligibility.criteria
    assert changes["updated"].detail == {"fields": ["status_verified"]}


def test_a_status_change_without_a_new_update_date_is_seen():
    old, new = versions("NCT06302556")
    assert old["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] == new["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]
    [change] = diff(old, new)
    assert (change.kind, change.old, change.new) == ("status", "NOT_YET_RECRUITING", "UNKNOWN")
    assert change.detail == {"last_known_status": "NOT_YET_RECRUITING"}


def test_suspended_with_its_sites():
    records = versions("NCT07011550")
    changes = {c.kind: c for c in diff(records[0], records[1])}
    assert (changes["status"].old, changes["status"].new) == ("RECRUITING", "SUSPENDED")
    assert changes["enrollment"].old != changes["enrollment"].new
    assert set(changes["enrollment"].new) == {"count", "type"}
    # The later versions stay suspended: no status event between them.
    assert "status" not in kinds(diff(records[1], records[2]))


def test_update_dates_and_version_holder_alone_are_no_change():
    records = versions("NCT04514484")
    a, b = records[2], records[3]
    assert a != b
    assert diff(a, b) == []
    bumped = copy.deepcopy(b)
    bumped["derivedSection"]["miscInfoModule"]["versionHolder"] = "2030-01-01"
    assert diff(b, bumped) == []


def test_the_same_version_has_no_changes():
    record = versions("NCT06821503")[1]
    assert diff(record, copy.deepcopy(record)) == []
    assert diff(parse_trial(record), record) == []


# -- edited copies, for what the real versions do not show ------------------------

@pytest.fixture
def recruiting() -> dict:
    return versions("NCT06821503")[1]


def edited(record: dict, edit) -> dict:
    copy_ = copy.deepcopy(record)
    edit(copy_)
    return copy_


def test_withdrawn_is_a_status_change_with_the_reason(recruiting):
    def withdraw(r):
        r["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
        r["protocolSection"]["statusModule"]["whyStopped"] = "Sponsor decision"

    [change] = diff(recruiting, edited(recruiting, withdraw))
    assert (change.kind, change.old, change.new) == ("status", "RECRUITING", "WITHDRAWN")
    assert change.detail == {"why_stopped": "Sponsor decision"}


def test_why_stopped_alone_is_an_update(recruiting):
    def explain(r):
        r["protocolSection"]["statusModule"]["whyStopped"] = "Funding"

    assert [(c.kind, c.detail) for c in diff(recruiting, edited(recruiting, explain))] == [("updated", {"fields": ["why_stopped"]})]


def test_results_posted(recruiting):
    def post(r):
        r["hasResults"] = True
        r["protocolSection"]["statusModule"]["resultsFirstPostDateStruct"] = {"date": "2026-04-02", "type": "ACTUAL"}

    [change] = diff(recruiting, edited(recruiting, post))
    assert (change.kind, change.old, change.new) == ("results", None, "2026-04-02")
    # Results already posted, posted again: no second event.
    assert diff(edited(recruiting, post), edited(recruiting, post)) == []


def test_a_site_closes_another_is_dropped_and_one_is_added(recruiting):
    sites = recruiting["protocolSection"]["contactsLocationsModule"]["locations"]
    first, second = sites[0], sites[1]

    def edit(r):
        locations = r["protocolSection"]["contactsLocationsModule"]["locations"]
        locations[0]["status"] = "COMPLETED"
        del locations[1]
        locations.append({"facility": "Hôpital Test", "city": "Lyon", "country": "France", "status": "NOT_YET_RECRUITING"})

    [change] = diff(recruiting, edited(recruiting, edit))
    assert change.kind == "site_status"
    by_facility = {s["facility"]: s for s in change.detail["sites"]}
    assert by_facility[first["facility"]] == {
        "change": "status", "facility": first["facility"], "city": first.get("city"), "state": first.get("state"),
        "country": first.get("country"), "old": first.get("status"), "new": "COMPLETED",
    }
    assert (by_facility[second["facility"]]["change"], by_facility[second["facility"]]["new"]) == ("removed", None)
    assert by_facility["Hôpital Test"] == {
        "change": "added", "facility": "Hôpital Test", "city": "Lyon", "state": None, "country": "France",
        "old": None, "new": "NOT_YET_RECRUITING",
    }
    assert len(change.detail["sites"]) == 3


def test_a_site_contact_change_is_an_update_of_locations(recruiting):
    def edit(r):
        r["protocolSection"]["contactsLocationsModule"]["locations"][0]["zip"] = "00000"

    assert [(c.kind, c.detail) for c in diff(recruiting, edited(recruiting, edit))] == [("updated", {"fields": ["locations"]})]


def test_enrollment_and_other_fields(recruiting):
    def edit(r):
        r["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": 999, "type": "ACTUAL"}
        r["protocolSection"]["designModule"]["phases"] = ["PHASE3"]
        r["protocolSection"]["identificationModule"]["briefTitle"] = "A new title"

    changes = diff(recruiting, edited(recruiting, edit))
    assert kinds(changes) == ["enrollment", "updated"]
    assert changes[0].new == {"count": 999, "type": "ACTUAL"}
    assert changes[1].detail == {"fields": ["brief_title", "design.phases"]}
