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
def generate(sources: Path, out: Path, size: int, changes: int, seed: int, fmt: str) -> None:
    """Write the first day's snapshot and, with --changes, the second day's and the third day's updates.

    snapshot-1: the registry on day 0; snapshot-2: day 1, ``changes`` trials changed (a full sync
    reads it); updates-3.ndjson: the trials changed on day 2, what an incremental query returns.
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


if __name__ == "__main__":
    main()
