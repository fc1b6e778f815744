"""Safety applied to every request and answer: security headers, size limits, the client's address."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, RequestURITooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

# No script at all: pages are plain HTML with one stylesheet. JSON-LD blocks are data, not script,
# so they need no script-src. The SPARQL query form sends to this site only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def register(app: Flask) -> None:
    """Install the limits and headers on the app, and trust the configured reverse proxies."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        # Only X-Forwarded-For: links are built from base_url, never from forwarded host or scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0, x_host=0)  # type: ignore[method-assign]
    # Caps bodies sent without a length (chunked) as they are read; declared lengths are refused below.
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.before_request(_check_sizes)
    app.after_request(_add_headers)


def _check_sizes() -> None:
    """Refuse a URL or a declared body past its limit before anything reads it."""
    config = current_app.config
    length = _url_length()
    if length > config["MAX_URL_BYTES"]:
        raise RequestURITooLarge(
            f"The URL is {length:,} bytes long; this site accepts at most {config['MAX_URL_BYTES']:,}. "
            "Send long SPARQL queries with POST."
        )
    declared = request.content_length
    if declared is not None and declared > config["MAX_BODY_BYTES"]:
        raise RequestEntityTooLarge(
            f"The request body is {declared:,} bytes; this site accepts at most {config['MAX_BODY_BYTES']:,}."
        )


def _url_length() -> int:
    """Measure the URL as sent (percent-encoded), path and query string."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(request.script_root.encode()) + len(environ.get("PATH_INFO", "").encode()) + len(query) + 1


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response
