"""Real record histories as change events: a baseline of first versions, then every later one."""

from __future__ import annotations

import functools
import json

from server.dates import utcnow
from server.events import Event, event_id
from server.store import Store
from server.trials import content_hash

from .conftest import VERSIONS
from .test_store import incoming


def derive(item, before, stored):
    """A small deriver for the store's seam: a status event, and an updated event naming changed modules."""
    if before is None:
        return []
    nct_id, old_hash = item.trial.nct_id, content_hash(before)

    def event(kind, old, new, detail):
        return Event(
            event_id=event_id(nct_id, kind, old_hash, item.content_hash), nct_id=nct_id, kind=kind,
            old=old, new=new, detail=detail, version_id=stored.version_id,
            registry_last_update=item.last_update, detected_at=utcnow(),
        )

    events = []
    old_status = before["protocolSection"]["statusModule"]["overallStatus"]
    if old_status != item.trial.overall_status:
        events.append(event("status", old_status, item.trial.overall_status, {}))
    old_p, new_p = before["protocolSection"], item.record["protocolSection"]
    changed = sorted(k for k in set(old_p) | set(new_p) if k != "statusModule" and old_p.get(k) != new_p.get(k))
    if changed:
        events.append(event("updated", None, None, {"fields": changed}))
    return events


@functools.cache
def history() -> dict[str, list[dict]]:
    """Every trial's real versions, oldest first (shared: do not change them)."""
    index = json.loads((VERSIONS / "index.json").read_text())
    return {
        nct_id: [json.loads((VERSIONS / nct_id / v["file"]).read_text()) for v in versions]
        for nct_id, versions in sorted(index.items())
    }


def load_history(store: Store, nct_ids: list[str] | None = None) -> list[Event]:
    """Store first versions as a baseline, then later versions round by round; return the events, oldest first."""
    trials = {k: v for k, v in history().items() if nct_ids is None or k in nct_ids}
    store.store_batch([incoming(versions[0]) for versions in trials.values()])
    rounds = max(len(v) for v in trials.values())
    for n in range(1, rounds):
        batch = [incoming(versions[n]) for versions in trials.values() if len(versions) > n]
        store.store_batch(batch, derive_events=derive)
    return list(reversed(store.events(limit=10_000)))
