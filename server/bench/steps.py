"""The measured steps, each run in a child process: ``python -m server.bench.steps STEP ...``."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import click
import orjson

from .measure import report
from .synth import Manifest, Synth, write_ndjson, write_zip

# Formats of the trial document: name -> URL suffix (one table, as the site's own).
TRIAL_FORMATS = {"html": "", "jsonld": ".jsonld", "ttl": ".ttl", "nt": ".nt", "rdf": ".rdf"}


@click.group()
def main() -> None:
    """Steps of the benchmark suite."""


@main.command()
@click.option("--sources", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--size", type=int, required=True)
@click.option("--changes", type=int, default=0, help="Trials changed on each later day.")
@click.option("--seed", type=int, default=1)
@click.option("--format", "fmt", type=click.Choice(["zip", "ndjson"]), default="zip")
@click.option("--day-3", "day_3", is_flag=True, help="Also write snapshot-4: day 3, for a sync under load.")
def generate(sources: Path, out: Path, size: int, changes: int, seed: int, fmt: str, day_3: bool) -> None:
    """Write the first day's snapshot and, with --changes, the second day's and the third day's updates.

    snapshot-1: the registry on day 0; snapshot-2: day 1, ``changes`` trials changed (a full sync
    reads it); updates-3.ndjson: the trials changed on day 2, what an incremental query returns;
    with --day-3, snapshot-4: day 3, ``changes`` more trials changed (the load step syncs from it).
    """
    out.mkdir(parents=True, exist_ok=True)
    synth = Synth(sources, seed=seed)
    write = write_zip if fmt == "zip" else write_ndjson
    result: dict[str, Any] = {"size": size, "changes": changes}
    started = time.perf_counter()
    first = out / f"snapshot-1.{fmt}"
    write(synth.snapshot(size), first)
    result.update(snapshot_s=time.perf_counter() - started, snapshot_bytes=first.stat().st_size)
    if changes:
        manifests = [Manifest(), Manifest()]
        write(synth.changed_snapshot(size, changes, manifest=manifests[0]), out / f"snapshot-2.{fmt}")
        write_ndjson(
            synth.changed_snapshot(size, changes, manifest=manifests[1], rounds=2, only_changed=True),
            out / "updates-3.ndjson",
        )
        if day_3:
            manifests.append(Manifest())
            write(synth.changed_snapshot(size, changes, manifest=manifests[2], rounds=3), out / f"snapshot-4.{fmt}")
        for number, manifest in enumerate(manifests, start=2):
            (out / f"manifest-{number}.json").write_bytes(orjson.dumps({**manifest.counts(), "ids": manifest.changed}))
        result["changes_by_kind"] = manifests[0].counts()
        result["day_3"] = synth.day(2).isoformat()
    result["wall_s"] = time.perf_counter() - started
    report(result)


@main.command()
@click.option("--sample", type=int, default=200, help="Trials to render.")
def render(sample: int) -> None:
    """Time each trial format per trial: first request (renders) and a repeat (may be cached)."""
    from .. import create_app
    from ..store import store_of

    app = create_app()
    store = store_of(app)
    ids = [row["nct_id"] for row in store.list_trials(limit=sample)]
    client = app.test_client()
    result: dict[str, Any] = {"sample": len(ids)}
    for name, suffix in TRIAL_FORMATS.items():
        cold: list[float] = []
        warm: list[float] = []
        ok = True
        for nct in ids:
            for timings in (cold, warm):
                started = time.perf_counter()
                response = client.get(f"/trials/{nct}{suffix}")
                timings.append(time.perf_counter() - started)
                if response.status_code != 200:
                    ok = False
                    break
            if not ok:
                break
        result[name] = (
            {"first_ms": _ms(cold), "repeat_ms": _ms(warm), "bytes": len(response.data)}
            if ok
            else {"unavailable": f"HTTP {response.status_code}"}
        )
    report(result)


def _ms(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median": statistics.median(ordered) * 1000,
        "p90": ordered[int(len(ordered) * 0.9)] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


def _parameters(sample: int) -> tuple[str, Any]:
    from .. import create_app
    from ..store import store_of
    from ..trials import parse_trial
    from .queries import choose_parameters

    app = create_app()
    store = store_of(app)
    trials = (parse_trial(stored.record) for _, stored in zip(range(sample), store.iter_current(), strict=False))
    return app.config["DATA_DIR"], choose_parameters(app.config["BASE_URL"], trials)


def _published_store(data_dir: str) -> Any:
    """Open the snapshot of the embedded store that queries read."""
    from ..snapshots import SnapshotReader
    from ..triplestore import oxigraph_root

    store = SnapshotReader(oxigraph_root(data_dir)).store()
    if store is None:
        raise click.ClickException("the triple store has not been published yet")
    return store


@main.command("export-subset")
@click.option("--trials", type=int, required=True, help="Trial graphs to export (the first by NCT ID).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_subset(trials: int, out: Path) -> None:
    """Write the first trials' graphs, the change log and the vocabulary as N-Quads."""
    import pyoxigraph as ox

    from .. import create_app
    from ..store import store_of

    app = create_app()
    base = app.config["BASE_URL"]
    store = _published_store(app.config["DATA_DIR"])
    ids = [s.nct_id for _, s in zip(range(trials), store_of(app).iter_current(), strict=False)]
    graphs = [f"{base}/trials/{nct}" for nct in ids] + [f"{base}/changes", f"{base}/vocab"]
    quads = 0
    with out.open("wb") as fh:
        for graph in graphs:
            chunk = list(store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
            quads += len(chunk)
            ox.serialize(chunk, fh, ox.RdfFormat.N_QUADS)
    report({"trials": len(ids), "quads": quads, "bytes": out.stat().st_size})


@main.command()
@click.option("--engine", type=click.Choice(["oxigraph-disk", "oxigraph-memory", "rdflib"]), required=True)
@click.option("--nquads", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The subset to load (in-memory engines).")
@click.option("--repeat", type=int, default=5, show_default=True)
@click.option("--timeout", type=int, default=120, show_default=True, help="Seconds one query may take.")
def sparql(engine: str, nquads: Path | None, repeat: int, timeout: int) -> None:
    """Time the ten typical queries on one engine: the median of several runs each."""
    import signal

    import pyoxigraph as ox

    from .queries import typical_queries

    data_dir, params = _parameters(500)
    queries = typical_queries(params)
    result: dict[str, Any] = {"engine": engine, "parameters": params.__dict__}
    started = time.perf_counter()
    if engine == "rdflib":
        from rdflib import Dataset

        dataset = Dataset(default_union=True)
        dataset.parse(str(nquads), format="nquads")

        def run(query: str) -> int:
            return len(list(dataset.query(query)))
    else:
        if engine == "oxigraph-disk":
            store = _published_store(data_dir)
        else:
            store = ox.Store()
            store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)

        def run(query: str) -> int:
            return len(list(store.query(query, use_default_graph_as_union=True)))  # type: ignore[arg-type]

    result["open_s"] = time.perf_counter() - started

    def expire(_signum: int, _frame: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, expire)
    timings: dict[str, Any] = {}
    for name, query in queries.items():
        runs: list[float] = []
        rows = 0
        try:
            for _ in range(repeat):
                signal.alarm(timeout)
                t0 = time.perf_counter()
                rows = run(query)
                runs.append(time.perf_counter() - t0)
                signal.alarm(0)
        except TimeoutError:
            timings[name] = {"timed_out_after_s": timeout, "rows": None}
            continue
        timings[name] = {"median_ms": statistics.median(runs) * 1000, "first_ms": runs[0] * 1000, "rows": rows}
    result["queries"] = timings
    done = [t["median_ms"] for t in timings.values() if "median_ms" in t]
    result["median_ms"] = statistics.median(done) if done else None
    report(result)


@main.command("load")
@click.option("--seconds", type=float, default=60.0, show_default=True)
@click.option("--connections", type=int, default=32, show_default=True)
@click.option("--sync-from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A later snapshot to sync from while the load runs.")
@click.option("--changed", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The snapshot's manifest: which trials it changes.")
def load(seconds: float, connections: int, sync_from: Path | None, changed: Path | None) -> None:
    """Send mixed traffic to gunicorn with 2 workers; check each trial document shows one whole version."""
    from .mixed import run_load

    report(run_load(seconds, connections, sync_from, changed))


@main.command()
def index() -> None:
    """Bring the triple store in line with the SQL store: every trial's graph written, then published."""
    from .. import create_app
    from ..indexer import reconcile_app
    from ..store import store_of

    app = create_app()
    with app.app_context():
        summary = reconcile_app(app.config, store_of(app))
    report({"written": summary.written, "failed": len(summary.failed), "events": summary.events})


if __name__ == "__main__":
    main()
