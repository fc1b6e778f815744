"""`trialpub schedule`: the sync on a cron expression, in a process of its own (APScheduler 3.x).

The web application never starts a scheduler; the store's write lock keeps a scheduled sync
and a manual one from running at once, even on two machines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from .dates import utcnow
from .errors import ConfigError, SyncLocked, TrialpubError

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

JOB_ID = "trialpub-sync"
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str) -> CronTrigger:
    """Build the trigger of a crontab line in UTC; six fields put seconds first.

    Weekday numbers mean what they mean to cron (0 and 7 are Sunday); APScheduler 3 alone
    would read 0 as Monday.
    """
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ConfigError(
            f"setting 'sync_cron' must have 5 fields (minute hour day month weekday) "
            f"or 6 (second first), not {len(fields)}: {expression!r}"
        )
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month,
            day_of_week=_weekday_names(weekday), timezone="UTC",
        )
    except ValueError as exc:
        raise ConfigError(f"setting 'sync_cron' is not a valid cron expression ({exc}): {expression!r}") from None


def _weekday_names(field: str) -> str:
    """Expand a cron weekday field (numbers 0-7, names, ranges, steps) into APScheduler's names."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad weekday step in {item!r}")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _weekday(low)
            last = _weekday(high) if high else (6 if step else first)
            if high and last < first:
                last += 7  # a range through Sunday, as in 5-0 or fri-sun
        days.update(day % 7 for day in range(first, last + 1, step or 1))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _weekday(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)  # 7 is Sunday too; it stays 7 so that 5-7 is a range
    if text.lower()[:3] in _WEEKDAYS:
        return _WEEKDAYS.index(text.lower()[:3])
    raise ValueError(f"weekday {text!r} is not 0-7 or a day name")


def build_scheduler(
    job: Callable[[], None], cron: str, misfire_grace: int, *, now: bool = False
) -> BlockingScheduler:
    """Build a scheduler that runs the job on the cron expression, one run at a time.

    Runs missed while the process was down (or behind a long one) coalesce into one, which
    still starts if it is no later than ``misfire_grace`` seconds. ``now`` adds a first run
    at once.
    """
    scheduler = BlockingScheduler(timezone="UTC")
    extra = {"next_run_time": utcnow()} if now else {}
    scheduler.add_job(
        job,
        cron_trigger(cron),
        id=JOB_ID,
        name="registry sync",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=misfire_grace,
        **extra,
    )
    return scheduler


def scheduled_sync(app: Flask) -> None:
    """Run one incremental sync and log how it went; a failed run never stops the scheduler."""
    from .store import store_of
    from .sync import describe, sync_with_config
    from .websub import announcing

    log.info("sync starting")
    try:
        with announcing(app):
            summary = sync_with_config(store_of(app), app.config)
    except SyncLocked as exc:
        log.warning("sync skipped: %s", exc)
    except TrialpubError as exc:
        log.error("sync failed: %s", exc)
    except Exception:
        log.exception("sync failed")
    else:
        log.info("%s", describe(summary))

