"""Dated dumps of the whole dataset, gzip-compressed, each with its SHA-256 checksum."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .store import Store, StoredTrial
from .triplestore import export_ntriples

# A trial's current version -> its JSON-LD document, as /trials/NCT….jsonld serves it.
RenderJsonLd = Callable[[StoredTrial], dict[str, Any]]
DUMP_NAME = re.compile(r"^trialpub-(\d{4}-\d{2}-\d{2})\.(nt|jsonl)\.gz$")
CHECKSUM_SUFFIX = ".sha256"
# What each dump holds, by its file extension.
KINDS: dict[str, tuple[str, str]] = {
    "nt": ("N-Triples: every triple of every graph (trials, vocabulary, change events)", "application/n-triples"),
    "jsonl": ("JSON-LD lines: one trial's JSON-LD document per line", "application/ld+json"),
}


@dataclass(frozen=True)
class DumpFile:
    """One finished dump as it lies in the dumps folder."""

    name: str
    date: str
    extension: str  # nt or jsonl
    size: int
    sha256: str

    @property
    def description(self) -> str:
        return KINDS[self.extension][0]

    @property
    def media_type(self) -> str:
        """The media type of the dump's content, once decompressed."""
        return KINDS[self.extension][1]


def list_dumps(folder: Path) -> list[DumpFile]:
    """List finished dumps (those with a checksum file), newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = DUMP_NAME.match(path.name)
        checksum = path.with_name(path.name + CHECKSUM_SUFFIX)
        if not match or not checksum.is_file():
            continue
        found.append(
            DumpFile(
                name=path.name,
                date=match.group(1),
                extension=match.group(2),
                size=path.stat().st_size,
                sha256=checksum.read_text().split()[0],
            )
        )
    return sorted(found, key=lambda d: (d.date, d.extension), reverse=True)


class _Hashing:
    """A binary file that hashes what is written through it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        written: int = self.target.write(data)
        return written

    def flush(self) -> None:
        self.target.flush()


def _write(folder: Path, name: str, chunks: Iterable[bytes]) -> DumpFile:
    """Stream chunks into a gzip file, then publish it with its checksum file."""
    final = folder / name
    partial = folder / f".{name}.partial"
    with partial.open("wb") as raw:
        hashing = _Hashing(raw)
        # mtime=0: the same content gives the same file, and the same checksum.
        with gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0) as out:  # type: ignore[arg-type]
            for chunk in chunks:
                out.write(chunk)
        raw.flush()
        os.fsync(raw.fileno())
    checksum = hashing.digest.hexdigest()
    # A dump is listed only with its checksum file: drop the old one before replacing the data.
    checksum_file = folder / f"{name}{CHECKSUM_SUFFIX}"
    checksum_file.unlink(missing_ok=True)
    os.replace(partial, final)
    checksum_file.write_text(f"{checksum}  {name}\n")
    match = DUMP_NAME.match(name)
    assert match is not None
    return DumpFile(name, match.group(1), match.group(2), final.stat().st_size, checksum)


def write_ntriples_dump(folder: Path, date: dt.date, chunks: Iterable[bytes]) -> DumpFile:
    """Write the N-Triples dump of one day from chunks of N-Triples."""
    folder.mkdir(parents=True, exist_ok=True)
    return _write(folder, f"trialpub-{date.isoformat()}.nt.gz", chunks)


def write_jsonld_dump(folder: Path, date: dt.date, documents: Iterable[dict[str, Any]]) -> DumpFile:
    """Write the JSON-LD lines dump of one day, one document a line."""
    folder.mkdir(parents=True, exist_ok=True)
    return _write(
        folder, f"trialpub-{date.isoformat()}.jsonl.gz", (orjson.dumps(doc) + b"\n" for doc in documents)
    )


def prune_dumps(folder: Path, keep: int) -> list[str]:
    """Delete the dumps of all but the ``keep`` newest days; return the deleted names."""
    dates = sorted({dump.date for dump in list_dumps(folder)}, reverse=True)
    deleted = []
    for dump in list_dumps(folder):
        if dump.date not in dates[: max(keep, 1)]:
            (folder / f"{dump.name}{CHECKSUM_SUFFIX}").unlink(missing_ok=True)
            (folder / dump.name).unlink(missing_ok=True)
            deleted.append(dump.name)
    return deleted


def dumps_folder(config: Mapping[str, Any]) -> Path:
    """Return the folder dumps are written to and served from."""
    return Path(config["DATA_DIR"]) / "dumps"


def make_dumps(config: Mapping[str, Any], store: Store, render: RenderJsonLd, date: dt.date) -> list[DumpFile]:
    """Write the day's dumps, streaming both, then delete the oldest past ``dumps_keep`` days."""
    folder = dumps_folder(config)
    documents = (render(trial) for trial in store.iter_current() if trial.removed_at is None)
    made = [write_ntriples_dump(folder, date, export_ntriples(config)), write_jsonld_dump(folder, date, documents)]
    prune_dumps(folder, config["DUMPS_KEEP"])
    return made
