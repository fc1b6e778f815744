"""A trial page in a real headless Chromium, served by a real HTTP server on 127.0.0.1."""

import shutil
import struct
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveServer
from .test_store import incoming, record

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: install Debian's chromium package (.ci/run does)"
    return found


class Recorder:
    """WSGI middleware that notes every path the browser asks for."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.paths.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_trial_page_in_headless_chromium(app, store, tmp_path):
    store.store_batch([incoming(record("NCT04514484"))])
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(app) as server:
        url = f"{server.url}/trials/NCT04514484"
        dom = run_chromium(tmp_path, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        for size, name in (("412,3000", "trial-phone.png"), ("1280,2400", "trial-desktop.png")):
            shot = ARTIFACTS / name
            shot.unlink(missing_ok=True)
            result = run_chromium(tmp_path, f"--window-size={size}", f"--screenshot={shot}", url)
            assert result.returncode == 0, result.stderr[-2000:]
            assert png_size(shot) == tuple(int(n) for n in size.split(","))
            assert shot.stat().st_size > 20_000  # a blank page compresses to almost nothing
    page = dom.stdout
    assert "<h1>Testing the Combination of the Anti-cancer Drugs XL184" in page
    assert 'type="application/ld+json"' in page and "Who may be eligible" in page
    # The browser fetched the page and its one stylesheet, and nothing that failed.
    assert "/trials/NCT04514484" in recorder.paths and "/static/style.css" in recorder.paths
