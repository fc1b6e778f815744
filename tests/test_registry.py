"""The API v2 client against a real HTTP server that follows the registry's contract."""

import datetime as dt
import random

import httpx
import pytest
from werkzeug.wrappers import Response

from server.errors import ConfigError, RegistryAnswerInvalid, RegistryRefused, RegistryUnavailable
from server.registry import Registry, RegistrySettings, open_registry, parse_scope, retry_after_seconds

from .fake_registry import TS_A, FakeRegistry, conditions, nct_id, snapshot_a


def settings(fake: FakeRegistry, **changes) -> RegistrySettings:
    values = dict(
        url=fake.url, user_agent="trialpub/test (+http://127.0.0.1)", page_size=7, timeout=0.5,
        connect_timeout=2.0, retries=3, backoff=0.01, backoff_max=2.0, rate_limit=0.0,
    )
    values.update(changes)
    return RegistrySettings(**values)


def test_pages_follow_tokens_with_the_same_query_and_count_once(fake_registry):
    fake_registry.page_cap = 5  # the registry may serve fewer than asked
    fake_registry.empty_pages = {2}  # and a page may be empty yet not the last
    with open_registry(settings(fake_registry, scope=parse_scope("query.cond=cancer"))) as registry:
        pages = list(registry.pages())
    records, _ = snapshot_a()
    expected = sorted(nct_id(r) for r in records if any("cancer" in name for name in conditions(r)))
    assert 7 < len(expected) < len(records)
    assert [nct_id(s) for page in pages for s in page.studies] == expected
    assert pages[1].studies == []
    assert pages[0].total_count == len(expected) and all(p.total_count is None for p in pages[1:])
    requests = fake_registry.requests()
    assert all(r.status == 200 for r in requests)
    assert requests[0].param("countTotal") == "true" and requests[0].param("pageToken") is None
    assert all(r.param("countTotal") is None and r.param("pageToken") for r in requests[1:])
    queries = {tuple(sorted((k, v) for k, v in r.params if k not in {"pageToken", "countTotal"})) for r in requests}
    assert queries == {(("format", "json"), ("pageSize", "7"), ("query.cond", "cancer"))}
    assert all(r.user_agent.startswith("trialpub/") for r in requests)


def test_pages_stream_one_request_at_a_time(fake_registry):
    with open_registry(settings(fake_registry)) as registry:
        pages = registry.pages()
        first = next(pages)
        assert len(fake_registry.requests()) == 1
        second = next(pages)
        assert len(fake_registry.requests()) == 2
    assert len(first.studies) == len(second.studies) == 7


