import json

from server.conditions import trial_conditions
from server.dates import utcnow
from server.events import Event, event_id

from .conftest import VERSIONS
from .test_store import incoming


def status_events(item, before, stored):
    """A minimal deriver for the store's seam: one event per overall-status change."""
    if before is None:
        return []
    old = before["protocolSection"]["statusModule"]["overallStatus"]
    new = item.trial.overall_status
    if old == new:
        return []
    from server.trials import content_hash

    return [
        Event(
            event_id=event_id(item.trial.nct_id, "status", content_hash(before), item.content_hash),
            nct_id=item.trial.nct_id, kind="status", old=old, new=new, detail={},
            version_id=stored.version_id, registry_last_update=item.last_update, detected_at=utcnow(),
        )
    ]


def test_events_are_written_with_their_version_and_never_twice(store):
    files = sorted((VERSIONS / "NCT06821503").glob("*.json"))
    old, new = (incoming(json.loads(f.read_text())) for f in (files[0], files[-1]))
    store.store_batch([old], derive_events=status_events)
    store.store_batch([new], derive_events=status_events)
    events = store.events(nct_id="NCT06821503")
    assert [(e.kind, e.old, e.new) for e in events] == [("status", "NOT_YET_RECRUITING", "RECRUITING")]
    assert events[0].detected_at.tzinfo is not None
    assert events[0].registry_last_update == new.last_update
    # The same versions again: nothing new is stored, so no event either.
    store.store_batch([old, new], derive_events=status_events)
    assert len(store.events()) == 1
    slug = trial_conditions(new.trial)[0].slug
    assert [e.event_id for e in store.events(slug=slug)] == [events[0].event_id]
    assert store.events(slug="no-such-condition") == []
    assert store.events(kinds=["new"]) == []
