"""Mutated real records: the parser and the loader store them or reject them by name, never crash."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.conditions import trial_conditions
from server.errors import InvalidRecord
from server.incoming import prepare_record
from server.load import load_paths
from server.store import Store, engine_for, store_of
from server.trials import parse_trial, record_nct_id

from .conftest import BACKENDS, STUDIES, fresh_database, make_app
from .hostile import big_record, edited, examples, get, hostile_value, mutated, real_records, related

RECORDS = real_records(12)
IDS = [r["protocolSection"]["identificationModule"]["nctId"] for r in RECORDS]
record_index = st.integers(0, len(RECORDS) - 1)


def check_parse(record: Any, changed: list[tuple[str | int, ...]], source: str = "record") -> bool:
    """Parse a record: a typed trial, or an error naming the record and a field the mutation touched."""
    claimed = record_nct_id(record)
    try:
        prepared = prepare_record(record, source)
    except InvalidRecord as exc:
        assert exc.record in {source, claimed, f"{source} ({claimed})"}, exc
        assert related(exc.field, changed), (exc, changed)
        assert str(exc).startswith(f"{exc.record}: {exc.field}: ")
        return False
    assert prepared.nct_id == claimed
    # What is stored is the record itself.
    assert orjson.loads(zlib.decompress(prepared.blob)) == record
    return True


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_the_parser_types_or_names_every_mutation(data: st.DataObject):
    record, changed = data.draw(mutated(RECORDS[data.draw(record_index)]))
    check_parse(record, changed)


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_the_parser_names_the_source_until_it_knows_the_trial(data: st.DataObject):
    record, changed = data.draw(mutated(RECORDS[data.draw(record_index)]))
    check_parse(record, changed, source="bulk.ndjson:7")


@settings(max_examples=examples(100), deadline=None)
@given(hostile_value())
def test_anything_that_is_not_a_record_is_rejected_by_name(value: Any):
    with pytest.raises(InvalidRecord) as caught:
        parse_trial(value, "x.json")
    assert caught.value.record == "x.json"


@settings(max_examples=examples(100), deadline=None)
@given(st.data())
def test_lone_surrogates_are_rejected_or_stored(data: st.DataObject):
    """Python callers can hand over strings JSON cannot hold; the record is then rejected by name."""
    record, changed = data.draw(mutated(RECORDS[data.draw(record_index)], surrogates=True))
    check_parse(record, changed)


def test_a_very_large_record_parses_and_keeps_every_site():
    record = big_record(RECORDS[0])
    assert len(json.dumps(record)) > 3_500_000
    trial = parse_trial(record)
    assert len(trial.locations) == len(record["protocolSection"]["contactsLocationsModule"]["locations"])


# -- through the loader, on a real store ---------------------------------------

def write_ndjson(path: Path, records: list[Any]) -> None:
    # ensure_ascii: a lone surrogate travels as its \ud800 escape, as a broken producer would write it.
    path.write_text("".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records), encoding="utf-8")


def load_mixed(url: str, folder: Path, good: list[dict[str, Any]], bad: list[tuple[dict[str, Any], list[Any]]]):
    """Load good and mutated records interleaved; check every good one is stored and the rest named."""
    mixed: list[Any] = []
    for i in range(max(len(good), len(bad))):
        mixed += good[i : i + 1] + [m for m, _ in bad[i : i + 1]]
    source = folder / "mixed.ndjson"
    write_ndjson(source, mixed)
    store = Store(engine_for(url))
    try:
        store.create()
        summary = load_paths(store, [source], batch_size=3)
        counts = summary.as_dict()
        assert counts["read"] == len(mixed)
        assert counts["new"] + counts["new_versions"] + counts["unchanged"] + counts["rejected"] == len(mixed)
        for record in good:
            assert store.current(record_nct_id(record)).record == record
        rejected = set()
        for reason in summary.rejected:
            line = re.match(rf"{re.escape(str(source))}:(\d+)[ :]", reason)
            assert line, reason
            rejected.add(int(line[1]))
        claims = Counter(record_nct_id(r) for r in mixed)
        for number, record in enumerate(mixed, start=1):
            nct_id = record_nct_id(record)
            if number not in rejected and claims[nct_id] == 1:
                assert store.current(nct_id).record == record  # type: ignore[arg-type]
        return store, summary
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_load_stores_every_good_record_beside_mutated_ones(backend: str, tmp_path_factory, data: st.DataObject):
    picks = data.draw(st.lists(record_index, min_size=2, max_size=5, unique=True))
    good = [RECORDS[i] for i in range(len(RECORDS)) if i not in picks][:4]
    bad = [data.draw(mutated(RECORDS[i], surrogates=True)) for i in picks]
    folder = tmp_path_factory.mktemp("load")
    with fresh_database(backend, folder) as url:
        load_mixed(url, folder, good, bad)


def with_nuls(value: Any) -> Any:
    """Return a copy of a JSON value with a NUL after every "e" of every string value."""
    if isinstance(value, str):
        return value.replace("e", "e\x00")
    if isinstance(value, list):
        return [with_nuls(v) for v in value]
    if isinstance(value, dict):
        return {k: with_nuls(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("backend", BACKENDS)
def test_nul_characters_are_stored_or_named(backend: str, tmp_path: Path):
    good = RECORDS[:2]
    nul = with_nuls(RECORDS[2])
    bad = [(nul, [()])]
    with fresh_database(backend, tmp_path) as url:
        load_mixed(url, tmp_path, good, bad)


def test_a_very_large_record_loads_whole(tmp_path: Path, database_url: str):
    record = big_record(json.loads((STUDIES / f"{IDS[3]}.json").read_text()))
    app = make_app(tmp_path, database_url)
    store = Store(engine_for(database_url))
    write_ndjson(tmp_path / "big.ndjson", [record])
    assert load_paths(store, [tmp_path / "big.ndjson"]).as_dict()["new"] == 1
    assert store.current(IDS[3]).record == record
    with app.test_client() as client:
        assert client.get(f"/trials/{IDS[3]}").status_code == 200
    store.engine.dispose()


@pytest.mark.parametrize("spelling", ["NCT00001908\n", "NCT0000190٨", "NCT０0001908", "nct00001908", "NCT000019080", " NCT00001908"])
def test_an_nct_id_in_another_spelling_is_rejected_by_name(spelling: str):
    record = json.loads(json.dumps(RECORDS[0]))
    record["protocolSection"]["identificationModule"]["nctId"] = spelling
    with pytest.raises(InvalidRecord) as caught:
        parse_trial(record, "x.json")
    assert (caught.value.record, caught.value.field) == ("x.json", "protocolSection.identificationModule.nctId")
    assert record_nct_id(record) is None


NUL_PLACES = [
    ("protocolSection", "identificationModule", "briefTitle"),
    ("protocolSection", "contactsLocationsModule", "locations", 0, "country"),
    ("derivedSection", "conditionBrowseModule", "meshes", 0, "term"),
    ("protocolSection", "eligibilityModule", "eligibilityCriteria"),
]


@pytest.mark.parametrize("place", NUL_PLACES, ids=lambda p: str(p[-1]))
def test_a_nul_in_a_listed_field_is_stored_and_served_without_it(place, tmp_path: Path, database_url: str):
    record = json.loads((STUDIES / "NCT00001908.json").read_text())
    parent = get(record, place[:-1])
    parent[place[-1]] = "\x00" + parent[place[-1]][:3] + "\x00\x01\x1f" + parent[place[-1]][3:]
    app = make_app(tmp_path, database_url)
    store = Store(engine_for(database_url))
    write_ndjson(tmp_path / "nul.ndjson", [record])
    assert load_paths(store, [tmp_path / "nul.ndjson"]).as_dict()["new"] == 1
    assert store.current("NCT00001908").record == record  # the raw record keeps what it holds
    trial = parse_trial(record)
    assert "\x00" not in trial.brief_title and all("\x00" not in c for c in trial.countries)
    with app.test_client() as client:
        paths = [f"/trials/NCT00001908.{ext}" for ext in ("html", "jsonld", "ttl", "nt", "rdf")]
        for path in [*paths, "/", "/conditions", "/conditions/asthma", "/conditions/asthma.atom", "/changes.rss"]:
            answer = client.get(path, follow_redirects=True)
            assert answer.status_code == 200, path
            assert b"\x00" not in answer.data
    store.engine.dispose()


@pytest.mark.parametrize(
    ("place", "value"),
    [
        (("protocolSection", "statusModule", "overallStatus"), "RECRUITING" * 4),
        (("protocolSection", "designModule", "studyType"), "X" * 33),
        (("protocolSection", "designModule", "phases"), ["PHASE1"] * 12),
        (("derivedSection", "conditionBrowseModule", "meshes", 0, "id"), "D" * 17),
    ],
    ids=lambda v: str(v[-1]) if isinstance(v, tuple) else "",
)
def test_a_code_longer_than_its_column_is_rejected_by_name(place, value):
    record = json.loads((STUDIES / "NCT00001908.json").read_text())
    get(record, place[:-1])[place[-1]] = value
    with pytest.raises(InvalidRecord) as caught:
        parse_trial(record)
    assert caught.value.record == "NCT00001908"
    assert caught.value.field == ".".join(str(p) for p in place).replace(".0.", "[0].")


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_stored_mutated_record_is_served_in_every_format(tmp_path_factory, data: st.DataObject):
    base = RECORDS[data.draw(record_index)]
    record = data.draw(st.one_of(edited(base), mutated(base).map(lambda m: m[0])))
    try:
        trial = parse_trial(record)
    except InvalidRecord:
        return
    folder = tmp_path_factory.mktemp("served")
    app = make_app(folder, f"sqlite:///{folder / 'store.sqlite3'}")
    store = Store(engine_for(f"sqlite:///{folder / 'store.sqlite3'}"))
    write_ndjson(folder / "one.ndjson", [base])
    load_paths(store, [folder / "one.ndjson"])
    write_ndjson(folder / "one.ndjson", [record])
    load_paths(store, [folder / "one.ndjson"])  # a new version of it: events too
    slugs = [ref.slug for ref in trial_conditions(trial)][:2]
    paths = [f"/trials/{trial.nct_id}.{ext}" for ext in ("html", "jsonld", "ttl", "nt", "rdf")]
    paths += ["/", "/changes", "/changes.atom", "/changes.rss", "/conditions", "/sitemap.xml", "/sitemaps/1.xml"]
    paths += [f"/conditions/{slug}{ext}" for slug in slugs for ext in ("", ".atom", ".rss")]
    with app.test_client() as client:
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            if path.endswith((".atom", ".rss", ".rdf", ".xml")):
                ET.fromstring(answer.data)
            elif path.endswith(".jsonld"):
                json.loads(answer.data)
    store.engine.dispose()
    store_of(app).engine.dispose()