def test_incremental_filter_is_sent_and_honoured(fake_registry):
    since = dt.date(2026, 1, 25)
    with open_registry(settings(fake_registry)) as registry:
        studies = [s for page in registry.pages(since) for s in page.studies]
    assert fake_registry.requests()[0].param("filter.advanced") == "AREA[LastUpdatePostDate]RANGE[2026-01-25,MAX]"
    dates = [s["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] for s in studies]
    assert dates and min(dates) >= "2026-01-25"


def test_a_scope_filter_is_combined_with_the_date_filter(fake_registry):
    scope = parse_scope("filter.advanced=AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]&query.cond=leukemia")
    registry = Registry(httpx.Client(base_url=fake_registry.url), settings(fake_registry, scope=scope))
    params = dict(registry.query(dt.date(2026, 2, 1)))
    assert params["filter.advanced"] == (
        "(AREA[LastUpdatePostDate]RANGE[2026-01-01,MAX]) AND (AREA[LastUpdatePostDate]RANGE[2026-02-01,MAX])"
    )
    assert params["query.cond"] == "leukemia"
    list(registry.pages(dt.date(2026, 2, 1)))  # the fake accepts it
    registry.http.close()


@pytest.mark.parametrize("scope", ["pageSize=5", "fields=NCTId", "nonsense=1", "query.cond"])
def test_a_scope_may_only_narrow_the_query(scope):
    with pytest.raises(ConfigError, match="registry_scope"):
        parse_scope(scope)


def test_version_gives_the_data_timestamp(fake_registry):
    with open_registry(settings(fake_registry)) as registry:
        assert registry.version().data_timestamp == TS_A


def test_429_500_and_timeouts_are_retried_honouring_retry_after(fake_registry):
    fake_registry.inject("429:1", "500", "timeout")
    with open_registry(settings(fake_registry)) as registry:
        studies = [s for page in registry.pages() for s in page.studies]
    assert len(studies) == len(snapshot_a()[0])
    log = fake_registry.requests()
    assert [r.status for r in log[:2]] == [429, 500]
    # The 429 asked for one second; the retry waited at least that long.
    assert log[1].at - log[0].at >= 1.0


def test_retries_back_off_exponentially_with_jitter(fake_registry):
    waits = []
    registry = Registry(httpx.Client(base_url=fake_registry.url), settings(fake_registry, backoff=1.0, backoff_max=6.0, retries=4),
                        sleep=waits.append, rng=random.Random(7))
    fake_registry.inject("500", "500", "500", "500", path="/version")
    assert registry.version().data_timestamp == TS_A
    assert len(waits) == 4
    for attempt, wait in enumerate(waits):
        ceiling = min(6.0, 2.0**attempt)
        assert ceiling / 2 <= wait <= ceiling
    assert len(set(waits)) == 4
    registry.http.close()


def test_requests_keep_a_polite_pace(fake_registry):
    with open_registry(settings(fake_registry, rate_limit=600.0)) as registry:  # one per 0.1 s
        for _ in zip(range(4), registry.pages(), strict=False):
            pass
    times = [r.at for r in fake_registry.requests()]
    assert len(times) == 4
    # Arrival times carry network jitter (the first request also opens the connection), so
    # judge the pace over the run: three intervals of 0.1 s, where unpaced requests take ms.
    assert times[-1] - times[0] >= 0.25


@pytest.mark.parametrize(("fault", "message"), [("garbage", "not JSON"), ("shape", "not the expected shape")])
def test_a_bad_page_is_retried_then_fails_loudly(fake_registry, fault, message):
    fake_registry.inject(*[fault] * 4)
    with open_registry(settings(fake_registry)) as registry, pytest.raises(RegistryAnswerInvalid, match=message) as caught:
        list(registry.pages())
    assert "page 1 of /studies" in str(caught.value) and "4 tries" in str(caught.value)


def test_a_bad_page_that_recovers_is_not_taken_for_no_studies(fake_registry):
    fake_registry.inject("garbage", "shape")
    with open_registry(settings(fake_registry)) as registry:
        studies = [s for page in registry.pages() for s in page.studies]
    assert len(studies) == len(snapshot_a()[0])


def test_a_registry_that_stays_down_is_named(fake_registry):
    fake_registry.inject(*["500"] * 4, path="/version")
    with open_registry(settings(fake_registry)) as registry, pytest.raises(RegistryUnavailable, match=r"/version: HTTP 500 \(gave up after 4 tries\)"):
        registry.version()


def test_an_unreachable_registry_is_named():
    with open_registry(RegistrySettings(url="http://127.0.0.1:9/api/v2", retries=1, backoff=0.01, rate_limit=0.0)) as registry, pytest.raises(RegistryUnavailable, match="ConnectError"):
        registry.version()


def test_a_refused_query_is_not_retried(fake_registry):
    with open_registry(settings(fake_registry, scope=(("filter.advanced", "AREA[Phase]PHASE3"),))) as registry, pytest.raises(RegistryRefused, match="HTTP 400"):
        list(registry.pages())
    assert len(fake_registry.requests()) == 1


def test_a_looping_page_token_is_caught(fake_registry):
    fake_registry._studies = lambda request: Response('{"studies": [], "nextPageToken": "again"}', 200, content_type="application/json")
    with open_registry(settings(fake_registry)) as registry, pytest.raises(RegistryAnswerInvalid, match="loop"):
        list(registry.pages())
    assert len(fake_registry.requests()) == 2


def test_retry_after_reads_seconds_and_dates():
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
