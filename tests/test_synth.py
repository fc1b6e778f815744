import zipfile
from pathlib import Path

import orjson
import pytest

from server.bench.synth import (
    CHANGE_KINDS,
    MARK,
    TITLE_PREFIX,
    Manifest,
    Synth,
    is_synthetic,
    nct_id,
    shift_months,
    write_ndjson,
    write_zip,
)
from server.bulk import read_records
from server.load import load_paths
from server.trials import content_hash, parse_trial

from .conftest import STUDIES


@pytest.fixture(scope="module")
def synth() -> Synth:
    return Synth(STUDIES, seed=7)


def test_same_seed_same_registry_other_seed_another(synth):
    again = list(Synth(STUDIES, seed=7).snapshot(30))
    assert list(synth.snapshot(30)) == again
    assert list(Synth(STUDIES, seed=8).snapshot(30)) != again


def test_every_trial_is_a_valid_record_marked_synthetic(synth):
    for index, (nct, data) in enumerate(synth.snapshot(60)):
        record = orjson.loads(data)
        trial = parse_trial(record)
        assert trial.nct_id == nct == nct_id(index)
        assert nct.startswith("NCT9")
        assert is_synthetic(record)
        assert MARK in record["protocolSection"]["conditionsModule"]["keywords"]
        assert trial.brief_title.startswith(TITLE_PREFIX)
        assert "nctIdAliases" not in record["protocolSection"]["identificationModule"]
    real = orjson.loads((STUDIES / "NCT00001908.json").read_bytes())
    assert not is_synthetic(real)


def test_statuses_are_redistributed(synth):
    statuses = {orjson.loads(data)["protocolSection"]["statusModule"]["overallStatus"] for _, data in synth.snapshot(300)}
    assert {"COMPLETED", "UNKNOWN", "RECRUITING"} <= statuses


@pytest.mark.parametrize(
    ("value", "months", "shifted"),
    [("2024-01-31", 1, "2024-02-29"), ("2024-03", -3, "2023-12"), ("1999-12-15", 1, "2000-01-15"), ("2010-05-31", -36, "2007-05-31")],
)
def test_shift_months_keeps_precision(value, months, shifted):
    assert shift_months(value, months) == shifted


def test_a_later_snapshot_changes_exactly_what_its_manifest_says(synth):
    size = 80
    before = {nct: orjson.loads(data) for nct, data in synth.snapshot(size)}
    manifest = Manifest()
    after = {nct: orjson.loads(data) for nct, data in synth.changed_snapshot(size, 20, removed=3, added=2, manifest=manifest)}
    later = synth.day(1).isoformat()
    assert set(after) == (set(before) - set(manifest.removed)) | set(manifest.added)
    assert len(manifest.changed) == 20 and len(manifest.removed) == 3 and len(manifest.added) == 2
    assert sum(manifest.counts()[kind] for kind in CHANGE_KINDS) == 20
    for nct, record in after.items():
        # The registry's daily release bumps versionHolder everywhere; only real changes count.
        assert record["derivedSection"]["miscInfoModule"]["versionHolder"] == later
        if nct in manifest.added:
            continue
        changed = content_hash(record) != content_hash(before[nct])
        assert changed == (nct in manifest.changed), nct
    for nct, kind in manifest.changed.items():
        old, new = parse_trial(before[nct]), parse_trial(after[nct])
        assert new.last_update_posted.date.isoformat() == later
        if kind == "status":
            assert old.overall_status != new.overall_status
        elif kind == "site_status":
            assert [s.status for s in old.locations] != [s.status for s in new.locations]
        elif kind == "enrollment":
            assert old.design.enrollment != new.design.enrollment


def test_files_load_as_the_registry_bulk_files_do(synth, store, tmp_path: Path):
    ndjson, archive = tmp_path / "s.ndjson", tmp_path / "s.zip"
    assert write_ndjson(synth.snapshot(25), ndjson) == 25
    assert write_zip(synth.snapshot(25), archive) == 25
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == [f"{nct_id(i)}.json" for i in range(25)]
    assert [r.data for r in read_records(archive)] == [r.data.rstrip(b"\n") for r in read_records(ndjson)]
    summary = load_paths(store, [archive])
    assert summary.as_dict() == {"read": 25, "new": 25, "new_versions": 0, "unchanged": 0, "rejected": 0}
    assert load_paths(store, [ndjson]).counts["unchanged"] == 25


def test_a_second_day_builds_on_the_first_and_lists_its_own_changes(synth):
    size = 60
    first = {nct: orjson.loads(data) for nct, data in synth.changed_snapshot(size, 10)}
    manifest = Manifest()
    second = {nct: orjson.loads(data) for nct, data in synth.changed_snapshot(size, 10, manifest=manifest, rounds=2)}
    changed = {nct for nct in first if content_hash(first[nct]) != content_hash(second[nct])}
    assert changed == set(manifest.changed)
    updates = Manifest()
    only = dict(synth.changed_snapshot(size, 10, manifest=updates, rounds=2, only_changed=True))
    assert set(only) == set(manifest.changed) == set(updates.changed)
    for nct in only:
        assert second[nct]["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] == synth.day(2).isoformat()


def test_changes_are_posted_after_every_update_they_change(synth):
    latest = max(parse_trial(orjson.loads(data)).last_update_posted.date.isoformat() for _, data in synth.snapshot(200))
    assert synth.day(1).isoformat() > latest
