"""A synthetic registry of any size, made from real records, for benchmarks.

Each synthetic trial is a real record under a new NCT ID, with its dates shifted by whole months
and its overall status redrawn from the registry's mix. Synthetic trials are marked three ways:
- NCT IDs from NCT90000000 up (the registry numbers from NCT0; NCT9 is decades away);
- a secondary id of type OTHER whose domain says "trialpub synthetic benchmark record", naming
  the real record it was made from, and the keyword "trialpub-synthetic";
- a brief title that starts with "[Synthetic]".

Trial ``i`` depends only on the seed and ``i``, so a snapshot is generated one record at a time
(memory flat in the size) and a later snapshot can regenerate any trial and change it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

FIRST_NCT = 90_000_000
MARK = "trialpub-synthetic"
MARK_DOMAIN = "trialpub synthetic benchmark record (not a real trial)"
TITLE_PREFIX = "[Synthetic] "

# Records above this size are rare in the registry (the largest is 3.6 MB): use them once in
# GIANT_EVERY trials, not once in every few hundred.
GIANT_BYTES = 1_000_000
GIANT_EVERY = 50_000

# Overall statuses of interventional and observational studies, roughly as the registry has them.
STATUS_WEIGHTS = {
    "COMPLETED": 47.0,
    "UNKNOWN": 17.0,
    "RECRUITING": 11.0,
    "TERMINATED": 5.5,
    "ACTIVE_NOT_RECRUITING": 4.5,
    "NOT_YET_RECRUITING": 3.5,
    "WITHDRAWN": 2.8,
    "ENROLLING_BY_INVITATION": 1.2,
    "SUSPENDED": 0.3,
}
_STATUSES = list(STATUS_WEIGHTS)
_WEIGHTS = list(STATUS_WEIGHTS.values())

# What a changed record in a later snapshot has changed; each maps to the event kind it causes.
CHANGE_KINDS = ("status", "site_status", "enrollment", "dates", "eligibility", "updated")

_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
# Where the registry writes dates (versionHolder is set to the snapshot date instead).
_DATED = (
    ("protocolSection", "statusModule"),
    ("documentSection",),
    ("annotationSection",),
    ("derivedSection", "miscInfoModule", "submissionTracking"),
)


def nct_id(index: int) -> str:
    """Return the synthetic NCT ID of trial ``index``."""
    return f"NCT{FIRST_NCT + index:08d}"


def is_synthetic(record: dict[str, Any]) -> bool:
    """Say whether a record is one of ours rather than the registry's."""
    ident = record.get("protocolSection", {}).get("identificationModule", {})
    return any(info.get("domain") == MARK_DOMAIN for info in ident.get("secondaryIdInfos", []))


@dataclass
class Manifest:
    """What a changed snapshot changed, to check a sync's events against."""

    changed: dict[str, str] = field(default_factory=dict)  # nct_id -> change kind
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = Counter(self.changed.values())
        return {**{kind: counts[kind] for kind in CHANGE_KINDS}, "removed": len(self.removed), "added": len(self.added)}


class Synth:
    """Generates synthetic trials from a folder of real records."""

    def __init__(self, sources: Path, seed: int = 1, snapshot_date: dt.date | None = None) -> None:
        files = sorted(sources.glob("*.json"))
        if not files:
            raise ValueError(f"{sources}: no *.json records to build from")
        raws = [file.read_bytes() for file in files]
        # Raw bytes, parsed per trial: a few MB held, however many trials are made.
        self.pool = [raw for raw in raws if len(raw) <= GIANT_BYTES]
        self.giants = [raw for raw in raws if len(raw) > GIANT_BYTES]
        self.seed = seed
        # By default the day after the latest update among the sources: a change posted on a
        # later day is then newer than every record it changes (dates only ever shift back).
        self.snapshot_date = snapshot_date or _latest_update(raws) + dt.timedelta(days=1)

    def _rng(self, index: int, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}:{purpose}:{index}")

    def record(self, index: int, snapshot_date: dt.date | None = None) -> dict[str, Any]:
        """Build synthetic trial ``index`` as it stands on a snapshot date."""
        rng = self._rng(index, "trial")
        if self.giants and index % GIANT_EVERY == GIANT_EVERY - 1:
            raw = self.giants[(index // GIANT_EVERY) % len(self.giants)]
        else:
            raw = self.pool[rng.randrange(len(self.pool))]
        record: dict[str, Any] = orjson.loads(raw)
        protocol = record.setdefault("protocolSection", {})
        ident = protocol.setdefault("identificationModule", {})
        source = ident.get("nctId", "?")
        ident["nctId"] = nct_id(index)
        ident.pop("nctIdAliases", None)
        ident["briefTitle"] = TITLE_PREFIX + str(ident.get("briefTitle", ""))
        ident.setdefault("secondaryIdInfos", []).append(
            {"id": f"SYNTH-{self.seed}-{index}-FROM-{source}", "type": "OTHER", "domain": MARK_DOMAIN}
        )
        conditions = protocol.setdefault("conditionsModule", {})
        conditions["keywords"] = [*conditions.get("keywords", []), MARK]

        months = rng.randint(-36, 0)
        for path in _DATED:
            node: Any = record
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node is not None:
                _shift_dates(node, months)
        design = protocol.get("designModule", {})
        status = protocol.setdefault("statusModule", {})
        if design.get("studyType") != "EXPANDED_ACCESS":
            status["overallStatus"] = rng.choices(_STATUSES, _WEIGHTS)[0]
        misc = record.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})
        misc["versionHolder"] = (snapshot_date or self.snapshot_date).isoformat()
        return record

    def snapshot(self, size: int) -> Iterator[tuple[str, bytes]]:
        """Yield ``size`` trials as (NCT ID, JSON bytes), in NCT ID order."""
        for index in range(size):
            yield nct_id(index), orjson.dumps(self.record(index))

    def day(self, round_: int) -> dt.date:
        """Return the day of a round of changes (round 0 is the first snapshot)."""
        return self.snapshot_date + dt.timedelta(days=round_)

    def changed_snapshot(
        self,
        size: int,
        changes: int,
        removed: int = 0,
        added: int = 0,
        manifest: Manifest | None = None,
        rounds: int = 1,
        only_changed: bool = False,
    ) -> Iterator[tuple[str, bytes]]:
        """Yield the snapshot after ``rounds`` days of changes, ``changes`` trials changed each day.

        Removals and additions happen on the first day. Every record carries the last day's
        versionHolder, as the registry's daily release does, so unchanged records differ in bytes
        but not in content. The manifest lists the last day's changes; ``only_changed`` yields
        just those records, as the registry answers a query for records updated since the day before.
        """
        if changes + removed > size:
            raise ValueError(f"cannot change {changes} and remove {removed} of {size} trials")
        days: list[dict[int, str]] = []
        gone: set[int] = set()
        for day in range(1, rounds + 1):
            picked = random.Random(f"{self.seed}:picks:{day}").sample(range(size), changes + removed * (day == 1))
            days.append({index: CHANGE_KINDS[n % len(CHANGE_KINDS)] for n, index in enumerate(picked[:changes])})
            if day == 1:
                gone = set(picked[changes:])
        last = self.day(rounds)
        manifest = manifest if manifest is not None else Manifest()
        for index in range(size + added):
            nct = nct_id(index)
            if index in gone:
                manifest.removed.append(nct)
                continue
            record = self.record(index, last)
            touched = False
            if index >= size:
                manifest.added.append(nct)
                _touch(record, self.day(1))
                touched = rounds == 1
            for day, kinds in enumerate(days, start=1):
                if index in kinds:
                    kind = _change(record, kinds[index], self._rng(index, f"change:{day}"))
                    _touch(record, self.day(day))
                    if day == rounds:
                        manifest.changed[nct] = kind
                        touched = True
            if touched or not only_changed:
                yield nct, orjson.dumps(record)


