import copy
import json

import pytest
import sqlalchemy as sa

from server import tables as t
from server.bulk import RawRecord
from server.errors import TrialNotFound
from server.load import prepare
from server.store import Incoming

from .conftest import STUDIES, VERSIONS


def incoming(record: dict, source: str = "test") -> Incoming:
    return prepare(RawRecord(source, json.dumps(record).encode()))


def record(nct_id: str) -> dict:
    return json.loads((STUDIES / f"{nct_id}.json").read_text())


def count(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_same_version_twice_stores_nothing_new(store):
    batch = [incoming(record("NCT00001908")), incoming(record("NCT00001909"))]
    first = store.store_batch(batch)
    assert [s.outcome for s in first] == ["new", "new"]
    again = store.store_batch(batch)
    assert [s.outcome for s in again] == ["unchanged", "unchanged"]
    assert count(store, t.versions) == 2
    assert store.count_trials() == 2


def test_version_holder_alone_is_not_a_new_version(store):
    rec = record("NCT00001908")
    store.store_batch([incoming(rec)])
    bumped = copy.deepcopy(rec)
    bumped["derivedSection"]["miscInfoModule"]["versionHolder"] = "2099-12-31"
    assert store.store_batch([incoming(bumped)])[0].outcome == "unchanged"


def test_versions_are_kept_and_the_newest_is_current(store):
    files = sorted((VERSIONS / "NCT06821503").glob("*.json"))
    old, new = (json.loads(f.read_text()) for f in (files[0], files[-1]))
    # Load the newer first: an older version arriving later must not become current.
    first = store.store_batch([incoming(new)])[0]
    second = store.store_batch([incoming(old)])[0]
    assert second.outcome == "new_version" and not second.became_current
    current = store.current("NCT06821503")
    assert current.version_id == first.version_id
    assert current.record["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"
    assert len(store.versions_of("NCT06821503")) == 2
    assert store.version_record(second.version_id) == old
    assert current.updated_at.tzinfo is not None


def test_a_new_version_replaces_the_trials_conditions(store):
    rec = record("NCT00001908")
    store.store_batch([incoming(rec)])
    changed = copy.deepcopy(rec)
    changed["derivedSection"]["conditionBrowseModule"] = {"meshes": [{"id": "D009101", "term": "Multiple Myeloma"}]}
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2030-01-01"
    stored = store.store_batch([incoming(changed)])[0]
    assert stored.outcome == "new_version" and stored.became_current
    with store.engine.connect() as conn:
        slugs = conn.execute(sa.select(t.trial_conditions.c.slug).where(t.trial_conditions.c.nct_id == "NCT00001908")).scalars().all()
    assert slugs == ["multiple-myeloma"]


def test_a_failed_batch_leaves_the_store_as_it_was(store):
    store.store_batch([incoming(record("NCT00001908"))])
    good = incoming(record("NCT00001909"))
    parsed = incoming(record("NCT00002297"))
    broken = Incoming(trial=parsed.trial, record={"not": {"serialisable": {1, 2}}}, content_hash=parsed.content_hash)
    with pytest.raises(TypeError):
        store.store_batch([good, broken])
    assert store.count_trials() == 1
    assert count(store, t.versions) == 1
    assert store.store_batch([good])[0].outcome == "new"


def test_unknown_trial(store):
    with pytest.raises(TrialNotFound):
        store.current("NCT99999999")


def test_runs_are_recorded(store):
    run_id = store.start_run("load")
    assert store.last_run()["outcome"] == "running"
    store.finish_run(run_id, "success", {"read": 3})
    run = store.last_run(kind="load", outcome="success")
    assert run["id"] == run_id and run["counts"] == {"read": 3}
    assert run["finished_at"] is not None


def test_iter_current_streams_every_trial(store):
    ids = sorted(p.stem for p in STUDIES.glob("*.json"))[:25]
    store.store_batch([incoming(record(i)) for i in ids])
    assert [s.nct_id for s in store.iter_current(batch_size=7)] == ids


def test_one_batch_with_versions_of_one_trial_and_repeats(store):
    files = sorted((VERSIONS / "NCT06821503").glob("*.json"))
    old, new = (json.loads(f.read_text()) for f in (files[0], files[-1]))
    other = record("NCT00001908")
    seen: list[tuple[str, dict | None, str]] = []

    def derive(item, before, stored):
        seen.append((item.content_hash, before, stored.outcome))
        return []

    batch = [incoming(old), incoming(other), incoming(old), incoming(new)]
    results = store.store_batch(batch, derive_events=derive)
    assert [r.outcome for r in results] == ["new", "new", "unchanged", "new_version"]
    assert results[2].version_id == results[0].version_id
    assert results[3].previous_version_id == results[0].version_id and results[3].became_current
    # The version replaced within the batch is handed over as the record it was.
    assert seen[2] == (batch[3].content_hash, old, "new_version")
    assert store.current("NCT06821503").version_id == results[3].version_id
    assert store.current("NCT06821503").record == new
    assert count(store, t.versions) == 3


def test_a_batch_moves_some_trials_forward_and_adds_others(store):
    first = record("NCT00001908")
    store.store_batch([incoming(first)])
    changed = copy.deepcopy(first)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2030-01-01"
    befores: list[dict | None] = []
    results = store.store_batch(
        [incoming(changed), incoming(record("NCT00001909"))],
        derive_events=lambda item, before, stored: befores.append(before) or [],
    )
    assert [r.outcome for r in results] == ["new_version", "new"]
    assert befores == [first, None]
    statuses = {row["nct_id"]: row["overall_status"] for row in store.list_trials()}
    assert statuses["NCT00001908"] == "WITHDRAWN"
    assert statuses["NCT00001909"] == record("NCT00001909")["protocolSection"]["statusModule"]["overallStatus"]


def test_creating_again_adds_the_indexes_an_older_store_lacks(store):
    store.create()
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX trial_conditions_slug_label"))
    store.create()
    store.create()
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("trial_conditions")}
    assert {"trial_conditions_slug_trial", "trial_conditions_slug_label"} <= indexes
