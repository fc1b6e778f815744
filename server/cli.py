"""The ``trialpub`` command."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from .errors import ConfigError, StoreUnavailable, SyncAborted, SyncLocked, TrialpubError, TripleStoreUnavailable
from .failures import disk_full
from .load import AfterBatch, LoadSummary, load_paths, worker_count
from .resources import resource_path
from .store import store_of
from .synclock import write_lock
from .syncstate import close_interrupted

if TYPE_CHECKING:
    from .sync import SyncSummary


def _create_app():  # type: ignore[no-untyped-def]
    from . import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


class _Group(FlaskGroup):
    """The command group: a database or disk that fails mid-command ends it with one line, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from flask.cli import ScriptInfo
        from sqlalchemy.exc import OperationalError

        from .store import unavailable

        try:
            return super().invoke(ctx)
        except StoreUnavailable as exc:
            raise click.ClickException(str(exc)) from None
        except OperationalError as exc:
            engine = store_of(ctx.ensure_object(ScriptInfo).load_app()).engine
            raise click.ClickException(str(unavailable(engine, exc))) from None
        except OSError as exc:
            full = disk_full(exc)
            if full is None:
                raise
            raise click.ClickException(full) from None


@click.group(cls=_Group, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """Publish ClinicalTrials.gov as linked data, pages and change feeds."""


class Progress:
    """A one-line progress counter on a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0
        self.started = time.monotonic()
        self._shown = 0.0
        self.enabled = sys.stderr.isatty()

    def tick(self) -> None:
        self.count += 1
        now = time.monotonic()
        if self.enabled and now - self._shown > 0.5:
            self._shown = now
            rate = self.count / max(now - self.started, 1e-9)
            click.echo(f"\r{self.label}: {self.count:,} records, {rate:,.0f}/s", nl=False, err=True)

    def done(self) -> None:
        if self.enabled and self.count:
            click.echo(err=True)


def _create_store() -> None:
    try:
        store_of(current_app).create()
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def run_load(paths: list[Path], after_batch: AfterBatch | None = None) -> LoadSummary:
    """Load paths into the app's store with a progress line and a summary."""
    _create_store()
    progress = Progress("loading")
    store = store_of(current_app)
    try:
        with write_lock(store.engine):
            # Under the write lock, a run still "running" belongs to a process that died.
            close_interrupted(store)
            summary = load_paths(
                store,
                paths,
                batch_size=current_app.config["LOAD_BATCH_SIZE"],
                on_record=progress.tick,
                after_batch=after_batch,
                workers=worker_count(current_app.config["LOAD_WORKERS"]),
            )
            progress.done()
            for line in summary.rejected:
                click.echo(f"rejected: {line}", err=True)
            click.echo(
                "read {read}, new {new}, new versions {new_versions}, unchanged {unchanged}, "
                "rejected {rejected}".format(**summary.as_dict())
                + f", events {summary.events.total()}"
            )
            # Still under the lock: no other writer comes between the SQL store and the triple store.
            run_index(locked=True)
    except SyncLocked as exc:
        raise Locked(str(exc)) from None
    except OSError as exc:
        progress.done()
        raise click.ClickException(_os_failure(exc)) from None
    return summary


def run_index(locked: bool = False, rebuild: bool = False, wait: bool = False) -> None:
    """Bring the triple store in line with the SQL store, with a progress line and a summary.

    ``locked``: the caller holds the write lock already. Otherwise another writer holding it is
    left to do the work when it ends.
    """
    from .indexer import reconcile_app, reconcile_locked

    store = store_of(current_app)
    progress = Progress("indexing")
    try:
        if locked:
            summary = reconcile_app(current_app.config, store, on_trial=progress.tick, rebuild=rebuild)
        else:
            summary = reconcile_locked(current_app.config, store, on_trial=progress.tick, rebuild=rebuild, wait=wait)
    except TripleStoreUnavailable as exc:
        progress.done()
        raise click.ClickException(
            f"the triple store was not updated: {exc}. The next load or sync, or `trialpub reindex`, catches up."
        ) from None
    progress.done()
    for line in summary.failed:
        click.echo(f"not indexed: {line}", err=True)
    click.echo(
        f"triple store{' rebuilt' if summary.rebuilt else ''}: {summary.written} trial graphs written, "
        f"{summary.removed} removed, {summary.events} events"
    )


@main.command()
@with_appcontext
def init() -> None:
    """Create the store's tables and indexes (safe to run again)."""
    _create_store()
    click.echo(f"store ready: {_safe_url(current_app.config['DATABASE_URL'])}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def load(paths: tuple[Path, ...]) -> None:
    """Load records from directories of NCT*.json, NDJSON files or ctg-studies.json.zip."""
    from .websub import announcing

    _create_store()
    with announcing(current_app):
        run_load(list(paths))


_host = click.option("--host", default=None, help="Address (default: serve_host).")
_port = click.option("--port", type=int, default=None, help="Port (default: serve_port).")


@main.command()
@_host
@_port
@click.option("--workers", type=int, default=None, help="Worker processes (default: serve_workers).")
@with_appcontext
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the site with gunicorn."""
    from .serve import serve as run

    # Refuse to start on a database out of reach; once serving, pages answer 503 until it is back.
    store_of(current_app).check()
    config = current_app.config
    run(
        host or config["SERVE_HOST"],
        port or config["SERVE_PORT"],
        workers or config["SERVE_WORKERS"],
        config["MAX_URL_BYTES"],
    )


@main.command()
@_host
@_port
@with_appcontext
def demo(host: str | None, port: int | None) -> None:
    """Load the bundled sample into an empty store, then serve it."""
    _create_store()
    if store_of(current_app).is_empty():
        click.echo("loading the bundled sample of real ClinicalTrials.gov records")
        # Older versions first, in one run: the run is the baseline, and the versions of a
        # trial follow each other in date order.
        run_load([resource_path("sample", "history"), resource_path("sample", "studies")])
    else:
        click.echo("the store already holds trials; serving them")
    from .serve import serve as run

    config = current_app.config
    run(host or config["SERVE_HOST"], port or config["SERVE_PORT"], config["SERVE_WORKERS"], config["MAX_URL_BYTES"])


@main.command()
@click.option("--size", type=click.IntRange(min=100), default=20_000, show_default=True, help="Trials to measure at.")
@click.option("--full", is_flag=True, help="Also measure at the registry's size (600,000 trials).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the figures here.")
@click.option("--markdown", "markdown_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the table here, in Markdown.")
@click.option("--database-url", default="", help="Measure on this PostgreSQL (own schema), not SQLite.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), help="Where the synthetic registry goes.")
@click.option("--keep", is_flag=True, help="Keep the synthetic registry and the stores afterwards.")
@click.option("--serve-seconds", type=float, default=10.0, show_default=True, help="Load per kind of request.")
@click.option("--sources", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Real records to build from (default: the bundled sample).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--load", "load_step", is_flag=True,
              help="Also send mixed traffic at 32 connections, alone and during a sync of 5,000 changes.")
@click.option("--load-seconds", type=float, default=60.0, show_default=True, help="How long each load run lasts.")
def bench(
    size: int, full: bool, json_file: Path | None, markdown_file: Path | None, database_url: str,
    workdir: Path | None, keep: bool,
    serve_seconds: float, sources: Path | None, seed: int, load_step: bool, load_seconds: float,
) -> None:
    """Measure load, sync, rendering, serving and SPARQL on a synthetic registry; print a table."""
    import json

    from .bench.measure import StepFailed
    from .bench.report import load_table, render_markdown, render_text, table
    from .bench.suite import Options, run_suite

    options = Options(size=size, full=full, database_url=database_url, workdir=workdir, keep=keep,
                      seed=seed, serve_seconds=serve_seconds, sources=sources, load=load_step,
                      load_seconds=load_seconds)
    try:
        figures = run_suite(options, lambda line: click.echo(line, err=True))
    except StepFailed as exc:
        raise click.ClickException(str(exc)) from None
    figures["table"] = table(figures)
    by_kind = load_table(figures)
    click.echo(render_text(figures["table"], options.sizes()) + (f"\n\n{by_kind}" if by_kind else ""))
    if json_file:
        json_file.write_text(json.dumps(figures, indent=2, sort_keys=True))
        click.echo(f"figures written to {json_file}", err=True)
    if markdown_file:
        markdown = render_markdown(figures["table"], options.sizes()) + "\n"
        if by_kind:
            markdown += "\n" + load_table(figures, markdown=True) + "\n"
        markdown_file.write_text(markdown)


class Locked(click.ClickException):
    """Another sync or load holds the write lock; EX_TEMPFAIL tells cron to try again later."""

    exit_code = 75


class Aborted(click.ClickException):
    """A full sync refused to mark removals because the registry's answer looked partial."""

    exit_code = 3


class SyncProgress:
    """Pages, records per second and events so far, on one terminal line; silent otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def page(self, summary: SyncSummary) -> None:
        if not self.enabled:
            return
        counts = summary.counts
        rate = counts["read"] / max(summary.seconds, 1e-9)
        click.echo(
            f"\rsyncing: page {counts['pages']:,}, {counts['read']:,} records, {rate:,.0f}/s, "
            f"{sum(summary.events.values()):,} events",
            nl=False,
            err=True,
        )
        self.shown = True

    def done(self) -> None:
        if self.shown:
            click.echo(err=True)
            self.shown = False


@main.command()
@click.option("--full", is_flag=True, help="Page through the whole scope; the only way trials are marked removed.")
@click.option(
    "--from", "source", type=click.Path(exists=True, path_type=Path),
    help="Reconcile from a bulk file (ctg-studies.json.zip) instead of the API; implies --full.",
)
@click.option("--wait", is_flag=True, help="If another sync or load is running, wait for it instead of exiting.")
@with_appcontext
def sync(full: bool, source: Path | None, wait: bool) -> None:
    """Bring the store up to date with the registry and post the changes as events."""
    from .sync import describe, sync_with_config
    from .websub import announcing

    # Retries and rejected records are worth a line each; requests that went well are not.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    _create_store()
    progress = SyncProgress()
    try:
        with announcing(current_app):
            summary = sync_with_config(
                store_of(current_app), current_app.config, full=full, source=source, wait=wait,
                on_page=progress.page, on_lock_wait=lambda message: click.echo(message, err=True),
            )
    except SyncLocked as exc:
        raise Locked(str(exc)) from None
    except SyncAborted as exc:
        progress.done()
        raise Aborted(f"full sync aborted: {exc}") from None
    except TrialpubError as exc:
        progress.done()
        raise click.ClickException(f"sync failed: {exc}") from None
    except OSError as exc:
        progress.done()
        raise click.ClickException(f"sync failed: {_os_failure(exc)}") from None
    progress.done()
    click.echo(describe(summary))
    try:
        run_index(wait=wait)
    except SyncLocked as exc:
        click.echo(f"triple store left to the writer that holds the lock ({exc})", err=True)


@main.command()
@click.option("--wait", is_flag=True, help="If a sync or load is running, wait for it instead of exiting.")
@with_appcontext
def reindex(wait: bool) -> None:
    """Rebuild the triple store (SPARQL) from the SQL store."""
    _create_store()
    try:
        run_index(rebuild=True, wait=wait)
    except SyncLocked as exc:
        raise Locked(str(exc)) from None


@main.command()
@with_appcontext
def dump() -> None:
    """Write today's N-Triples and JSON-LD dumps, with checksums, to data_dir/dumps."""
    from .dates import utcnow
    from .dumps import make_dumps
    from .indexer import trial_renderers

    _create_store()
    _, document = trial_renderers(current_app.config)
    try:
        made = make_dumps(current_app.config, store_of(current_app), document, utcnow().date())
    except (TripleStoreUnavailable, OSError) as exc:
        raise click.ClickException(f"dump failed: {exc}") from None
    for item in made:
        click.echo(f"{item.name}  {item.size:,} bytes  sha256 {item.sha256}")


@main.command()
@click.option("--now", is_flag=True, help="Also sync once at start.")
@with_appcontext
def schedule(now: bool) -> None:
    """Sync on the `sync_cron` schedule until stopped (run it in a process of its own)."""
    from .schedule import build_scheduler, scheduled_sync

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per request would drown the run's own log.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _create_store()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    try:
        scheduler = build_scheduler(
            lambda: scheduled_sync(app), config["SYNC_CRON"], config["SYNC_MISFIRE_GRACE"], now=now
        )
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    # A stop request ends the scheduler cleanly; a sync cut short is completed by the next one.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    click.echo(f"syncing on '{config['SYNC_CRON']}' (UTC); stop with Ctrl-C", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.start()


def _os_failure(exc: OSError) -> str:
    return disk_full(exc) or str(exc)


def _safe_url(url: str) -> str:
    """Hide a password in a database URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
