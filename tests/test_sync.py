"""Sync passes against the fake registry: baseline, changes, repeats, faults, kills, removals, the lock."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server import tables as t
from server.diff import diff
from server.errors import RegistryAnswerInvalid, RegistryUnavailable, SyncAborted, SyncLocked
from server.store import Store, store_of
from server.sync import sync_with_config
from server.synclock import write_lock

from .conftest import SYNC_SETTINGS, LiveServer, make_app
from .fake_registry import (
    NEW_IDS,
    STATUS_CHANGES,
    TS_A,
    TS_B,
    UNDATED_CHANGE,
    Hold,
    conditions,
    last_update,
    nct_id,
    read,
    snapshot_a,
    snapshot_b,
    version_files,
    version_index,
)

ROOT = Path(__file__).parent.parent


def sync(app, **options):
    return sync_with_config(store_of(app), app.config, **options)


def status_events(store: Store) -> set[tuple[str, str, str]]:
    return {(e.nct_id, e.old, e.new) for e in store.events(kinds=["status"], limit=10_000)}


def all_events(store: Store) -> list:
    return store.events(limit=100_000)


def state(store: Store) -> dict[str, Any]:
    """Everything a sync decides, in a form two stores can be compared by."""
    with store.engine.connect() as conn:
        hashes = dict(conn.execute(sa.select(t.versions.c.id, t.versions.c.content_hash)).all())
        trials = {
            row.nct_id: (row.content_hash, row.overall_status, row.removed_at is not None)
            for row in conn.execute(sa.select(t.trials))
        }
    return {
        "versions": sorted((nct, h) for nct, h in _version_keys(store)),
        "trials": trials,
        "events": sorted(
            (e.event_id, e.nct_id, e.kind, json.dumps(e.old), json.dumps(e.new), json.dumps(e.detail, sort_keys=True),
             hashes.get(e.version_id), e.registry_last_update)
            for e in all_events(store)
        ),
    }


def _version_keys(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(t.versions.c.nct_id, t.versions.c.content_hash))]


def runs(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(t.runs).order_by(t.runs.c.id)).mappings()]


def env_for(app, **extra: str) -> dict[str, str]:
    """The environment of a `trialpub` process working on this app's store and registry."""
    settings = {key: app.config[key.upper()] for key in SYNC_SETTINGS}
    settings.update(registry_url=app.config["REGISTRY_URL"], database_url=app.config["DATABASE_URL"],
                    data_dir=app.config["DATA_DIR"])
    env = {**os.environ, **{f"TRIALPUB_{k.upper()}": str(v) for k, v in settings.items()}}
    env.update(extra)
    return env


def trialpub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "server.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


# -- a first sync, then changes -------------------------------------------------

def test_first_sync_is_a_baseline(sync_app, fake_registry):
    store = store_of(sync_app)
    summary = sync(sync_app)
    records, _ = snapshot_a()
    assert summary.outcome == "success"
    assert summary.counts["new"] == store.count_trials() == len(records)
    assert summary.since is None  # nothing held yet: the whole scope
    assert all_events(store) == []
    run = store.last_run(kind="sync")
    assert run["outcome"] == "success" and run["registry_timestamp"] == TS_A
    assert run["counts"]["new"] == len(records) and run["counts"]["pages"] == summary.counts["pages"] > 1
    assert run["finished_at"] >= run["started_at"]
    assert [r.path for r in fake_registry.log][:2] == ["/api/v2/version", "/api/v2/studies"]


