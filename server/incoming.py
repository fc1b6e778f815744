"""A record on its way into the store: parsed here, or prepared in a worker process.

Preparing a record (JSON parsing, the typed parse, hashing, compressing) is most of the cost of
a load. Worker processes do it and hand back plain values, cheap to pass between processes
(a parsed ``Trial`` costs about as much to unpickle as to parse again); the record is parsed
once more in the loading process only if something asks for it, e.g. to diff a new version.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, cast

import orjson

from .conditions import trial_conditions
from .trials import Trial, checked_hash, parse_trial


def compress(raw: bytes) -> bytes:
    """Compress a record's JSON for storage (JSON shrinks about fivefold)."""
    return zlib.compress(raw, 1)


def decompress(blob: bytes) -> dict[str, Any]:
    """Return the record stored as compressed JSON."""
    record: dict[str, Any] = orjson.loads(zlib.decompress(blob))
    return record


def listing_of(trial: Trial) -> dict[str, Any]:
    """Return the listing columns of a trial's row in ``trials``."""
    return {
        "overall_status": trial.overall_status,
        "study_type": trial.design.study_type,
        "phases": " ".join(trial.design.phases),
        "countries": "".join(f"|{c}" for c in trial.countries) + "|",
        "title": trial.brief_title,
    }


def conditions_of(trial: Trial) -> tuple[dict[str, Any], ...]:
    """Return the ``trial_conditions`` rows of a trial, without its NCT ID."""
    return tuple(
        {"slug": ref.slug, "label": ref.label, "mesh_id": ref.mesh_id, "is_ancestor": ref.is_ancestor}
        for ref in trial_conditions(trial)
    )


def _last_update(trial: Trial) -> str | None:
    posted = trial.last_update_posted
    return posted.date.isoformat() if posted else None


@dataclass(frozen=True)
class Prepared:
    """Everything the store writes for one record, as plain values."""

    source: str
    nct_id: str
    content_hash: str
    last_update: str | None
    blob: bytes  # the compressed JSON
    listing: dict[str, Any]
    conditions: tuple[dict[str, Any], ...]
    raw_hash: str | None = None  # of the bytes the record came as, see trials.raw_hash


def prepare_record(record: dict[str, Any], source: str, raw_hash: str | None = None) -> Prepared:
    """Parse, hash and compress one record; raise InvalidRecord if it is not a study."""
    trial = parse_trial(record, source)
    return Prepared(
        raw_hash=raw_hash,
        source=source,
        nct_id=trial.nct_id,
        content_hash=checked_hash(record, trial, source),
        last_update=_last_update(trial),
        blob=compress(orjson.dumps(record)),
        listing=listing_of(trial),
        conditions=conditions_of(trial),
    )


class Incoming:
    """One record on its way into the store."""

    __slots__ = ("_prepared", "_record", "_trial", "content_hash", "last_update", "nct_id", "raw_hash")

    def __init__(
        self, trial: Trial, record: dict[str, Any], content_hash: str, raw_hash: str | None = None
    ) -> None:
        self._trial: Trial | None = trial
        self._record: dict[str, Any] | None = record
        self._prepared: Prepared | None = None
        self.content_hash = content_hash
        self.nct_id = trial.nct_id
        self.last_update = _last_update(trial)
        self.raw_hash = raw_hash

    @classmethod
    def from_prepared(cls, prepared: Prepared) -> Incoming:
        """Wrap a record prepared elsewhere; it is parsed again only if asked for."""
        item = cls.__new__(cls)
        item._trial = item._record = None
        item._prepared = prepared
        item.content_hash = prepared.content_hash
        item.nct_id = prepared.nct_id
        item.last_update = prepared.last_update
        item.raw_hash = prepared.raw_hash
        return item

    @property
    def record(self) -> dict[str, Any]:
        if self._record is None:
            self._record = decompress(cast(Prepared, self._prepared).blob)
        return self._record

    @property
    def trial(self) -> Trial:
        if self._trial is None:
            source = self._prepared.source if self._prepared else "record"
            self._trial = parse_trial(self.record, source)
        return self._trial

    def blob(self) -> bytes:
        """Return the record as stored: compressed JSON."""
        return self._prepared.blob if self._prepared else compress(orjson.dumps(self.record))

    def listing(self) -> dict[str, Any]:
        """Return the listing columns of the trial's row."""
        return self._prepared.listing if self._prepared else listing_of(self.trial)

    def conditions(self) -> tuple[dict[str, Any], ...]:
        """Return the trial's condition rows, without its NCT ID."""
        return self._prepared.conditions if self._prepared else conditions_of(self.trial)
