"""The triple store kept by `trialpub load`, `sync`, `reindex` and `dump`, run as a user runs them."""

import gzip
import os
import subprocess
import zipfile
from pathlib import Path

import pyoxigraph as ox

from server import create_app
from server.snapshots import SnapshotReader
from server.store import store_of
from server.synclock import write_lock

from .conftest import STUDIES
from .test_cli import trialpub

SOME = sorted(STUDIES.glob("*.json"))[:40]


def graphs_held(data_dir: Path) -> int:
    reader = SnapshotReader(data_dir / "oxigraph")
    store = reader.store()
    assert store is not None
    count = sum(1 for g in store.named_graphs() if "/trials/" in g.value)
    reader.close()
    return count


def test_load_indexes_reindex_rebuilds_and_dumps_check_out(tmp_path: Path, database_url: str):
    env = {**os.environ, "TRIALPUB_DATA_DIR": str(tmp_path), "TRIALPUB_DATABASE_URL": database_url}
    folder = tmp_path / "records"
    folder.mkdir()
    for path in SOME:
        (folder / path.name).write_bytes(path.read_bytes())
    first = trialpub("load", str(folder), env=env)
    assert first.returncode == 0, first.stderr
    assert "triple store rebuilt: 40 trial graphs written, 0 removed, 0 events" in first.stdout
    assert graphs_held(tmp_path) == 40
    again = trialpub("load", str(folder), env=env)
    assert "triple store: 0 trial graphs written" in again.stdout
    rebuilt = trialpub("reindex", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "triple store rebuilt: 40 trial graphs written" in rebuilt.stdout
    dumped = trialpub("dump", env=env)
    assert dumped.returncode == 0, dumped.stderr
    names = [line.split()[0] for line in dumped.stdout.splitlines()]
    assert len(names) == 2 and names[0].endswith(".nt.gz") and names[1].endswith(".jsonl.gz")
    check = subprocess.run(["sha256sum", "-c", *(f"{n}.sha256" for n in names)], cwd=tmp_path / "dumps", capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fresh = ox.Store()
    with gzip.open(tmp_path / "dumps" / names[0]) as fh:
        fresh.load(fh, ox.RdfFormat.N_TRIPLES)
    assert len(fresh) > 40 * 20


def test_sync_from_a_bulk_file_indexes_too(tmp_path: Path, database_url: str):
    env = {**os.environ, "TRIALPUB_DATA_DIR": str(tmp_path), "TRIALPUB_DATABASE_URL": database_url}
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in SOME[:10]:
            zf.write(path, arcname=path.name)
    result = trialpub("sync", "--from", str(archive), env=env)
    assert result.returncode == 0, result.stderr
    assert "triple store rebuilt: 10 trial graphs written" in result.stdout
    assert graphs_held(tmp_path) == 10


def test_reindex_waits_its_turn_behind_a_writer(tmp_path: Path, database_url: str):
    env = {**os.environ, "TRIALPUB_DATA_DIR": str(tmp_path), "TRIALPUB_DATABASE_URL": database_url}
    assert trialpub("load", str(SOME[0]), env=env).returncode == 0
    app = create_app({"data_dir": str(tmp_path), "database_url": database_url})
    with write_lock(store_of(app).engine):
        busy = trialpub("reindex", env=env)
    store_of(app).engine.dispose()
    assert busy.returncode == 75
    assert "another sync or load is writing" in busy.stderr and "Traceback" not in busy.stderr
    assert trialpub("reindex", env=env).returncode == 0


def test_a_scheduled_sync_updates_the_triple_store(sync_app, fake_registry, caplog):
    import logging

    from server.indexstate import count_indexed
    from server.schedule import scheduled_sync

    caplog.set_level(logging.INFO)
    scheduled_sync(sync_app)
    held = store_of(sync_app).count_trials()
    assert held > 0
    assert count_indexed(store_of(sync_app)) == held
    assert graphs_held(Path(sync_app.config["DATA_DIR"])) == held
    assert f"triple store: {held} trial graphs written" in caplog.text
