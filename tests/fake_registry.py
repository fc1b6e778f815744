"""A stand-in for ClinicalTrials.gov API v2: a real HTTP server on 127.0.0.1 serving real records.

It follows the published contract for what the sync uses: ``GET /studies`` with page tokens
(bound to the query they were issued for), the page size default and cap, ``countTotal`` on the
first page, the ``AREA[LastUpdatePostDate]RANGE[date,MAX]`` filter, ``query.cond``, and
``GET /version``. Query parameters not in the published OpenAPI description are refused with a
400, as the registry does. Tests switch snapshots, inject faults (429 with Retry-After, 500,
timeouts, answers that are not JSON or not the expected shape), cut paging short, slow every
page down, and hold a page until released.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

DATA = Path(__file__).parent / "data"
SPEC = DATA / "api" / "ctg-oas-v2.yaml"
VERSIONS = DATA / "versions"
STUDIES = DATA / "studies"

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
_RANGE = re.compile(r"^\(?AREA\[LastUpdatePostDate\]RANGE\[(\d{4}-\d{2}-\d{2}),\s*MAX\]\)?$")
# Parameters that may differ from page to page of one query.
_PAGING = {"pageToken", "pageSize", "countTotal"}


def studies_parameters() -> frozenset[str]:
    """Read the query parameters ``/studies`` declares in the published OpenAPI description."""
    text = SPEC.read_text()
    block = text[text.index("\n  /studies:\n") : text.index("\n  /studies/{nctId}:")]
    return frozenset(re.findall(r'- name: "([^"]+)"\n        in: "query"', block))


def last_update(record: dict[str, Any]) -> str:
    return record["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]


def nct_id(record: dict[str, Any]) -> str:
    return record["protocolSection"]["identificationModule"]["nctId"]


def conditions(record: dict[str, Any]) -> list[str]:
    names = list(record["protocolSection"].get("conditionsModule", {}).get("conditions", []))
    browse = record.get("derivedSection", {}).get("conditionBrowseModule", {})
    names += [m["term"] for key in ("meshes", "ancestors") for m in browse.get(key, [])]
    return [name.lower() for name in names]


@dataclass
class Logged:
    """One request as the fake saw it."""

    at: float  # time.monotonic()
    path: str
    params: list[tuple[str, str]]
    status: int
    user_agent: str

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)


@dataclass
class Hold:
    """Stop serving a page until released: the test knows the client is waiting for it."""

    page: int
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class _Quiet(WSGIRequestHandler):
    """No access log: the fake keeps its own (``FakeRegistry.log``)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class FakeRegistry:
    """The API over a snapshot of records, in a thread; use it as a context manager."""

    def __init__(self, records: Iterable[dict[str, Any]], data_timestamp: str) -> None:
        self.accepted = studies_parameters()
        self.lock = threading.Lock()
        self.log: list[Logged] = []
        self.faults: list[tuple[str, str]] = []  # (path, fault), consumed in order
        self.page_cap: int | None = None  # serve at most this many a page, whatever is asked
        self.empty_pages: set[int] = set()  # page numbers answered empty (with a next token)
        self.last_page: int | None = None  # end paging after this page, whatever is left
        self.hold: Hold | None = None
        self.page_faults: dict[int, list[str]] = {}  # page number -> faults for its next requests
        self.timeout_sleep = 1.0
        self.page_delay = 0.0  # seconds before each page of studies is answered: a slow registry
        self.snapshot(records, data_timestamp)
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold:
            self.hold.release.set()
        self.server.shutdown()
        self.thread.join(timeout=5)

    # -- what tests change --------------------------------------------------

    def snapshot(self, records: Iterable[dict[str, Any]], data_timestamp: str) -> None:
        """Serve these records from now on, as the registry's data of this timestamp."""
        by_id = {nct_id(r): r for r in records}
        with self.lock:
            self.records = [by_id[key] for key in sorted(by_id)]
            self.data_timestamp = data_timestamp

    def inject(self, *faults: str, path: str = "/studies") -> None:
        """Answer the next requests to a path with faults: "429", "429:<seconds>", "500",
        "timeout", "garbage" (an HTML page) or "shape" (JSON without studies)."""
        with self.lock:
            self.faults.extend((path, fault) for fault in faults)

    def break_page(self, number: int, fault: str, times: int) -> None:
        """Answer the next ``times`` requests for page ``number`` of any query with a fault."""
        with self.lock:
            self.page_faults.setdefault(number, []).extend([fault] * times)

    def requests(self, path: str = "/studies") -> list[Logged]:
        with self.lock:
            return [entry for entry in self.log if entry.path.endswith(path)]

    # -- the API --------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.answer(request)
        with self.lock:
            self.log.append(
                Logged(time.monotonic(), request.path, list(request.args.items(multi=True)),
                       response.status_code, request.headers.get("User-Agent", ""))
            )
        return response(environ, start_response)

    def answer(self, request: Request) -> Response:
        path = request.path.removeprefix("/api/v2")
        fault = self._take_fault(path)
        if fault is not None:
            answer = self._fault(fault)
            if answer is not None:
                return answer
        if path == "/version":
            return _json({"apiVersion": "2.0.5", "dataTimestamp": self.data_timestamp})
        if path == "/studies":
            return self._studies(request)
        return Response("not found", 404, content_type="text/plain")

    def _take_fault(self, path: str) -> str | None:
        with self.lock:
            for index, (where, fault) in enumerate(self.faults):
                if where == path:
                    del self.faults[index]
                    return fault
        return None

    def _fault(self, fault: str) -> Response | None:
        if fault.startswith("429"):
            headers = {"Retry-After": fault.split(":", 1)[1]} if ":" in fault else {}
            return Response("Too Many Requests", 429, headers=headers, content_type="text/plain")
        if fault == "500":
            return Response("Internal Server Error", 500, content_type="text/plain")
        if fault == "garbage":
            return Response("<html><body>Down for maintenance</body></html>", 200, content_type="text/html")
        if fault == "shape":
            return _json({"message": "temporarily unavailable"})
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
            return None  # too late: the client gave up waiting
        raise ValueError(f"unknown fault {fault!r}")

    def _studies(self, request: Request) -> Response:
        params = list(request.args.items(multi=True))
        unknown = sorted({name for name, _ in params} - self.accepted)
        if unknown:
            return _bad(f"unknown parameter(s): {', '.join(unknown)}")
        if request.args.get("format", "json") != "json":
            return _bad("only json in this fake")
        query = sorted((k, v) for k, v in params if k not in _PAGING)
        query_key = hashlib.sha256(json.dumps(query).encode()).hexdigest()[:16]
        token = request.args.get("pageToken")
        offset, number = 0, 1
        if token is not None:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                if state["q"] != query_key:
                    return _bad("pageToken was issued for another query: every page must repeat it")
                offset, number = int(state["o"]), int(state["n"])
            except (ValueError, KeyError):
                return _bad("invalid pageToken")
        try:
            size = int(request.args.get("pageSize", "0")) or DEFAULT_PAGE_SIZE
        except ValueError:
            return _bad("pageSize must be an integer")
        size = min(size, MAX_PAGE_SIZE, self.page_cap or MAX_PAGE_SIZE)
        if self.page_delay:
            time.sleep(self.page_delay)
        with self.lock:
            pending = self.page_faults.get(number)
            fault = pending.pop(0) if pending else None
        answer = self._fault(fault) if fault else None
        if answer is not None:
            return answer
        try:
            matching = list(self._matching(request))
        except ValueError as exc:
            return _bad(str(exc))
        if self.hold is not None and self.hold.page == number:
            self.hold.reached.set()
            self.hold.release.wait(timeout=60)
        body: dict[str, Any] = {}
        if token is None and request.args.get("countTotal") == "true":
            body["totalCount"] = len(matching)
        if number in self.empty_pages:
            body["studies"] = []
            body["nextPageToken"] = _token(query_key, offset, number + 1)
            return _json(body)
        body["studies"] = matching[offset : offset + size]
        more = offset + size < len(matching) and (self.last_page is None or number < self.last_page)
        if more:
            body["nextPageToken"] = _token(query_key, offset + size, number + 1)
        return _json(body)

    def _matching(self, request: Request) -> Iterator[dict[str, Any]]:
        since = None
        advanced = request.args.get("filter.advanced")
        if advanced is not None:
            parts = [part.strip() for part in advanced.split(" AND ")]
            matches = [_RANGE.match(part) for part in parts]
            if not all(matches):
                raise ValueError(f"this fake understands only AREA[LastUpdatePostDate]RANGE[date,MAX], not {advanced!r}")
            since = max(m.group(1) for m in matches if m)
        condition = (request.args.get("query.cond") or "").lower()
        with self.lock:
            records = list(self.records)
        for record in records:
            if since is not None and last_update(record) < since:
                continue
            if condition and not any(condition in name for name in conditions(record)):
                continue
            yield record


