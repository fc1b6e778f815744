from pathlib import Path

import httpx
import orjson

from server.bench.fakeregistry import fake_registry
from server.bench.report import extrapolate, render_markdown, render_text, table


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
