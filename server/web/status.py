"""``/status``: how fresh this copy of the registry is, in JSON or HTML."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.wrappers import Response

from ..store import store_of
from ..syncstate import status as store_status

bp = Blueprint("status", __name__)

# A client that takes anything (curl, monitors) gets JSON; a browser asks for HTML by name.
_OFFERS = ("application/json", "text/html")


@bp.get("/status")
def status() -> Response | str:
    """Show the last successful sync, the registry's data timestamp and the counts."""
    info = store_status(store_of(current_app))
    if request.accept_mimetypes.best_match(_OFFERS, default="application/json") == "text/html":
        response: Response | str = render_template("status.html", info=info)
    else:
        response = jsonify(_json_ready(info))
    return response


def _json_ready(value: Any) -> Any:
    """Write datetimes as ISO 8601 with their offset."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value
