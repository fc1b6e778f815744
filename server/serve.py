"""Run the app under gunicorn from the ``trialpub`` command."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn with the app built by ``create_app`` in each worker, after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Built in the worker so no database connection crosses a fork.
        from . import create_app

        return create_app()


# Gunicorn reads request lines of at most this many bytes unless told "no limit" (0).
GUNICORN_MAX_REQUEST_LINE = 8190


def request_line_limit(max_url_bytes: int) -> int:
    """Let gunicorn read request lines past the app's URL limit, so that the app's clearer 414 answers."""
    # The method, the spaces and "HTTP/1.1" around the URL.
    if max_url_bytes + 64 <= GUNICORN_MAX_REQUEST_LINE:
        return GUNICORN_MAX_REQUEST_LINE
    # No limit of gunicorn's own; its parser still stops at 1 MiB.
    return 0


def serve(host: str, port: int, workers: int, max_url_bytes: int) -> None:
    """Serve until interrupted."""
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "accesslog": "-",
            "timeout": 60,
            "graceful_timeout": 10,
            "limit_request_line": request_line_limit(max_url_bytes),
        }
    ).run()