def test_incremental_sync_posts_exactly_the_changes(sync_app, fake_registry):
    store = store_of(sync_app)
    sync(sync_app)
    fake_registry.snapshot(*snapshot_b())
    summary = sync(sync_app)

    assert summary.since.isoformat() == "2026-01-25"  # TS_A's day less sync_overlap_days
    pages = fake_registry.requests()[-summary.counts["pages"]:]
    assert {p.param("filter.advanced") for p in pages} == {"AREA[LastUpdatePostDate]RANGE[2026-01-25,MAX]"}
    assert status_events(store) == STATUS_CHANGES
    # The table above agrees with the registry's own record of each version.
    index = version_index()
    assert STATUS_CHANGES | {UNDATED_CHANGE} == {
        (nct, v[0]["overallStatus"], v[-1]["overallStatus"])
        for nct, v in index.items() if v[0]["overallStatus"] != v[-1]["overallStatus"]
    }
    assert {e.nct_id for e in store.events(kinds=["new"])} == set(NEW_IDS)
    # Every other event is what the diff of the two versions says, nothing more.
    for nct in index:
        old, new = (read(p) for p in (version_files(nct)[0], version_files(nct)[-1]))
        expected = [] if last_update(new) < "2026-01-25" else diff(old, new)
        got = store.events(nct_id=nct)
        assert sorted((e.kind, json.dumps(e.old), json.dumps(e.new), json.dumps(e.detail, sort_keys=True)) for e in got) == sorted(
            (c.kind, json.dumps(c.old), json.dumps(c.new), json.dumps(c.detail, sort_keys=True)) for c in expected
        ), nct
        assert all(e.registry_last_update == last_update(new) and e.detected_at.tzinfo for e in got)
        assert all(store.version_record(e.version_id) == new for e in got)
    # Trials in the overlap were fetched again and recognised by their hash.
    assert summary.counts["unchanged"] >= 2
    assert summary.counts["new"] == len(NEW_IDS)
    assert summary.counts["new_versions"] == len(index) - 1
    assert store.current("NCT06821503").record["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"


def test_a_repeat_posts_nothing_twice(sync_app, fake_registry):
    store = store_of(sync_app)
    sync(sync_app)
    fake_registry.snapshot(*snapshot_b())
    sync(sync_app)
    before = state(store)
    requests = len(fake_registry.requests())

    # The registry has not moved: stop after asking /version.
    summary = sync(sync_app)
    assert summary.outcome == "success" and "unchanged" in summary.message
    assert len(fake_registry.requests()) == requests
    # The registry moved but nothing in it changed: everything is fetched and recognised.
    fake_registry.snapshot(*snapshot_b()[:1], "2026-03-14T09:00:00")
    summary = sync(sync_app)
    assert summary.counts["read"] > 0 and summary.counts["unchanged"] == summary.counts["read"]
    assert state(store) == before
    # A full pass over the same data adds only the change an incremental one cannot see.
    sync(sync_app, full=True)
    assert status_events(store) == STATUS_CHANGES | {UNDATED_CHANGE}
    sync(sync_app, full=True)
    assert len(store.events(kinds=["status"])) == len(STATUS_CHANGES) + 1


def test_the_baseline_counts_only_once_a_run_completes(sync_app, fake_registry):
    """A baseline that failed half-way is still the baseline when it runs again: no `new` events."""
    store = store_of(sync_app)
    fake_registry.break_page(3, "garbage", 4)
    with pytest.raises(RegistryAnswerInvalid, match="page 3 of /studies: not JSON"):
        sync(sync_app)
    assert 0 < store.count_trials() < len(snapshot_a()[0])
    sync(sync_app)
    assert store.count_trials() == len(snapshot_a()[0])
    assert store.events(kinds=["new"]) == []


# -- full syncs and removals ----------------------------------------------------

def test_full_sync_marks_removed_and_restores(sync_app, fake_registry):
    store = store_of(sync_app)
    sync(sync_app)
    records, stamp = snapshot_a()
    gone = {nct_id(records[3]), nct_id(records[10])}
    fake_registry.snapshot([r for r in records if nct_id(r) not in gone], stamp)
    summary = sync(sync_app, full=True)
    assert summary.counts["removed"] == 2
    removed = store.events(kinds=["removed"])
    assert {e.nct_id for e in removed} == gone
    for event in removed:
        held = store.current(event.nct_id)
        assert held.removed_at is not None
        assert event.old == held.record["protocolSection"]["statusModule"]["overallStatus"] and event.new is None
        assert event.version_id == held.version_id
    assert store.count_trials() == len(records) - 2
    with sync_app.test_client() as client:
        assert client.get(f"/trials/{sorted(gone)[0]}").status_code == 404
    # Only a full pass marks removals; an incremental one leaves them alone.
    fake_registry.snapshot([r for r in records if nct_id(r) != nct_id(records[20])], "2026-02-05T09:00:00")
    sync(sync_app)
    assert store.current(nct_id(records[20])).removed_at is None
    # Back in the registry, unchanged: restored, and no second `removed` event later.
    fake_registry.snapshot(records, "2026-02-06T09:00:00")
    summary = sync(sync_app, full=True)
    assert summary.counts["restored"] == 2 and summary.counts["removed"] == 0
    assert store.count_trials() == len(records)
    assert len(store.events(kinds=["removed"])) == 2


def test_a_partial_full_answer_marks_nothing_removed(sync_app, fake_registry):
    store = store_of(sync_app)
    sync(sync_app)
    records, stamp = snapshot_a()
    fake_registry.snapshot(records[:5], stamp)
    result = trialpub("sync", "--full", env=env_for(sync_app))
    assert result.returncode == 3, result.stderr
    assert "full sync aborted" in result.stderr and "partial" in result.stderr
    assert "Traceback" not in result.stderr
    assert store.count_trials() == len(records)
    assert store.events(kinds=["removed"]) == []
    run = store.last_run(kind="sync-full")
    assert run["outcome"] == "aborted" and "partial" in run["message"]


def test_paging_cut_short_is_partial_too(sync_app, fake_registry):
    """Fewer trials than the registry announced is partial, even when we hold fewer still."""
    store = store_of(sync_app)
    records, stamp = snapshot_a()
    fake_registry.snapshot(records[:5], stamp)
    sync(sync_app)
    fake_registry.snapshot(records, "2026-02-05T09:00:00")
    fake_registry.last_page = 3  # the registry stops giving page tokens early
    with pytest.raises(SyncAborted, match=f"announced {len(records)} trials but its pages held only 21"):
        sync(sync_app, full=True)
    assert store.events(kinds=["removed"]) == []
    assert store.count_trials() == 21


def test_full_sync_from_a_bulk_file(sync_app, fake_registry, tmp_path: Path):
    store = store_of(sync_app)
    sync(sync_app)
    records, _ = snapshot_b()
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for record in records[1:]:
            zf.writestr(f"{nct_id(record)}.json", json.dumps(record))
        zf.writestr("NCT99999999.json", b"{broken")
    asked = len(fake_registry.log)
    summary = sync(sync_app, source=archive)
    assert len(fake_registry.log) == asked  # the file stands in for the registry
    assert summary.kind == "sync-full" and summary.counts["rejected"] == 1
    left_out = nct_id(records[0])
    assert left_out not in {change[0] for change in STATUS_CHANGES | {UNDATED_CHANGE}}
    assert status_events(store) == STATUS_CHANGES | {UNDATED_CHANGE}
    assert {e.nct_id for e in store.events(kinds=["removed"])} == {left_out}
    assert store.last_run(kind="sync-full")["registry_timestamp"] is None


def test_a_scope_limits_what_is_published(tmp_path, database_url, fake_registry):
    app = make_app(tmp_path, database_url, registry_url=fake_registry.url,
                   **{**SYNC_SETTINGS, "registry_scope": "query.cond=cancer"})
    summary = sync(app)
    expected = {nct_id(r) for r in snapshot_a()[0] if any("cancer" in name for name in conditions(r))}
    assert 0 < summary.counts["new"] == len(expected) < len(snapshot_a()[0])
    assert {t["nct_id"] for t in store_of(app).list_trials(limit=1000)} == expected
    assert {r.param("query.cond") for r in fake_registry.requests()} == {"cancer"}
    store_of(app).engine.dispose()


# -- faults -----------------------------------------------------------------------

def test_faults_do_not_change_the_result(sync_app, fake_registry, tmp_path, database_url):
    calm = make_app(tmp_path / "calm", f"sqlite:///{tmp_path / 'calm.sqlite3'}", registry_url=fake_registry.url, **SYNC_SETTINGS)
    for app in (calm, sync_app):
        fake_registry.snapshot(*snapshot_a())
        sync(app)
    fake_registry.snapshot(*snapshot_b())
    sync(calm)
    sync(calm)  # early stop, keeps the runs alike
    fake_registry.break_page(1, "429:1", 1)
    fake_registry.break_page(1, "500", 1)
    fake_registry.break_page(2, "timeout", 1)
    fake_registry.break_page(4, "garbage", 2)
    fake_registry.break_page(5, "shape", 1)
    fake_registry.inject("500", "timeout", path="/version")
    summary = sync(sync_app)
    assert summary.outcome == "success"
    assert state(store_of(sync_app)) == state(store_of(calm))
    statuses = [r.status for r in fake_registry.log]
    assert statuses.count(429) == 1 and statuses.count(500) == 2
    store_of(calm).engine.dispose()


@pytest.mark.parametrize("fault", ["garbage", "shape", "500"])
def test_a_page_that_stays_bad_fails_the_sync_and_loses_nothing(sync_app, fake_registry, fault):
    store = store_of(sync_app)
    sync(sync_app)
    fake_registry.snapshot(*snapshot_b())
    fake_registry.break_page(3, fault, 4)
    result = trialpub("sync", env=env_for(sync_app))
    assert result.returncode == 1
    assert "sync failed: page 3 of /studies" in result.stderr and "Traceback" not in result.stderr
    partial = state(store)
    assert len(partial["events"]) > 0
    assert store.last_run(kind="sync")["outcome"] == "failed"
    # Nothing taken for "no studies": every trial held is still there, the pages before stored.
    held = {t["nct_id"] for t in store.list_trials(limit=1000)}
    assert held >= {nct_id(r) for r in snapshot_a()[0]}
    sync(sync_app)
    assert status_events(store) == STATUS_CHANGES
    assert set(partial["events"]) <= set(state(store)["events"])
    assert not fake_registry.page_faults[3]


# -- a sync killed half-way ----------------------------------------------------------

@pytest.mark.parametrize("page", [2, 5])
def test_a_killed_sync_reruns_to_the_same_result(sync_app, fake_registry, tmp_path, page):
    reference = make_app(tmp_path / "ref", f"sqlite:///{tmp_path / 'ref.sqlite3'}", registry_url=fake_registry.url, **SYNC_SETTINGS)
    store = store_of(sync_app)
    for app in (reference, sync_app):
        sync(app)
    fake_registry.snapshot(*snapshot_b())
    sync(reference)

    fake_registry.hold = hold = Hold(page=page)
    process = start("sync", env=env_for(sync_app))
    assert hold.reached.wait(timeout=120), process.communicate()
    process.kill()  # SIGKILL: no cleanup of any kind
    process.wait(timeout=30)
    fake_registry.hold = None
    hold.release.set()
    cut = state(store)
    assert 0 < len(cut["events"]) < len(state(store_of(reference))["events"])
    assert runs(store)[-1]["outcome"] == "running"

    result = trialpub("sync", env=env_for(sync_app))
    assert result.returncode == 0, result.stderr
    assert state(store) == state(store_of(reference))
    assert [r["outcome"] for r in runs(store)][-2:] == ["failed", "success"]
    assert "interrupted" in runs(store)[-2]["message"]
    store_of(reference).engine.dispose()


# -- one sync at a time ----------------------------------------------------------------

def test_the_write_lock_is_exclusive(store):
    with write_lock(store.engine), pytest.raises(SyncLocked, match="another sync or load"), write_lock(store.engine):
        pass
    with write_lock(store.engine):  # released
        pass


def test_a_second_sync_exits_or_waits(sync_app, fake_registry):
    store = store_of(sync_app)
    # The first sync waits for its held page as long as the test needs.
    env = env_for(sync_app, TRIALPUB_REGISTRY_TIMEOUT="120")
    fake_registry.hold = hold = Hold(page=2)
    first = start("sync", env=env)
    assert hold.reached.wait(timeout=120), first.communicate()

    # The web app keeps serving while a sync writes: readers take no lock.
    with LiveServer(sync_app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.get("/").status_code == 200
        assert client.get("/sitemap.xml").status_code == 200

    second = trialpub("sync", env=env)
    assert second.returncode == 75
    assert "another sync or load is writing to this store" in second.stderr
    load = trialpub("load", str(ROOT / "tests" / "data" / "studies"), env=env)
    assert load.returncode == 75

    waiter = start("sync", "--wait", env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(waiter.stderr.readline()), daemon=True).start()
    assert "waiting" in lines.get(timeout=60)
    hold.release.set()
    assert first.wait(timeout=120) == 0
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    first_run, waiter_run = [r for r in runs(store) if r["kind"] == "sync"]
    assert first_run["outcome"] == waiter_run["outcome"] == "success"
    assert waiter_run["started_at"] >= first_run["finished_at"]
    assert "unchanged" in out


# -- what a person sees ------------------------------------------------------------------

def test_the_command_reports_a_summary(sync_app, fake_registry):
    first = trialpub("sync", env=env_for(sync_app))
    assert first.returncode == 0, first.stderr
    assert f"new {len(snapshot_a()[0])}" in first.stdout and "events 0" in first.stdout and TS_A in first.stdout
    fake_registry.snapshot(*snapshot_b())
    second = trialpub("sync", env=env_for(sync_app))
    assert f"status {len(STATUS_CHANGES)}" in second.stdout and f"new {len(NEW_IDS)}" in second.stdout
    assert "records updated since 2026-01-25" in second.stdout


def test_status_shows_the_last_successful_sync(sync_app, fake_registry):
    with sync_app.test_client() as client:
        empty = client.get("/status", headers={"Accept": "application/json"}).get_json()
        assert empty["last_sync"] is None and empty["counts"]["trials"] == 0
        sync(sync_app)
        fake_registry.snapshot(*snapshot_b())
        sync(sync_app)
        fake_registry.inject(*["500"] * 4, path="/version")
        with pytest.raises(RegistryUnavailable, match="HTTP 500"):
            sync(sync_app)
        info = client.get("/status").get_json()  # */* gets JSON
        assert info["registry_timestamp"] == TS_B
        assert info["last_sync"]["outcome"] == "success" and info["last_sync"]["kind"] == "sync"
        assert info["runs"][0]["outcome"] == "failed" and "HTTP 500" in info["runs"][0]["message"]
        assert info["counts"]["trials"] == store_of(sync_app).count_trials()
        assert info["counts"]["events"] == len(all_events(store_of(sync_app)))
        page = client.get("/status", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert TS_B in text and "Last successful sync" in text and "failed" in text