def _latest_update(raws: Iterable[bytes]) -> dt.date:
    latest = dt.date(2000, 1, 1)
    for raw in raws:
        status = orjson.loads(raw).get("protocolSection", {}).get("statusModule", {})
        posted = status.get("lastUpdatePostDateStruct", {}).get("date", "")
        if _DATE.match(posted) and len(posted) == 10:
            latest = max(latest, dt.date.fromisoformat(posted))
    return latest


def _shift_dates(node: Any, months: int) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if (key == "date" or key.endswith("Date")) and _DATE.match(value):
                    node[key] = shift_months(value, months)
            else:
                _shift_dates(value, months)
    elif isinstance(node, list):
        for item in node:
            _shift_dates(item, months)


def shift_months(value: str, months: int) -> str:
    """Shift a YYYY-MM or YYYY-MM-DD date by whole months, keeping its precision."""
    total = int(value[:4]) * 12 + int(value[5:7]) - 1 + months
    year, month = divmod(total, 12)
    month += 1
    if len(value) == 7:
        return f"{year:04d}-{month:02d}"
    day = min(int(value[8:10]), calendar.monthrange(year, month)[1])
    return f"{year:04d}-{month:02d}-{day:02d}"


def _touch(record: dict[str, Any], day: dt.date) -> None:
    status = record["protocolSection"]["statusModule"]
    status["lastUpdateSubmitDate"] = day.isoformat()
    status["lastUpdatePostDateStruct"] = {"date": day.isoformat(), "type": "ACTUAL"}


def _change(record: dict[str, Any], kind: str, rng: random.Random) -> str:
    """Change one thing of a record the way registry updates do; return the kind changed."""
    protocol = record["protocolSection"]
    status = protocol["statusModule"]
    sites = [site for site in protocol.get("contactsLocationsModule", {}).get("locations", []) if "status" in site]
    if kind == "site_status" and sites:
        site = rng.choice(sites)
        site["status"] = "COMPLETED" if site["status"] == "RECRUITING" else "RECRUITING"
        return kind
    if kind == "enrollment":
        info = protocol.setdefault("designModule", {}).setdefault("enrollmentInfo", {})
        info["count"] = int(info.get("count", 0)) + rng.randint(1, 50)
        return kind
    if kind == "dates" and "primaryCompletionDateStruct" in status:
        struct = status["primaryCompletionDateStruct"]
        struct["date"] = shift_months(struct["date"], rng.randint(1, 12))
        return kind
    if kind == "eligibility":
        module = protocol.setdefault("eligibilityModule", {})
        module["eligibilityCriteria"] = str(module.get("eligibilityCriteria", "")) + "\n\n* Able to attend visits"
        return kind
    if kind == "updated":
        module = protocol.setdefault("descriptionModule", {})
        module["briefSummary"] = str(module.get("briefSummary", "")) + " (Summary revised.)"
        return kind
    # A status change, and the fallback for records lacking what the kind needs.
    old = status.get("overallStatus")
    status["overallStatus"] = rng.choice([s for s in _STATUSES if s != old])
    return "status"


def write_ndjson(records: Iterable[tuple[str, bytes]], path: Path) -> int:
    """Write records one a line; return how many."""
    count = 0
    with path.open("wb") as fh:
        for _nct, data in records:
            fh.write(data)
            fh.write(b"\n")
            count += 1
    return count


def write_zip(records: Iterable[tuple[str, bytes]], path: Path) -> int:
    """Write records as the registry's bulk zip does, one NCT….json file each; return how many."""
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for nct, data in records:
            archive.writestr(f"{nct}.json", data)
            count += 1
    return count
