"""The ``trialpub`` command as a user runs it: a real process on a real store."""

import os
import subprocess
import sys
from pathlib import Path

from .conftest import STUDIES


def trialpub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, env=env, timeout=300,
        cwd=Path(__file__).parent.parent,
    )


def test_load_twice_reports_no_new_versions(tmp_path: Path, database_url: str):
    env = {**os.environ, "TRIALPUB_DATA_DIR": str(tmp_path), "TRIALPUB_DATABASE_URL": database_url}
    assert trialpub("init", env=env).returncode == 0
    first = trialpub("load", str(STUDIES), env=env)
    assert first.returncode == 0, first.stderr
    total = len(list(STUDIES.glob("*.json")))
    assert total >= 300
    assert f"read {total}, new {total}, new versions 0, unchanged 0, rejected 0" in first.stdout
    second = trialpub("load", str(STUDIES), env=env)
    assert f"read {total}, new 0, new versions 0, unchanged {total}, rejected 0" in second.stdout


def test_bad_setting_stops_startup(tmp_path: Path):
    env = {**os.environ, "TRIALPUB_DATA_DIR": str(tmp_path), "TRIALPUB_PAGE_SIZE": "lots"}
    result = trialpub("init", env=env)
    assert result.returncode != 0
    assert "page_size" in result.stderr


def test_unreachable_database_is_a_clear_error(tmp_path: Path):
    env = {**os.environ, "TRIALPUB_DATA_DIR": str(tmp_path),
           "TRIALPUB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = trialpub("init", env=env)
    assert result.returncode != 0
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr
