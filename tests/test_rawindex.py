"""A full sync from a bulk file skips, unparsed, what the file repeats byte for byte."""

from pathlib import Path

import orjson
import sqlalchemy as sa

from server import tables as t
from server.bench.synth import Manifest, Synth, write_ndjson, write_zip
from server.load import load_paths
from server.store import store_of
from server.sync import SyncOptions, run_sync
from server.trials import raw_hash

from .conftest import STUDIES, make_app


def test_raw_hash_ignores_the_daily_version_holder_only():
    record = orjson.loads((STUDIES / "NCT00001908.json").read_bytes())
    data = orjson.dumps(record)
    record["derivedSection"]["miscInfoModule"]["versionHolder"] = "2099-12-31"
    assert raw_hash(orjson.dumps(record)) == raw_hash(data) == raw_hash(data + b"\n")
    record["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    assert raw_hash(orjson.dumps(record)) != raw_hash(data)
    # Free text that spells the key out is escaped, so it is left alone.
    record["protocolSection"]["descriptionModule"] = {"briefSummary": '"versionHolder": "x"'}
    assert b'\\"versionHolder\\"' in orjson.dumps(record)
    other = {**record, "protocolSection": {**record["protocolSection"], "descriptionModule": {"briefSummary": '"versionHolder": "y"'}}}
    assert raw_hash(orjson.dumps(record)) != raw_hash(orjson.dumps(other))


def _events(store):
    return sorted((e.nct_id, e.kind, orjson.dumps(e.old), orjson.dumps(e.new)) for e in store.events(limit=10_000))


def _trials(store):
    with store.engine.connect() as conn:
        return sorted((r.nct_id, r.content_hash, r.removed_at is None) for r in conn.execute(sa.select(t.trials)))


def run_both(tmp_path: Path, database_url: str, first: Path, syncs: list[Path]) -> dict:
    """Load then sync on two stores, one with the raw index and one with it emptied before each sync."""
    outcomes = {}
    for name, url in (("index", database_url), ("no index", f"sqlite:///{tmp_path / 'plain.sqlite3'}")):
        app = make_app(tmp_path / name, url)
        store = store_of(app)
        load_paths(store, [first])
        steps = []
        for source in syncs:
            with store.engine.begin() as conn:
                held = conn.execute(sa.select(sa.func.count()).select_from(t.raw_hashes)).scalar_one()
                if name == "no index":
                    conn.execute(t.raw_hashes.delete())
            summary = run_sync(store, None, SyncOptions(full=True, source=source, removal_threshold=0.5))
            steps.append((summary.as_dict(), _events(store), _trials(store)))
        outcomes[name] = (held, steps)
        store.engine.dispose()
    return outcomes


def test_skipping_unparsed_gives_what_parsing_everything_gives(tmp_path: Path, database_url: str):
    synth = Synth(STUDIES, seed=3)
    size = 60
    first, second = tmp_path / "day0.zip", tmp_path / "day1.zip"
    write_zip(synth.snapshot(size), first)
    manifest = Manifest()
    write_zip(synth.changed_snapshot(size, 12, removed=2, added=3, manifest=manifest), second)
    outcomes = run_both(tmp_path, database_url, first, [second])
    assert outcomes["index"][1] == outcomes["no index"][1]
    assert outcomes["index"][0] == size  # the load remembered every record's raw hash
    counts = outcomes["index"][1][0][0]
    assert counts["new_versions"] == 12 and counts["new"] == 3 and counts["removed"] == 2
    assert counts["unchanged"] == size - 12 - 2


def test_known_bytes_of_a_trial_that_moved_on_are_not_taken_as_current(tmp_path: Path, database_url: str):
    synth = Synth(STUDIES, seed=4)
    day0, day1 = tmp_path / "day0.ndjson", tmp_path / "day1.ndjson"
    write_ndjson(synth.snapshot(20), day0)
    write_ndjson(synth.changed_snapshot(20, 5, removed=1), day1)
    # Back to day 0's bytes (known raw hashes, but five trials moved on and one was removed), then day 1 again.
    outcomes = run_both(tmp_path, database_url, day0, [day1, day0, day1])
    assert outcomes["index"][1] == outcomes["no index"][1]
    back = outcomes["index"][1][1][0]
    assert back["restored"] == 1 and back["unchanged"] == 20
