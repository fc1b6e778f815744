"""A private Virtuoso Open Source server on 127.0.0.1, as a deployment would run it for trialpub.

Its database lives in a temporary folder, it listens on free ports on the loopback only, and the
user trialpub writes with gets the SPARQL_UPDATE role for the digest-authenticated Graph Store
endpoint, as README.md's recipe says. Debian's package ``virtuoso-opensource`` provides
``virtuoso-t`` and ``isql-vt``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt") or shutil.which("isql")

# The recipe of README.md ("An external SPARQL store"), on ports and a folder of the test's own.
INI = """\
[Database]
DatabaseFile       = {folder}/virtuoso.db
ErrorLogFile       = {folder}/virtuoso.log
LockFile           = {folder}/virtuoso.lck
TransactionFile    = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa

[TempDatabase]
DatabaseFile    = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx

[Parameters]
ServerPort        = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DirsAllowed       = ., {folder}
NumberOfBuffers   = 10000
MaxDirtyBuffers   = 6000
CheckpointInterval = 0

[HTTPServer]
ServerPort         = 127.0.0.1:{http_port}
ServerRoot         = {folder}
ServerThreads      = 10
MaxClientConnections = 10
EnabledGzipContent = 1

[SPARQL]
ResultSetMaxRows      = 100000
MaxQueryExecutionTime = {query_seconds}
"""

# The user trialpub writes as, allowed to update graphs and nothing else.
GRANTS = """\
DB.DBA.USER_CREATE('{user}', '{password}');
GRANT SPARQL_UPDATE TO "{user}";
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Virtuoso:
    """Run ``virtuoso-t`` in a folder of its own while the ``with`` block runs."""

    USER, PASSWORD = "trialpub", "graph-writer"
    DBA_PASSWORD = "dba"  # a new database's, and nobody else can reach this loopback server

    def __init__(self, folder: Path, query_seconds: int = 60) -> None:
        assert VIRTUOSO and ISQL, "virtuoso-t and isql-vt are needed"
        self.folder = folder
        self.query_seconds = query_seconds
        self.sql_port, self.http_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Virtuoso:
        self.folder.mkdir(parents=True, exist_ok=True)
        ini = self.folder / "virtuoso.ini"
        ini.write_text(
            INI.format(
                folder=self.folder,
                sql_port=self.sql_port,
                http_port=self.http_port,
                query_seconds=self.query_seconds,
            )
        )
        assert VIRTUOSO is not None
        with (self.folder / "console.log").open("wb") as console:
            self.process = subprocess.Popen(
                [VIRTUOSO, "+foreground", "+configfile", str(ini)],
                cwd=self.folder,
                stdout=console,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_up(timeout=60.0)
            self.isql(GRANTS.format(user=self.USER, password=self.PASSWORD))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: {self.log()}")
            try:
                if httpx.post(f"{self.url}/sparql", data={"query": "ASK {}"}, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"virtuoso-t did not answer within {timeout} s: {self.log()}")

    def log(self) -> str:
        """Return the end of the server's log, for error messages."""
        path = self.folder / "virtuoso.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def isql(self, statements: str) -> str:
        """Run SQL statements as dba; fail on any error."""
        assert ISQL is not None
        done = subprocess.run(
            [ISQL, f"127.0.0.1:{self.sql_port}", "dba", self.DBA_PASSWORD, "VERBOSE=OFF", "ERRORS=STDOUT"],
            input=statements + "\nEXIT;\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert "*** Error" not in done.stdout, done.stdout
        return done.stdout

    def select(self, query: str) -> list[dict[str, Any]]:
        """Ask Virtuoso itself a SELECT query (not through trialpub); return the bindings."""
        answer = httpx.post(
            f"{self.url}/sparql",
            data={"query": query},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        answer.raise_for_status()
        bindings: list[dict[str, Any]] = json.loads(answer.content)["results"]["bindings"]
        return bindings

    def settings(self) -> dict[str, str]:
        """The trialpub settings that point at this server."""
        return {
            "triplestore": "remote",
            "triplestore_query_url": f"{self.url}/sparql",
            "triplestore_graph_store_url": f"{self.url}/sparql-graph-crud-auth",
            "triplestore_user": self.USER,
            "triplestore_password": self.PASSWORD,
            "triplestore_auth": "digest",
        }
