"""The scheduler: its trigger (pure), its job's options, and a real scheduled process."""

from __future__ import annotations

import datetime as dt
import itertools
import signal
import time

import pytest

from server import create_app
from server.errors import ConfigError
from server.schedule import JOB_ID, build_scheduler, cron_trigger, scheduled_sync
from server.store import store_of

from .fake_registry import STATUS_CHANGES, TS_A, TS_B, snapshot_b
from .test_sync import env_for, runs, start, status_events

UTC = dt.UTC


def fires(expression: str, after: dt.datetime, count: int = 3) -> list[dt.datetime]:
    trigger = cron_trigger(expression)
    times, previous = [], None
    now = after
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, now)
        times.append(previous)
        now = previous + dt.timedelta(microseconds=1)
    return times


def test_the_default_is_daily_in_utc():
    app = create_app({"data_dir": "/tmp/trialpub-schedule-test"})
    start_ = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    times = fires(app.config["SYNC_CRON"], start_)
    assert [b - a for a, b in itertools.pairwise(times)] == [dt.timedelta(days=1)] * 2
    assert all(t.utcoffset() == dt.timedelta(0) for t in times)


def test_crontab_weekdays_mean_what_cron_means():
    # 2026-03-01 is a Sunday: cron's 0 (and 7) is Sunday, 1-5 Monday to Friday.
    sunday = dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert fires("0 6 * * 0", sunday, 2) == [dt.datetime(2026, 3, 1, 6, 0, tzinfo=UTC), dt.datetime(2026, 3, 8, 6, 0, tzinfo=UTC)]
    assert fires("0 6 * * 7", sunday, 1) == [dt.datetime(2026, 3, 1, 6, 0, tzinfo=UTC)]
    assert [t.weekday() for t in fires("30 4 * * 1-5", sunday, 6)] == [0, 1, 2, 3, 4, 0]
    assert [t.day for t in fires("0 0 * * */2", sunday, 5)] == [1, 3, 5, 7, 8]
    assert [t.day for t in fires("0 0 * * fri-sun", sunday, 4)] == [1, 6, 7, 8]
    assert [t.day for t in fires("0 0 * * 5-7,3", sunday, 4)] == [1, 4, 6, 7]


def test_six_fields_put_seconds_first():
    start_ = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert fires("*/20 * * * * *", start_) == [start_, start_.replace(second=20), start_.replace(second=40)]


@pytest.mark.parametrize("expression", ["", "* * * *", "61 * * * *", "0 6 * * 8", "a b c d e"])
def test_a_bad_expression_is_a_config_error(expression):
    with pytest.raises(ConfigError, match="sync_cron"):
        cron_trigger(expression)


def test_one_run_at_a_time_missed_runs_coalesce():
    scheduler = build_scheduler(lambda: None, "0 6 * * *", 900)
    job = scheduler.get_job(JOB_ID)
    assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 900
    assert scheduler.running is False  # building never starts it


def test_create_app_starts_no_scheduler(tmp_path):
    import threading

    before = {t.name for t in threading.enumerate()}
    create_app({"data_dir": str(tmp_path)})
    assert {t.name for t in threading.enumerate()} == before


def test_a_failed_run_is_logged_and_survived(sync_app, fake_registry, caplog):
    fake_registry.inject(*["500"] * 4, path="/version")
    scheduled_sync(sync_app)  # does not raise
    assert "sync failed" in caplog.text and "HTTP 500" in caplog.text
    scheduled_sync(sync_app)
    assert [r["outcome"] for r in runs(store_of(sync_app))] == ["failed", "success"]


def test_a_scheduled_process_posts_each_change_once(sync_app, fake_registry):
    """`trialpub schedule` every second: a failing registry, then A, then B; each change posted once."""
    store = store_of(sync_app)
    fake_registry.inject(*["500"] * 4, path="/version")
    process = start("schedule", env=env_for(sync_app, TRIALPUB_SYNC_CRON="* * * * * *"))
    try:
        until(lambda: any(r["outcome"] == "success" and r["registry_timestamp"] == TS_A for r in runs(store)), process)
        fake_registry.snapshot(*snapshot_b())
        until(lambda: any(r["outcome"] == "success" and r["registry_timestamp"] == TS_B for r in runs(store)), process)
        settled = len(runs(store))
        until(lambda: len(runs(store)) >= settled + 3, process)  # further runs find nothing new
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert status_events(store) == STATUS_CHANGES
    assert len(store.events(kinds=["status"], limit=1000)) == len(STATUS_CHANGES)
    outcomes = [r["outcome"] for r in runs(store)]
    assert outcomes[0] == "failed" and outcomes.count("success") >= 4
    assert "sync failed" in err and "registry data unchanged" in err


def until(condition, process, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the scheduler ended: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the scheduled runs")
        time.sleep(0.1)
