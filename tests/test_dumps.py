"""Dumps: written streaming with checksums, served at /dumps/, loadable into a fresh store."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import subprocess
from pathlib import Path

import httpx
import pyoxigraph as ox
from flask import Flask
from rdflib import Graph

from server.dumps import list_dumps, make_dumps, prune_dumps, write_ntriples_dump
from server.load import load_paths
from server.snapshots import SnapshotReader
from server.store import store_of

from .conftest import STUDIES, LiveServer
from .sparql_support import index_app, oxigraph_dir, renderers

SOME = sorted(STUDIES.glob("*.json"))[:40]
DAY = dt.date(2026, 3, 9)


def distinct_triples(app: Flask) -> int:
    reader = SnapshotReader(oxigraph_dir(app))
    store = reader.store()
    query = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    count = int(next(iter(store.query(query)))["n"].value)
    reader.close()
    return count


def test_dumps_check_out_and_load_back(app: Flask, tmp_path: Path):
    load_paths(store_of(app), SOME)
    index_app(app)
    made = make_dumps(app.config, store_of(app), renderers(app.config["BASE_URL"])[1], DAY)
    assert [d.name for d in made] == ["trialpub-2026-03-09.nt.gz", "trialpub-2026-03-09.jsonl.gz"]
    folder = Path(app.config["DATA_DIR"]) / "dumps"
    for dump in made:
        assert hashlib.sha256((folder / dump.name).read_bytes()).hexdigest() == dump.sha256
    check = subprocess.run(["sha256sum", "-c", *(f"{d.name}.sha256" for d in made)], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fresh = ox.Store()
    with gzip.open(folder / made[0].name) as fh:
        fresh.load(fh, ox.RdfFormat.N_TRIPLES)
    assert len(fresh) == distinct_triples(app) > 40 * 4
    lines = gzip.decompress((folder / made[1].name).read_bytes()).splitlines()
    assert len(lines) == 40
    first = Graph().parse(data=lines[0], format="json-ld")
    assert len(first) > 3


def test_the_dumps_are_served_with_their_checksums(app: Flask, live_server: LiveServer):
    load_paths(store_of(app), SOME[:5])
    index_app(app)
    made = make_dumps(app.config, store_of(app), renderers(app.config["BASE_URL"])[1], DAY)
    with httpx.Client(base_url=live_server.url) as client:
        index = client.get("/dumps/")
        assert index.status_code == 200
        for dump in made:
            assert dump.name in index.text and dump.sha256 in index.text
            body = client.get(f"/dumps/{dump.name}")
            assert body.status_code == 200 and body.headers["content-type"] == "application/gzip"
            assert hashlib.sha256(body.content).hexdigest() == dump.sha256
            checksum = client.get(f"/dumps/{dump.name}.sha256")
            assert checksum.text == f"{dump.sha256}  {dump.name}\n"
        for wrong in ("/dumps/trialpub-2026-03-10.nt.gz", "/dumps/..%2ftrialpub.sqlite3", "/dumps/.trialpub-2026-03-09.nt.gz.partial"):
            assert client.get(wrong).status_code == 404
        void = client.get("/.well-known/void")
        for dump in made:
            assert f"/dumps/{dump.name}" in void.text and dump.sha256 in void.text


def test_old_dumps_are_pruned_and_unfinished_ones_never_listed(tmp_path: Path):
    for day in range(1, 5):
        write_ntriples_dump(tmp_path, dt.date(2026, 3, day), [b"<http://e/a> <http://e/b> <http://e/c> .\n"])
    (tmp_path / "trialpub-2026-03-05.nt.gz").write_bytes(b"half written, no checksum yet")
    assert [d.date for d in list_dumps(tmp_path)] == ["2026-03-04", "2026-03-03", "2026-03-02", "2026-03-01"]
    assert prune_dumps(tmp_path, keep=2) == ["trialpub-2026-03-02.nt.gz", "trialpub-2026-03-01.nt.gz"]
    assert [d.date for d in list_dumps(tmp_path)] == ["2026-03-04", "2026-03-03"]


def test_the_same_content_gives_the_same_file(tmp_path: Path):
    chunks = [b"<http://e/a> <http://e/b> <http://e/c> .\n"] * 3
    first = write_ntriples_dump(tmp_path / "a", DAY, chunks)
    second = write_ntriples_dump(tmp_path / "b", DAY, chunks)
    assert first.sha256 == second.sha256
    assert gzip.decompress((tmp_path / "a" / first.name).read_bytes()) == b"".join(chunks)
