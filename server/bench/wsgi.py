"""The site as gunicorn serves it, plus one trivial route: the ceiling the other routes are measured against."""

from __future__ import annotations

from server import create_app

app = create_app()


@app.get("/bench/ping")
def ping() -> str:
    """Answer at once: the cost of the web stack alone."""
    return "ok"