def _token(query_key: str, offset: int, number: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": query_key, "o": offset, "n": number}).encode()).decode()


def _json(body: Any) -> Response:
    return Response(json.dumps(body), 200, content_type="application/json")


def _bad(message: str) -> Response:
    return Response(message, 400, content_type="text/plain")


# -- snapshots of real records ------------------------------------------------

def version_index() -> dict[str, list[dict[str, Any]]]:
    return json.loads((VERSIONS / "index.json").read_text())


def version_files(nct: str) -> list[Path]:
    return [VERSIONS / nct / entry["file"] for entry in version_index()[nct]]


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def first_versions() -> list[dict[str, Any]]:
    """The oldest version we have of every trial with versions."""
    return [read(version_files(nct)[0]) for nct in version_index()]


def last_versions() -> list[dict[str, Any]]:
    """The newest version of every trial with versions."""
    return [read(version_files(nct)[-1]) for nct in version_index()]


def other_studies(count: int, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The most recently updated trials that have a single version, newest last."""
    skip = set(version_index()) | set(exclude)
    records = [read(p) for p in sorted(STUDIES.glob("*.json")) if p.stem not in skip]
    records.sort(key=lambda r: (last_update(r), nct_id(r)))
    return records[-count:]


# -- the two snapshots most tests use -------------------------------------------

# Snapshot A holds the oldest version of each trial with versions; B, a month later, the newest.
TS_A = "2026-02-04T09:00:00"
TS_B = "2026-03-13T09:00:00"
# In B but not in A, posted within the incremental window: a later sync posts them as `new`.
NEW_IDS = ("NCT05186025", "NCT07059091")
# Overall status changes from A to B that an incremental sync sees. NCT06302556 also changes
# (NOT_YET_RECRUITING -> UNKNOWN) but keeps its 2024 update date, so only a full sync finds it.
STATUS_CHANGES = {
    ("NCT05935098", "ACTIVE_NOT_RECRUITING", "TERMINATED"),
    ("NCT06203210", "ACTIVE_NOT_RECRUITING", "RECRUITING"),
    ("NCT06754501", "RECRUITING", "ACTIVE_NOT_RECRUITING"),
    ("NCT06821503", "NOT_YET_RECRUITING", "RECRUITING"),
    ("NCT07011550", "RECRUITING", "SUSPENDED"),
    ("NCT07227597", "NOT_YET_RECRUITING", "RECRUITING"),
}
UNDATED_CHANGE = ("NCT06302556", "NOT_YET_RECRUITING", "UNKNOWN")


def others() -> list[dict[str, Any]]:
    return other_studies(30, exclude=NEW_IDS)


def snapshot_a() -> tuple[list[dict[str, Any]], str]:
    return first_versions() + others(), TS_A


def snapshot_b() -> tuple[list[dict[str, Any]], str]:
    return last_versions() + others() + [read(STUDIES / f"{n}.json") for n in NEW_IDS], TS_B
