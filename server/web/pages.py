"""HTML pages: the home page and the trial page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..errors import TrialNotFound
from ..store import store_of
from ..trials import NCT_ID, canonical_nct_id, parse_trial

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    """List the trials we hold, a page at a time."""
    store = store_of(current_app)
    size = current_app.config["PAGE_SIZE"]
    page = _page_number()
    total = store.count_trials()
    trials = store.list_trials(offset=(page - 1) * size, limit=size)
    pages = max(1, -(-total // size))
    return render_template("index.html", trials=trials, total=total, page=page, pages=pages)


def _page_number() -> int:
    """Read ``?page=``: a whole number from 1."""
    text = request.args.get("page", "1")
    if not text.isdigit() or int(text) < 1 or len(text) > 9:
        abort(400, f"page must be a whole number from 1, not {text[:40]!r}")
    return int(text)


@bp.get("/trials/<nct_id>")
def trial(nct_id: str) -> str | Response:
    """Show one trial; redirect other spellings of its NCT ID to the canonical one."""
    if not NCT_ID.match(nct_id):
        canonical = canonical_nct_id(nct_id)
        if canonical is None:
            abort(404, f"{nct_id!r} is not an NCT ID: they look like NCT01234567.")
        return redirect(url_for("pages.trial", nct_id=canonical), code=301)
    stored = store_of(current_app).current(nct_id)
    if stored.removed_at is not None:
        raise TrialNotFound(nct_id)
    return render_template("trial.html", trial=parse_trial(stored.record), stored=stored)
