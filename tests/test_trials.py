import copy
import json
from pathlib import Path

import pytest

from server.dates import PartialDate
from server.errors import InvalidRecord
from server.trials import canonical_nct_id, content_hash, parse_trial

from .conftest import PARTIAL, STUDIES

ALL_STUDIES = sorted(STUDIES.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_enough_real_records_are_fixtures():
    assert len(ALL_STUDIES) >= 300


@pytest.mark.parametrize("path", ALL_STUDIES, ids=lambda p: p.stem)
def test_every_real_record_parses(path):
    record = load(path)
    trial = parse_trial(record, path.name)
    protocol = record["protocolSection"]
    assert trial.nct_id == path.stem
    assert trial.overall_status == protocol["statusModule"]["overallStatus"]
    assert len(trial.locations) == len(protocol.get("contactsLocationsModule", {}).get("locations", []))
    assert trial.design.phases == tuple(protocol["designModule"].get("phases", []))
    assert trial.has_results is record["hasResults"]
    assert len(trial.condition_mesh.terms) == len(record["derivedSection"].get("conditionBrowseModule", {}).get("meshes", []))


@pytest.mark.parametrize("path", sorted(PARTIAL.glob("*.json")), ids=lambda p: p.stem)
def test_records_missing_modules_parse(path):
    trial = parse_trial(load(path), path.name)
    assert trial.nct_id == path.stem


def test_a_record_is_read_field_by_field():
    trial = parse_trial(load(STUDIES / "NCT00001908.json"))
    assert trial.brief_title == "T Cell Cytokine Changes During IL-4 Receptor Treatment for Asthma"
    assert trial.secondary_ids[0].id == "99-I-0114"
    assert trial.status_verified == PartialDate(2001, 7)
    assert trial.start is not None and trial.start.date == PartialDate(1999, 6) and trial.start.type is None
    assert trial.last_update_posted is not None
    assert trial.last_update_posted.date == PartialDate(2008, 3, 4)
    assert trial.last_update_posted.type == "ESTIMATED"
    assert trial.lead_sponsor is not None and trial.lead_sponsor.kind == "NIH"
    assert trial.design.study_type == "OBSERVATIONAL" and trial.design.enrollment == 40
    assert trial.locations[0].geo is not None and trial.locations[0].geo.lat == pytest.approx(38.98067)
    assert trial.condition_mesh.terms[0].id == "D001249"
    assert trial.countries == ("United States",)


def minimal(**protocol) -> dict:
    return {"protocolSection": {"identificationModule": {"nctId": "NCT01234567", "briefTitle": "T"}, **protocol}}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ([], "(top level)"),
        ("text", "(top level)"),
        ({"studies": []}, "protocolSection"),
        ({"protocolSection": {}}, "protocolSection.identificationModule.nctId"),
        ({"protocolSection": {"identificationModule": {"nctId": "12345"}}}, "protocolSection.identificationModule.nctId"),
        ({"protocolSection": {"identificationModule": {"nctId": 7}}}, "protocolSection.identificationModule.nctId"),
        (minimal(statusModule={"overallStatus": ["RECRUITING"]}), "protocolSection.statusModule.overallStatus"),
        (minimal(statusModule={"startDateStruct": {"date": "June 2020"}}), "protocolSection.statusModule.startDateStruct.date"),
        (minimal(designModule={"enrollmentInfo": {"count": "40"}}), "protocolSection.designModule.enrollmentInfo.count"),
        (minimal(conditionsModule={"conditions": "Asthma"}), "protocolSection.conditionsModule.conditions"),
        (minimal(contactsLocationsModule={"locations": ["Boston"]}), "protocolSection.contactsLocationsModule.locations[0]"),
        (minimal(designModule="INTERVENTIONAL"), "protocolSection.designModule"),
    ],
)
def test_malformed_records_name_the_field(record, field):
    with pytest.raises(InvalidRecord) as caught:
        parse_trial(record, "bad.json")
    assert caught.value.field == field
    assert "bad.json" in str(caught.value)


def test_missing_modules_read_as_empty():
    trial = parse_trial(minimal())
    assert trial.overall_status is None
    assert trial.locations == () and trial.interventions == () and trial.design.phases == ()
    assert trial.eligibility.criteria is None
    assert trial.has_results is False


def test_version_holder_does_not_change_the_content_hash():
    record = load(STUDIES / "NCT00001908.json")
    bumped = copy.deepcopy(record)
    bumped["derivedSection"]["miscInfoModule"]["versionHolder"] = "2099-01-01"
    changed = copy.deepcopy(record)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    assert content_hash(bumped) == content_hash(record)
    assert content_hash(changed) != content_hash(record)
    # Key order in the JSON does not matter either.
    assert content_hash(dict(reversed(list(record.items())))) == content_hash(record)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("NCT01234567", "NCT01234567"), ("nct01234567", "NCT01234567"), (" Nct01234567", "NCT01234567"),
     ("NCT0123456", None), ("NCT012345678", None), ("01234567", None), ("NCT0123456X", None)],
)
def test_nct_id_spellings(text, canonical):
    assert canonical_nct_id(text) == canonical
