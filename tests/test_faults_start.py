"""Commands started on a database that cannot be reached: one clear line, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import STUDIES
from .processes import free_port, trialpub

pytestmark = pytest.mark.slow

COMMANDS = [("init",), ("load", str(STUDIES)), ("sync",), ("serve", "--workers", "1")]


def unreachable_databases(tmp_path: Path) -> list[tuple[str, str]]:
    """(URL, how it is named in the message): PostgreSQL on a closed port, SQLite where no file can be."""
    (tmp_path / "a-file").write_text("not a directory\n")
    port = free_port()  # closed again as soon as it is found
    return [
        (f"postgresql://trialpub:s3cret@127.0.0.1:{port}/trialpub", f"postgresql://trialpub:***@127.0.0.1:{port}/trialpub"),
        (f"sqlite:///{tmp_path}/missing/dir/trialpub.sqlite3", f"{tmp_path}/missing/dir/trialpub.sqlite3"),
        (f"sqlite:///{tmp_path}/a-file/trialpub.sqlite3", f"{tmp_path}/a-file/trialpub.sqlite3"),
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_unreachable_database_stops_the_command_with_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    for url, named in unreachable_databases(tmp_path):
        settings = {"data_dir": tmp_path / "data", "database_url": url, "registry_url": "http://127.0.0.1:9/api/v2",
                    "serve_port": free_port()}
        done = trialpub(*command, settings=settings, timeout=60)
        assert done.returncode != 0, (url, command, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert "Traceback" not in done.stderr
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("Error: cannot reach the database "), lines[0]
        assert named in lines[0]
        assert "s3cret" not in done.stderr + done.stdout
