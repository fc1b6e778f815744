"""The ClinicalTrials.gov API v2 client: paging, incremental queries, retries, a polite pace."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import orjson

from .errors import ConfigError, RegistryAnswerInvalid, RegistryRefused, RegistryUnavailable

log = logging.getLogger(__name__)

# The API caps a page at 1,000 studies.
MAX_PAGE_SIZE = 1000
# Parameters the client sets itself; a scope may not override them.
_OWN_PARAMETERS = frozenset({"format", "pageSize", "pageToken", "countTotal", "fields", "sort", "markupFormat"})
_SCOPE_PREFIXES = ("query.", "filter.", "postFilter.", "aggFilters", "geoDecay")

T = TypeVar("T")


def parse_scope(text: str) -> tuple[tuple[str, str], ...]:
    """Read a scope written as a URL query (``query.cond=myeloma&filter.geo=...``)."""
    pairs = tuple(parse_qsl(text.strip().lstrip("?"), keep_blank_values=False, strict_parsing=False))
    for name, _value in pairs:
        if name in _OWN_PARAMETERS or not name.startswith(_SCOPE_PREFIXES):
            raise ConfigError(
                f"setting 'registry_scope' may only hold query.*, filter.* or postFilter.* parameters, not {name!r}"
            )
    if text.strip() and not pairs:
        raise ConfigError(f"setting 'registry_scope' is not a URL query: {text!r}")
    return pairs


def user_agent(base_url: str) -> str:
    """Name the project (and where it runs) to the registry's operators."""
    try:
        release = version("trialpub")
    except PackageNotFoundError:
        release = "dev"
    return f"trialpub/{release} (+{base_url})" if base_url else f"trialpub/{release}"


@dataclass(frozen=True)
class RegistrySettings:
    """How to reach the registry and how politely."""

    url: str
    user_agent: str = user_agent("")
    page_size: int = MAX_PAGE_SIZE
    scope: tuple[tuple[str, str], ...] = ()
    timeout: float = 60.0  # seconds to wait for an answer
    connect_timeout: float = 10.0
    retries: int = 5  # tries after the first, for each request
    backoff: float = 2.0  # seconds before the first retry; doubles with each retry
    backoff_max: float = 300.0  # the longest wait between two tries, Retry-After included
    rate_limit: float = 30.0  # requests per minute at most

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RegistrySettings:
        """Take the settings from an app's config (UPPERCASE keys)."""
        return cls(
            url=config["REGISTRY_URL"].rstrip("/"),
            user_agent=user_agent(config["BASE_URL"]),
            page_size=max(1, min(MAX_PAGE_SIZE, config["REGISTRY_PAGE_SIZE"])),
            scope=parse_scope(config["REGISTRY_SCOPE"]),
            timeout=config["REGISTRY_TIMEOUT"],
            connect_timeout=config["REGISTRY_CONNECT_TIMEOUT"],
            retries=config["REGISTRY_RETRIES"],
            backoff=config["REGISTRY_BACKOFF"],
            backoff_max=config["REGISTRY_BACKOFF_MAX"],
            rate_limit=config["REGISTRY_RATE_LIMIT"],
        )


@dataclass(frozen=True)
class RegistryVersion:
    """What ``GET /version`` says."""

    api_version: str
    data_timestamp: str | None  # UTC, yyyy-MM-ddTHH:mm:ss


@dataclass(frozen=True)
class Page:
    """One page of ``GET /studies``."""

    number: int  # from 1
    studies: list[dict[str, Any]]
    total_count: int | None  # given with the first page only


class _BadShape(ValueError):
    """An answer parsed as JSON but is not what the contract promises."""


def since_filter(since: dt.date) -> str:
    """Write the incremental filter: records posted as updated on or after a date."""
    return f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"


