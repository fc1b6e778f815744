"""Read records from bulk files: a directory of JSON files, NDJSON, or the registry's zip.

Every reader streams: one record's bytes are in memory at a time, however large the input.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from .zipstream import members, read_member


@dataclass(frozen=True)
class RawRecord:
    """The bytes of one record and where they came from (file, or file:line)."""

    source: str
    data: bytes


class UnreadableInput(OSError):
    """A path given to the loader is neither a directory, a JSON/NDJSON file nor a zip."""


def read_records(path: Path) -> Iterator[RawRecord]:
    """Yield the records found at a path, in a stable order."""
    if path.is_dir():
        yield from _read_dir(path)
    elif not path.exists():
        raise UnreadableInput(f"{path}: no such file or directory")
    elif zipfile.is_zipfile(path):
        yield from _read_zip(path)
    elif path.suffix in {".ndjson", ".jsonl"}:
        yield from _read_ndjson(path)
    elif path.suffix == ".json":
        yield from _read_json_file(path)
    else:
        raise UnreadableInput(f"{path}: expected a directory, a .json, .ndjson/.jsonl or .zip file")


def batches(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """Group records into lists of ``size``, the last one shorter."""
    batch: list[RawRecord] = []
    for raw in records:
        batch.append(raw)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_dir(path: Path) -> Iterator[RawRecord]:
    # Sorted paths keep versions/NCT…/<date>.json in date order within each trial.
    for file in sorted(path.rglob("*.json")):
        if file.is_file():
            yield RawRecord(str(file), file.read_bytes())


def _read_ndjson(path: Path) -> Iterator[RawRecord]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield RawRecord(f"{path}:{number}", line)


def _read_zip(path: Path) -> Iterator[RawRecord]:
    # Not zipfile.ZipFile: it holds an object per member, hundreds of MB for the registry's zip.
    with path.open("rb") as fh:
        for member in members(path):
            if member.name.endswith("/") or not member.name.endswith(".json"):
                continue
            where = f"{path}!{member.name}"
            yield RawRecord(where, read_member(fh, member, where))


def _read_json_file(path: Path) -> Iterator[RawRecord]:
    """Read one record, or a saved API list answer ``{"studies": [...]}``."""
    data = path.read_bytes()
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        yield RawRecord(str(path), data)  # the loader reports it as not JSON
        return
    if isinstance(parsed, dict) and isinstance(parsed.get("studies"), list):
        for index, study in enumerate(parsed["studies"]):
            yield RawRecord(f"{path}[{index}]", orjson.dumps(study))
    else:
        yield RawRecord(str(path), data)
