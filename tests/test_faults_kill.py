"""A load and a sync killed with SIGKILL at random points ten times in a row, then run to the end,
leave the SQL store and the triple store as one uninterrupted run does."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from .conftest import BACKENDS, fresh_database
from .fake_registry import (
    FakeRegistry,
    first_versions,
    other_studies,
    read,
    snapshot_a,
    snapshot_b,
    version_files,
    version_index,
)
from .processes import TRIALPUB, environment, sql_content, trialpub, triple_content

pytestmark = pytest.mark.slow

KILLS = 10
SEED = 20261125
# Small batches make many transactions, so that kills land between and inside them.
SETTINGS: dict[str, Any] = {"load_batch_size": 5, "load_workers": 2, "registry_page_size": 7,
                            "registry_rate_limit": 0.0, "sync_lock_poll": 0.05, "triplestore_publish_interval": 0.5}


def write_ndjson(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


class Side:
    """One store (database and data dir) and the commands run on it."""

    def __init__(self, folder: Path, database_url: str, **settings: Any) -> None:
        folder.mkdir()
        self.data_dir = folder / "data"
        self.database_url = database_url
        self.settings = {**SETTINGS, "data_dir": self.data_dir, "database_url": database_url, **settings}

    def run(self, *args: str) -> float:
        """Run a command to its end; return how long it took."""
        started = time.monotonic()
        done = trialpub(*args, settings=self.settings, timeout=600)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return time.monotonic() - started

    def killed(self, args: tuple[str, ...], after: float) -> int | None:
        """Start a command and SIGKILL it ``after`` seconds later; return its exit code if it ended first.

        The command runs in a session of its own, so that a process it started and left behind
        (a load's parsing processes) is seen, and ended, here.
        """
        process = subprocess.Popen([*TRIALPUB, *args], env=environment(self.settings), start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return process.wait(timeout=after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return None
        finally:
            assert left_behind(process.pid) == 0, "processes outlived the killed command"

    def content(self) -> dict[str, Any]:
        return {**sql_content(self.database_url), "graphs": triple_content(self.data_dir)}


def left_behind(session: int, grace: float = 10.0) -> int:
    """Wait for the processes of a session to end; kill and count those still there after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(session, 0)
        except ProcessLookupError:
            return 0
        time.sleep(0.1)
    os.killpg(session, signal.SIGKILL)
    return 1


def kill_times(duration: float, rng: random.Random) -> list[float]:
    """Moments to kill at, in seconds after start: from start-up to half an uninterrupted run.

    Each killed run picks up where the last left off, so later runs have less to do; past half
    the whole run's time most of them would end before they are killed.
    """
    return [rng.uniform(1.0, max(1.5, duration / 2)) for _ in range(KILLS)]


def assert_same(killed: dict[str, Any], whole: dict[str, Any]) -> None:
    assert killed["runs left running"] == 0
    for key in ("trials", "versions", "conditions", "events", "indexed"):
        assert killed[key] == whole[key], key
    graphs_killed, graphs_whole = killed["graphs"], whole["graphs"]
    assert set(graphs_killed) == set(graphs_whole)
    for name, (count, triples) in graphs_whole.items():
        assert graphs_killed[name][0] == count, name
        assert graphs_killed[name][1] == triples, name


@pytest.fixture(params=BACKENDS)
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with fresh_database(request.param, tmp_path / "db1") as one, fresh_database(request.param, tmp_path / "db2") as two:
        yield one, two


@pytest.fixture(autouse=True)
def database_folders(tmp_path: Path) -> None:
    (tmp_path / "db1").mkdir()
    (tmp_path / "db2").mkdir()


def test_load_killed_ten_times_then_rerun_equals_one_load(tmp_path: Path, two_databases: tuple[str, str]) -> None:
    """Baseline: the oldest version of 38 trials. Then the killed load: their later versions
    (change events) and 150 trials not held yet (``new`` events), each batch its own transaction."""
    history = [read(path) for nct in version_index() for path in version_files(nct)[1:]]
    baseline = write_ndjson(tmp_path / "baseline.ndjson", first_versions())
    later = write_ndjson(tmp_path / "later.ndjson", history + other_studies(150, exclude=version_index()))
    whole = Side(tmp_path / "whole", two_databases[0])
    killed = Side(tmp_path / "killed", two_databases[1])
    for side in (whole, killed):
        side.run("load", str(baseline))
    duration = whole.run("load", str(later))
    rng = random.Random(SEED)
    ended_early = [killed.killed(("load", str(later)), after) for after in kill_times(duration, rng)]
    killed.run("load", str(later))
    assert ended_early.count(None) >= KILLS // 2, ended_early  # most kills landed mid-run
    assert_same(killed.content(), whole.content())


def test_sync_killed_ten_times_then_rerun_equals_one_sync(tmp_path: Path, two_databases: tuple[str, str]) -> None:
    """Baseline: a sync of snapshot A. Then a full sync of snapshot B, a month later, from a
    registry that takes a while over each page, killed ten times, then run to the end."""
    with FakeRegistry(*snapshot_a()) as registry:
        whole = Side(tmp_path / "whole", two_databases[0], registry_url=registry.url)
        killed = Side(tmp_path / "killed", two_databases[1], registry_url=registry.url)
        for side in (whole, killed):
            side.run("sync")
        registry.snapshot(*snapshot_b())
        registry.page_delay = 0.25
        duration = whole.run("sync", "--full")
        rng = random.Random(SEED)
        ended_early = [killed.killed(("sync", "--full"), after) for after in kill_times(duration, rng)]
        killed.run("sync", "--full")
    assert ended_early.count(None) >= KILLS // 2, ended_early
    assert_same(killed.content(), whole.content())
