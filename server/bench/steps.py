"""The measured steps, each run in a child process: ``python -m server.bench.steps STEP ...``."""

from __future__ import annotations

import datetime as dt
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
@click.option("--changes", type=int, default=0)
@click.option("--removed", type=int, default=0)
@click.option("--added", type=int, default=0)
@click.option("--seed", type=int, default=1)
@click.option("--zip/--no-zip", "as_zip", default=False, help="Also write the first snapshot as a zip.")
def generate(
    sources: Path, out: Path, size: int, changes: int, removed: int, added: int, seed: int, as_zip: bool
) -> None:
    """Write snapshot 1 (NDJSON, optionally zip) and, with --changes, snapshot 2 and its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    synth = Synth(sources, seed=seed)
    started = time.perf_counter()
    first = out / "snapshot-1.ndjson"
    write_ndjson(synth.snapshot(size), first)
    result: dict[str, Any] = {"size": size, "bytes": first.stat().st_size, "ndjson_s": time.perf_counter() - started}
    if as_zip:
        started = time.perf_counter()
        write_zip(synth.snapshot(size), out / "snapshot-1.zip")
        result["zip_s"] = time.perf_counter() - started
    if changes or removed or added:
        manifest = Manifest()
        later = synth.snapshot_date + dt.timedelta(days=1)
        started = time.perf_counter()
        write_ndjson(synth.changed_snapshot(size, changes, later, removed, added, manifest), out / "snapshot-2.ndjson")
        result["changed_s"] = time.perf_counter() - started
        (out / "manifest.json").write_bytes(
            orjson.dumps({**manifest.counts(), "changed_ids": manifest.changed, "removed_ids": manifest.removed})
        )
        result["manifest"] = manifest.counts()
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


if __name__ == "__main__":
    main()