class Registry:
    """The API v2 over an injected ``httpx.Client`` (its base URL is the API root)."""

    def __init__(
        self,
        http: httpx.Client,
        settings: RegistrySettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.requests = 0
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._last_request: float | None = None

    def version(self) -> RegistryVersion:
        """Ask for the API version and the registry's data timestamp."""
        return self._get("/version", [], "/version", _version_shape)

    def query(self, since: dt.date | None = None) -> list[tuple[str, str]]:
        """Return the ``/studies`` parameters every page repeats: the scope and the date filter."""
        params = [(name, value) for name, value in self.settings.scope if name != "filter.advanced"]
        advanced = [value for name, value in self.settings.scope if name == "filter.advanced"]
        if since is not None:
            advanced.append(since_filter(since))
        if advanced:
            joined = advanced[0] if len(advanced) == 1 else " AND ".join(f"({a})" for a in advanced)
            params.append(("filter.advanced", joined))
        return [("format", "json"), *params]

    def pages(self, since: dt.date | None = None) -> Iterator[Page]:
        """Yield every page of the scope (updated since a date, if given), one at a time."""
        query = self.query(since)
        token: str | None = None
        tokens: set[str] = set()
        number = 0
        while True:
            number += 1
            params = [*query, ("pageSize", str(self.settings.page_size))]
            params.append(("countTotal", "true") if token is None else ("pageToken", token))
            studies, token, total = self._get("/studies", params, f"page {number} of /studies", _page_shape)
            yield Page(number, studies, total)
            if token is None:
                return
            if token in tokens:
                raise RegistryAnswerInvalid(
                    f"page {number} of /studies repeats an earlier page token: paging would loop"
                )
            tokens.add(token)

    def _get(self, path: str, params: list[tuple[str, str]], what: str, shape: Callable[[Any], T]) -> T:
        """GET and parse, retrying what may pass; raise an error named for what did not."""
        attempt = 0
        while True:
            self._pace()
            retry_after: float | None = None
            invalid = False
            try:
                response = self.http.get(path, params=tuple(params))
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                elif status >= 400:
                    raise RegistryRefused(
                        f"{what}: the registry refused the request: HTTP {status}: {_excerpt(response)}"
                    )
                else:
                    try:
                        return shape(orjson.loads(response.content))
                    except orjson.JSONDecodeError:
                        kind = response.headers.get("content-type", "no content type")
                        problem, invalid = f"not JSON ({kind}): {_excerpt(response)}", True
                    except _BadShape as exc:
                        problem, invalid = f"not the expected shape: {exc}", True
            if attempt >= self.settings.retries:
                error = RegistryAnswerInvalid if invalid else RegistryUnavailable
                raise error(f"{what}: {problem} (gave up after {attempt + 1} tries)")
            delay = self._backoff(attempt, retry_after)
            log.warning("%s: %s; retry %d of %d in %.1fs", what, problem, attempt + 1, self.settings.retries, delay)
            self._sleep(delay)
            attempt += 1

    def _pace(self) -> None:
        """Keep requests at most ``rate_limit`` a minute, retries included."""
        if self.settings.rate_limit > 0 and self._last_request is not None:
            wait = self._last_request + 60.0 / self.settings.rate_limit - time.monotonic()
            if wait > 0:
                self._sleep(wait)
        self._last_request = time.monotonic()
        self.requests += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never shorter than what Retry-After asks."""
        ceiling = min(self.settings.backoff_max, self.settings.backoff * 2.0**attempt)
        # Half fixed, half random: retries from many clients spread out but still back off.
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.settings.backoff_max)


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Read a Retry-After header: seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when: dt.datetime = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


@contextmanager
def open_registry(settings: RegistrySettings) -> Iterator[Registry]:
    """Open a client with timeouts and a User-Agent naming the project."""
    timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
    headers = {"User-Agent": settings.user_agent, "Accept": "application/json"}
    with httpx.Client(base_url=settings.url, timeout=timeout, headers=headers, follow_redirects=True) as http:
        yield Registry(http, settings)


def _excerpt(response: httpx.Response) -> str:
    text = response.content[:200].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or "(empty body)"


def _version_shape(data: Any) -> RegistryVersion:
    if not isinstance(data, dict) or not isinstance(data.get("apiVersion"), str):
        raise _BadShape("expected an object with apiVersion")
    stamp = data.get("dataTimestamp")
    if stamp is not None and not isinstance(stamp, str):
        raise _BadShape("dataTimestamp is not a string")
    return RegistryVersion(data["apiVersion"], stamp)


def _page_shape(data: Any) -> tuple[list[dict[str, Any]], str | None, int | None]:
    if not isinstance(data, dict):
        raise _BadShape("expected a JSON object")
    studies = data.get("studies")
    if not isinstance(studies, list):
        raise _BadShape("no 'studies' list")
    if not all(isinstance(study, dict) for study in studies):
        raise _BadShape("an item of 'studies' is not an object")
    token = data.get("nextPageToken")
    if token is not None and (not isinstance(token, str) or not token):
        raise _BadShape("'nextPageToken' is not a non-empty string")
    total = data.get("totalCount")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
        raise _BadShape("'totalCount' is not an integer")
    return studies, token, total


def data_date(timestamp: str | None) -> dt.date | None:
    """Return the day of a registry data timestamp (``2026-03-13T09:12:01``), or None."""
    if not timestamp:
        return None
    try:
        return dt.date.fromisoformat(timestamp[:10])
    except ValueError:
        return None
