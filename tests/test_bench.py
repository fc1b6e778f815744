from pathlib import Path

import httpx
import orjson
import pytest

from server.bench.fakeregistry import fake_registry
from server.bench.measure import run_step
from server.bench.report import extrapolate, render_markdown, render_text, table
from server.bench.versions import check, expect

BASE = "http://127.0.0.1:8000"


def test_the_stand_in_registry_pages_through_every_record_once(tmp_path: Path):
    records = [{"protocolSection": {"identificationModule": {"nctId": f"NCT9{i:07d}"}}} for i in range(45)]
    path = tmp_path / "updates.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    with fake_registry(path, "2026-01-17T09:00:00") as api, httpx.Client(base_url=api) as http:
        assert http.get("/version").json() == {"apiVersion": "2.0.0", "dataTimestamp": "2026-01-17T09:00:00"}
        seen, token, total = [], None, None
        while True:
            params = {"pageSize": 20, **({"pageToken": token} if token else {"countTotal": "true"})}
            page = http.get("/studies", params=params).json()
            total = page.get("totalCount", total)
            seen += page["studies"]
            token = page.get("nextPageToken")
            if token is None:
                break
        assert seen == records and total == 45
        assert http.get("/nothing").status_code == 404


def test_extrapolation_follows_the_line_through_the_two_largest_sizes():
    assert extrapolate({2_000: 10.0, 20_000: 28.0}) == 28.0 + 18.0 / 18_000 * 580_000
    assert extrapolate({20_000: 5.0}) is None
    assert extrapolate({20_000: 5.0, 600_000: 7.0}) == 7.0


def test_the_table_marks_targets_met_and_missed():
    figures = {"sizes": {
        "2000": {"load": {"wall_s": 10.0, "peak_rss_mb": 100.0}, "serve": {"ceiling": {"req_s": 1000.0}, "trial_html": {"ratio": 0.2}}},
        "20000": {"load": {"wall_s": 19.0, "peak_rss_mb": 100.0}, "serve": {"ceiling": {"req_s": 1000.0}, "trial_html": {"ratio": 0.4}}},
    }}
    rows = {row["label"]: row for row in table(figures)}
    load = rows["full load: wall time"]
    assert load["registry"] == 19.0 + 9.0 / 18_000 * 580_000 and load["met"] is True and load["extrapolated"]
    assert rows["full load: peak RSS"]["registry"] == 100.0
    html = rows["serve: trial HTML, 1,000 in turn / ceiling"]
    assert html["registry"] == 0.4 and html["met"] is True and not html["extrapolated"]
    assert rows["SPARQL: median of 10 queries, Oxigraph"]["met"] is None
    text = render_text(list(rows.values()), [2000, 20000])
    assert "(extrap.)" in text and "≤ 900 s" in text
    markdown = render_markdown(list(rows.values()), [2000, 20000]).splitlines()
    assert markdown[0].startswith("| figure | 2,000 | 20,000 | 600,000 |") and len(markdown) == len(rows) + 2


DATA = Path(__file__).parent / "data" / "studies"


def _two_versions(record: dict) -> tuple[dict, dict, tuple]:
    """Describe a real record and a later version of it whose status and update date changed."""
    from server import graph
    from server.describe import Source
    from server.trials import content_hash, parse_trial
    from server.vocabulary import load_vocabulary

    later = orjson.loads(orjson.dumps(record))
    status = later["protocolSection"]["statusModule"]
    status["overallStatus"] = "TERMINATED" if status.get("overallStatus") != "TERMINATED" else "COMPLETED"
    status["lastUpdatePostDateStruct"] = {"date": "2030-01-02", "type": "ACTUAL"}
    context = load_vocabulary(BASE).context
    documents, versions = [], []
    for label, rec in (("old", record), ("new", later)):
        trial = parse_trial(rec)
        posted = trial.last_update_posted
        source = Source(BASE, content_hash(rec), posted.date.isoformat() if posted else None, "https://r/x")
        document = graph.jsonld_document(trial, source, context)
        documents.append(document)
        versions.append(expect(label, document, graph.trial_triples(document), trial.overall_status))
    return documents[0], documents[1], tuple(versions)


def test_a_document_mixing_two_versions_is_caught_in_json_ld_and_turtle():
    from server import graph
    from server.graph import BY_EXTENSION

    record = orjson.loads(next(iter(sorted(DATA.glob("*.json")))).read_bytes())
    nct = record["protocolSection"]["identificationModule"]["nctId"]
    old, new, versions = _two_versions(record)
    assert check("jsonld", nct, orjson.dumps(old), versions, BASE) == ("old", None)
    assert check("jsonld", nct, orjson.dumps(new), versions, BASE) == ("new", None)
    ttl = BY_EXTENSION["ttl"]
    assert check("ttl", nct, graph.serialize(new, ttl), versions, BASE) == ("new", None)
    # The new version's page node (hash, dateModified) over the old version's trial: a torn read.
    torn = {**old, "mainEntityOfPage": new["mainEntityOfPage"]}
    outcome, parts = check("jsonld", nct, orjson.dumps(torn), versions, BASE)
    assert outcome == "torn" and parts["version"] == "new" and parts["dateModified"] == "new"
    assert parts["status"] == "old"
    assert check("ttl", nct, graph.serialize(torn, ttl), versions, BASE)[0] == "torn"


@pytest.mark.slow
def test_readers_see_whole_versions_while_a_sync_rewrites_trials(tmp_path: Path, database_url: str):
    env = {"TRIALPUB_DATA_DIR": str(tmp_path / "data"), "TRIALPUB_DATABASE_URL": database_url}
    run_step(["server.bench.steps", "generate", "--sources", str(DATA), "--out", str(tmp_path), "--size", "120",
              "--changes", "40", "--day-3"])
    run_step(["server.cli", "load", str(tmp_path / "snapshot-1.zip")], env=env)
    measured = run_step(["server.bench.steps", "load", "--seconds", "4", "--sync-from", str(tmp_path / "snapshot-4.zip"),
                         "--changed", str(tmp_path / "manifest-4.json")], env=env)
    result = measured.result
    assert result["errors"] == 0, result["error_samples"]
    assert result["sync"]["exit_code"] == 0, result["sync"]["stderr_tail"]
    seen = result["consistency"]
    assert seen["torn"] == 0, seen["torn_samples"]
    # Readers checked documents before and after the sync landed: both versions were seen whole.
    assert seen["old"] > 0 and seen["new"] > 0 and result["watched"]["changed_by_the_sync"] > 0
    assert {"trial_html", "trial_jsonld", "trial_turtle", "feed_if_none_match", "sparql"} <= set(result["kinds"])
    assert result["requests"] == sum(result["statuses"].values()) and result["p99_ms"] >= result["p50_ms"]
    rss = result["worker_rss_mb"]
    assert rss["samples"] >= 2 and rss["start"] > 0 and rss["end"] > 0
