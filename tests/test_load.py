import itertools
import json
import zipfile
from pathlib import Path

import pytest

from server.bulk import UnreadableInput
from server.load import load_paths
from server.resources import resource_path

from .conftest import STUDIES, VERSIONS

SOME = sorted(STUDIES.glob("*.json"))[:40]


def test_load_a_directory_then_again(store, tmp_path: Path):
    folder = tmp_path / "dir"
    folder.mkdir()
    for path in SOME:
        (folder / path.name).write_bytes(path.read_bytes())
    first = load_paths(store, [folder], batch_size=7)
    assert first.as_dict() == {"read": 40, "new": 40, "new_versions": 0, "unchanged": 0, "rejected": 0}
    second = load_paths(store, [folder], batch_size=7)
    assert second.as_dict() == {"read": 40, "new": 0, "new_versions": 0, "unchanged": 40, "rejected": 0}
    assert store.count_trials() == 40
    assert store.last_run(kind="load")["outcome"] == "success"


def test_load_ndjson_with_bad_lines(store, tmp_path: Path):
    ndjson = tmp_path / "records.ndjson"
    lines = [json.dumps(json.loads(p.read_text())) for p in SOME[:5]]
    lines.insert(2, "{not json")
    lines.insert(4, json.dumps({"studies": []}))
    lines.insert(5, json.dumps({"protocolSection": {"identificationModule": {}}}))
    ndjson.write_text("\n".join(lines) + "\n")
    summary = load_paths(store, [ndjson])
    assert summary.as_dict() == {"read": 8, "new": 5, "new_versions": 0, "unchanged": 0, "rejected": 3}
    assert [r.split(":")[1] for r in summary.rejected] == ["3", "5", "6"]
    assert "not JSON" in summary.rejected[0]
    assert "nctId" in summary.rejected[2]


def test_load_the_registry_zip(store, tmp_path: Path):
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in SOME:
            zf.write(path, arcname=path.name)
        zf.writestr("broken.json", b"\x00\x01")
    summary = load_paths(store, [archive])
    assert summary.as_dict()["new"] == 40
    assert summary.as_dict()["rejected"] == 1
    assert "broken.json" in summary.rejected[0]
    for path in SOME[:3]:
        assert store.current(path.stem).record == json.loads(path.read_text())


def test_a_saved_api_answer_loads(store, tmp_path: Path):
    answer = tmp_path / "page.json"
    answer.write_text(json.dumps({"studies": [json.loads(p.read_text()) for p in SOME[:3]], "nextPageToken": "x"}))
    assert load_paths(store, [answer]).as_dict()["new"] == 3


def test_an_interrupted_load_completes_on_rerun(store, tmp_path: Path):
    folder = tmp_path / "dir"
    folder.mkdir()
    for path in SOME[:20]:
        (folder / path.name).write_bytes(path.read_bytes())
    calls = 0

    def die_after_two_batches(batch, stored):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_paths(store, [folder], batch_size=5, after_batch=die_after_two_batches)
    assert store.count_trials() == 10
    assert store.last_run(kind="load")["outcome"] == "failed"
    rerun = load_paths(store, [folder], batch_size=5)
    assert rerun.as_dict()["new"] == 10 and rerun.as_dict()["unchanged"] == 10
    assert store.count_trials() == 20


def test_unreadable_input_is_named(store, tmp_path: Path):
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(UnreadableInput, match=r"notes\.txt"):
        load_paths(store, [other])


def consecutive_status_changes(folder: Path) -> set[tuple[str, str, str]]:
    """Read, straight from the files, every overall status change between consecutive versions."""
    changes = set()
    for trial in sorted(p for p in folder.iterdir() if p.is_dir()):
        statuses = [json.loads(f.read_text())["protocolSection"]["statusModule"]["overallStatus"]
                    for f in sorted(trial.glob("*.json"))]
        changes |= {(trial.name, a, b) for a, b in itertools.pairwise(statuses) if a != b}
    return changes


def test_a_first_load_of_versions_posts_their_changes_but_no_new_trials(store):
    summary = load_paths(store, [VERSIONS])
    expected = consecutive_status_changes(VERSIONS)
    assert ("NCT06821503", "NOT_YET_RECRUITING", "RECRUITING") in expected
    assert ("NCT06302556", "NOT_YET_RECRUITING", "UNKNOWN") in expected
    assert {(e.nct_id, e.old, e.new) for e in store.events(kinds=["status"], limit=1000)} == expected
    assert store.events(kinds=["new"]) == []
    assert summary.events["status"] == len(expected)
    assert store.last_run(kind="load")["counts"]["events"] == summary.events.total()
    # Loading again posts nothing twice; a later load posts the trials it adds as new.
    assert load_paths(store, [VERSIONS]).events.total() == 0
    more = load_paths(store, SOME[:3])
    assert {e.nct_id for e in store.events(kinds=["new"])} == {p.stem for p in SOME[:3]} - {p.name for p in VERSIONS.iterdir()}
    assert more.events["new"] == 3


def test_the_demo_sample_carries_its_real_status_changes(store):
    history, studies = resource_path("sample", "history"), resource_path("sample", "studies")
    load_paths(store, [history, studies])
    changes = {(e.nct_id, e.old, e.new) for e in store.events(kinds=["status"], limit=1000)}
    assert changes == consecutive_status_changes(history)
    assert ("NCT06821503", "NOT_YET_RECRUITING", "RECRUITING") in changes
    assert ("NCT07011550", "RECRUITING", "SUSPENDED") in changes
    assert store.events(kinds=["new"]) == []
    assert store.count_trials() == len(list(studies.glob("*.json")))


def _stored_state(store) -> dict:
    import sqlalchemy as sa

    from server import tables as t

    with store.engine.connect() as conn:
        versions = sorted((r.nct_id, r.content_hash, r.last_update) for r in conn.execute(sa.select(t.versions)))
        trials = sorted(tuple(r) for r in conn.execute(sa.select(t.trials).with_only_columns(
            *(c for c in t.trials.c if c.name not in ("updated_at", "version_id")))))
        conditions = sorted(tuple(r) for r in conn.execute(sa.select(t.trial_conditions)))
    return {"versions": versions, "trials": trials, "conditions": conditions}


def test_worker_processes_store_what_one_process_stores(tmp_path: Path, database_url: str):
    from server.store import store_of

    from .conftest import VERSIONS, make_app

    # History first, then current records: versions of one trial in date order, across batches.
    paths = [VERSIONS, *SOME[:12]]
    ndjson = tmp_path / "with-bad-lines.ndjson"
    ndjson.write_text("\n".join([json.dumps(json.loads(SOME[20].read_text())), "{not json", json.dumps({"x": 1})]) + "\n")
    paths.append(ndjson)
    results = {}
    for workers in (1, 2):
        app = make_app(tmp_path / f"w{workers}", database_url if workers == 1 else f"sqlite:///{tmp_path / 'w2.sqlite3'}")
        store = store_of(app)
        summary = load_paths(store, paths, batch_size=7, workers=workers)
        results[workers] = (summary.as_dict(), summary.rejected, _stored_state(store))
        store.engine.dispose()
    assert results[1] == results[2]
    # versions/index.json and two bad lines, named in input order either way.
    assert results[2][0]["rejected"] == 3 and results[2][0]["new_versions"] > 0
