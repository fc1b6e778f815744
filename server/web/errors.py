"""Map trialpub's exceptions and HTTP errors to clear answers, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound, ServiceUnavailable

from ..errors import StoreUnavailable, TrialNotFound
from ..sparql import QueryProblem

log = logging.getLogger(__name__)
# Errors on the SPARQL endpoint are answered as plain text, the way its query problems are.
SPARQL = "sparql"


def _answer(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, message=message), status


def _plain(status: int, message: str, retry_after: int | None = None) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _unavailable() -> Response:
    body, status = _answer(503, "Temporarily unavailable", "The database cannot be reached. Please try again shortly.")
    return Response(body, status, headers={"Retry-After": "10"}, mimetype="text/html")


def register(app: Flask) -> None:
    """Install the error handlers."""

    @app.errorhandler(TrialNotFound)
    def trial_not_found(exc: TrialNotFound) -> tuple[str, int]:
        return _answer(
            404,
            "Trial not found",
            f"There is no trial {exc.nct_id} in this copy of the registry. "
            "It may be newer than our last sync, or the number may be mistyped.",
        )

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable) -> Response:
        log.error("store unavailable: %s", exc)
        return _unavailable()

    @app.errorhandler(OperationalError)
    def connection_lost(exc: OperationalError) -> Response:
        # The connection broke mid-request (the database restarted, the network dropped): the
        # pool drops it, and the next request connects afresh.
        log.error("database connection lost on %s: %s", request.path, " ".join(str(exc.orig).split()))
        return _unavailable()

    @app.errorhandler(QueryProblem)
    def query_problem(exc: QueryProblem) -> Response:
        # SPARQL clients read plain text best; the message is the parser's or names the limit.
        return _plain(exc.status, exc.message, exc.retry_after)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int] | Response | HTTPException:
        if exc.code is None or exc.code < 400 or request.method == "HEAD":
            return exc
        if request.blueprint == SPARQL:
            return _plain(exc.code, exc.description or exc.name)
        if isinstance(exc, NotFound) and exc.description == NotFound.description:
            return _answer(404, "Page not found", f"Nothing lives at {request.path}.")
        return _answer(exc.code, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        log.exception("unhandled error on %s", request.path)
        status = ServiceUnavailable.code if isinstance(exc, OSError) else InternalServerError.code
        return _answer(status, "Something went wrong", "The error has been logged. Please try again later.")
