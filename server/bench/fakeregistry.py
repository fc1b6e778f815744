"""A stand-in for the registry's API v2 on 127.0.0.1, serving records from an NDJSON file.

It answers ``/version`` and pages of ``/studies`` as the API does (``nextPageToken``,
``totalCount`` on request); the file holds what the query would return, e.g. the records
updated since the last sync.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

API = "/api/v2"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query)
        if url.path == f"{API}/version":
            self._send({"apiVersion": "2.0.0", "dataTimestamp": self.server.data_timestamp})
        elif url.path == f"{API}/studies":
            size = int(params.get("pageSize", ["100"])[0])
            start = int(params.get("pageToken", ["0"])[0])
            offsets = self.server.offsets
            lines = [self.server.read_line(i) for i in range(start, min(start + size, len(offsets)))]
            body = b'{"studies":[' + b",".join(lines) + b"]"
            if start + size < len(offsets):
                body += b',"nextPageToken":"' + str(start + size).encode() + b'"'
            if params.get("countTotal") == ["true"]:
                body += b',"totalCount":' + str(len(offsets)).encode()
            self._send_bytes(body + b"}")
        else:
            self.send_error(404)

    def _send(self, data: object) -> None:
        self._send_bytes(orjson.dumps(data))

    def _send_bytes(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def __init__(self, path: Path, data_timestamp: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.path = path
        self.data_timestamp = data_timestamp
        # Line offsets only: the records stay on disk.
        self.offsets: list[tuple[int, int]] = []
        position = 0
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    self.offsets.append((position, len(line.rstrip(b"\n"))))
                position += len(line)
        self.lock = threading.Lock()
        self.fh = path.open("rb")

    def read_line(self, index: int) -> bytes:
        start, length = self.offsets[index]
        with self.lock:
            self.fh.seek(start)
            return self.fh.read(length)

    def server_close(self) -> None:
        super().server_close()
        self.fh.close()


@contextmanager
def fake_registry(path: Path, data_timestamp: str) -> Iterator[str]:
    """Serve the records of an NDJSON file; yield the API's base URL."""
    server = _Server(path, data_timestamp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{API}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
