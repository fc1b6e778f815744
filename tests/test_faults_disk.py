"""The disk fills up during a load: the store stays consistent, the run says "disk full" and where,
and a rerun once space is freed completes it."""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server import tables as t
from server.incoming import decompress
from server.store import engine_for
from server.trials import parse_trial

from .conftest import STUDIES
from .processes import trialpub

pytestmark = pytest.mark.slow

ALL = len(list(STUDIES.glob("NCT*.json")))


@dataclass
class SmallDisk:
    """A folder with little room, and how to make room in it."""

    path: Path
    popen: dict[str, Any]  # what a subprocess needs to run under the limit
    free: Callable[[], None]


def _limit_file_size(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        # Past the limit a write fails with EFBIG, as on a full disk, instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[SmallDisk]:
    """A tmpfs of this size mounted on the folder: a real file system that fills up (ENOSPC).

    Mounting needs CAP_SYS_ADMIN (root in most CI containers). Where it is refused, the command
    runs under RLIMIT_FSIZE instead: every write past the limit fails with EFBIG (SIGXFSZ is
    ignored so the write fails rather than the process dying), which the database and the triple
    store meet as they meet a full disk; "making room" is then running without the limit.
    """
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                             capture_output=True, check=False).returncode == 0
    if not mounted:
        disk = SmallDisk(folder, {"preexec_fn": _limit_file_size(megabytes << 20)}, lambda: None)
        disk.free = lambda: disk.popen.clear()
        yield disk
        return

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=512m", str(folder)], check=True)

    try:
        yield SmallDisk(folder, {}, grow)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def check_consistent(database_url: str) -> int:
    """Every trial held has its current version, readable and parsable, and its conditions; count them."""
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
            rows = conn.execute(
                sa.select(t.trials.c.nct_id, t.trials.c.content_hash, t.versions.c.content_hash.label("version_hash"),
                          t.versions.c.raw)
                .join(t.versions, t.versions.c.id == t.trials.c.version_id, isouter=True)
            ).all()
            with_conditions = set(conn.execute(sa.select(t.trial_conditions.c.nct_id).distinct()).scalars())
            running = conn.execute(sa.select(sa.func.count()).select_from(t.runs)
                                   .where(t.runs.c.outcome == "running")).scalar_one()
    finally:
        engine.dispose()
    for row in rows:
        assert row.version_hash == row.content_hash, row.nct_id
        assert parse_trial(decompress(row.raw)).nct_id == row.nct_id
        assert row.nct_id in with_conditions, row.nct_id
    assert running == 0
    return len(rows)


def test_disk_full_during_a_load(tmp_path: Path, database_url: str) -> None:
    """SQLite: the database itself is on the small disk and fills up part-way through the trials.
    PostgreSQL (whose disk is not ours to fill): the data dir is, and the triple store fills it.

    The small disk is a real tmpfs of a few MiB mounted for the test, so writes fail with ENOSPC
    as on a full disk; mounting works as root in a container with CAP_SYS_ADMIN, which CI has.
    Where mounting is refused, the load runs under RLIMIT_FSIZE instead (see ``small_disk``):
    writes then fail with EFBIG, which SQLite reports as an I/O error, hence "disk full or failing".
    """
    sqlite = database_url.startswith("sqlite")
    with small_disk(tmp_path / "disk", 2 if sqlite else 8) as disk:
        settings = {"data_dir": disk.path / "data", "load_batch_size": 10, "load_workers": 1,
                    "database_url": "" if sqlite else database_url}
        failed = trialpub("load", str(STUDIES), settings=settings, **disk.popen)
        assert failed.returncode != 0, failed.stdout
        assert "Traceback" not in failed.stderr
        message = failed.stderr.strip().splitlines()[-1]
        assert message.startswith("Error: disk full"), failed.stderr
        assert str(disk.path) in message
        url = f"sqlite:///{disk.path / 'data' / 'trialpub.sqlite3'}" if sqlite else database_url
        held = check_consistent(url)
        assert 0 < held < ALL if sqlite else held == ALL
        disk.free()
        again = trialpub("load", str(STUDIES), settings=settings, **disk.popen)
        assert again.returncode == 0, again.stderr
        assert check_consistent(url) == ALL
        engine = engine_for(url)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.indexed_trials)).scalar_one() == ALL
        engine.dispose()
