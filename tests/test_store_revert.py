"""A trial whose record goes back to a content stored before (A -> B -> A) is current at A again."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from server.load import load_paths
from server.store import Store, store_of
from server.sync import sync_with_config
from server.trials import content_hash

from .fake_registry import TS_A, TS_B, others, read, version_files

NCT = "NCT05935098"


def released(record: dict[str, Any], day: str) -> dict[str, Any]:
    """Return a record as the registry's data release of a day holds it (same content)."""
    out = copy.deepcopy(record)
    out["derivedSection"]["miscInfoModule"]["versionHolder"] = day
    return out


def pair() -> tuple[dict[str, Any], dict[str, Any]]:
    """A real record, and a later content of it posted the same day with another status."""
    a = released(read(version_files(NCT)[0]), "2026-02-28")
    b = released(a, "2026-03-01")
    status = b["protocolSection"]["statusModule"]
    status["overallStatus"] = "SUSPENDED" if status["overallStatus"] != "SUSPENDED" else "RECRUITING"
    status["whyStopped"] = "Paused for a safety review"
    return a, b


def back(a: dict[str, Any]) -> dict[str, Any]:
    """A's content again, in a later data release than B's."""
    return released(a, "2026-03-02")


def status_steps(store: Store) -> list[tuple[str | None, str | None]]:
    return [(e.old, e.new) for e in reversed(store.events(nct_id=NCT, kinds=["status"]))]


def assert_back_at_a(store: Store, a: dict[str, Any], b: dict[str, Any]) -> None:
    current = store.current(NCT)
    assert current.content_hash == content_hash(a)
    assert current.record == back(a)  # the version row holds the release A came back in
    status_a = a["protocolSection"]["statusModule"]["overallStatus"]
    status_b = b["protocolSection"]["statusModule"]["overallStatus"]
    assert status_steps(store) == [(status_a, status_b), (status_b, status_a)]
    # The history keeps both contents; the way back reuses A's version.
    assert [v["content_hash"] for v in store.versions_of(NCT)] == [content_hash(a), content_hash(b)]
    latest = store.events(nct_id=NCT, kinds=["status"])[0]
    assert latest.version_id == current.version_id
    assert {e.kind for e in store.events(nct_id=NCT)} >= {"status"}


def write(folder: Path, name: str, *records: dict[str, Any]) -> Path:
    path = folder / f"{name}.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_load_a_then_b_then_a(store: Store, tmp_path: Path):
    a, b = pair()
    load_paths(store, [write(tmp_path, "seed", *others()[:3])])  # not a baseline: events are posted
    load_paths(store, [write(tmp_path, "a", a)])
    load_paths(store, [write(tmp_path, "b", b)])
    summary = load_paths(store, [write(tmp_path, "a2", back(a))])
    assert summary.as_dict()["new_versions"] == 1
    assert_back_at_a(store, a, b)
    # A load of the same record again changes nothing.
    again = load_paths(store, [write(tmp_path, "a3", back(a))])
    assert again.as_dict()["unchanged"] == 1
    assert len(store.events(nct_id=NCT, kinds=["status"])) == 2


def test_a_b_a_within_one_batch(store: Store, tmp_path: Path):
    a, b = pair()
    load_paths(store, [write(tmp_path, "seed", *others()[:3])])
    summary = load_paths(store, [write(tmp_path, "aba", a, b, back(a))])
    assert summary.as_dict() == {"read": 3, "new": 1, "new_versions": 2, "unchanged": 0, "rejected": 0}
    assert_back_at_a(store, a, b)


def test_back_then_forward_again_in_one_batch(store: Store, tmp_path: Path):
    a, b = pair()
    c = released(b, "2026-03-03")
    c["protocolSection"]["statusModule"]["whyStopped"] = "Paused for a longer safety review"
    load_paths(store, [write(tmp_path, "seed", *others()[:3])])
    load_paths(store, [write(tmp_path, "ab", a, b)])
    load_paths(store, [write(tmp_path, "ac", back(a), c)])
    assert store.current(NCT).record == c
    status_a = a["protocolSection"]["statusModule"]["overallStatus"]
    status_b = b["protocolSection"]["statusModule"]["overallStatus"]
    # C is diffed against A, which this batch made current again, not against B.
    assert status_steps(store) == [(status_a, status_b), (status_b, status_a), (status_a, status_b)]


def test_an_older_content_posted_earlier_does_not_turn_the_clock_back(store: Store, tmp_path: Path):
    first, last = (read(p) for p in (version_files(NCT)[0], version_files(NCT)[-1]))
    load_paths(store, [write(tmp_path, "both", first, last)])
    summary = load_paths(store, [write(tmp_path, "old", first)])
    assert summary.as_dict()["unchanged"] == 1
    assert store.current(NCT).record == last


def test_a_rerun_of_two_releases_posted_the_same_day_changes_nothing(store: Store, tmp_path: Path):
    a, b = pair()
    load_paths(store, [write(tmp_path, "seed", *others()[:3])])
    load_paths(store, [write(tmp_path, "ab", a, b)])
    summary = load_paths(store, [write(tmp_path, "ab", a, b)])
    assert summary.as_dict()["unchanged"] == 2 and summary.events.total() == 0
    assert store.current(NCT).record == b


def test_a_rerun_of_older_files_after_a_revert_changes_nothing(store: Store, tmp_path: Path):
    a, b = pair()
    load_paths(store, [write(tmp_path, "seed", *others()[:3])])
    load_paths(store, [write(tmp_path, "aba", a, b, back(a))])
    rerun = load_paths(store, [write(tmp_path, "ab", a, b)])
    assert rerun.events.total() == 0 and rerun.as_dict()["unchanged"] == 2
    assert store.current(NCT).record == back(a)


def test_sync_a_then_b_then_a(sync_app, fake_registry):
    store = store_of(sync_app)
    a, b = pair()
    rest = others()
    for records, stamp in (([a, *rest], TS_A), ([b, *rest], TS_B), ([back(a), *rest], TS_B)):
        fake_registry.snapshot(records, stamp)
        summary = sync_with_config(store, sync_app.config, full=True)
        assert summary.outcome == "success"
    assert_back_at_a(store, a, b)


def test_going_back_and_forth_twice_keeps_every_step(store: Store, tmp_path: Path):
    a, b = pair()
    again = released(b, "2026-03-05")  # B's content once more, in a later release
    load_paths(store, [write(tmp_path, "seed", *others()[:3])])
    for name, record in (("a", a), ("b", b), ("a2", back(a)), ("b2", again)):
        load_paths(store, [write(tmp_path, name, record)])
    status_a = a["protocolSection"]["statusModule"]["overallStatus"]
    status_b = b["protocolSection"]["statusModule"]["overallStatus"]
    assert status_steps(store) == [(status_a, status_b), (status_b, status_a), (status_a, status_b)]
    assert store.current(NCT).record == again
    # A rerun of the last file posts nothing more.
    assert load_paths(store, [write(tmp_path, "b3", again)]).events.total() == 0
    assert len(status_steps(store)) == 3
