"""The web shell: blueprints and the one place errors become HTTP answers."""

from __future__ import annotations

from flask import Flask

from . import browse, dataset, errors, feeds, linked_data, pages, params, security, sitemaps, sparql, status


def register(app: Flask) -> None:
    """Attach the security layer, every blueprint and the error handlers to the app."""
    security.register(app)
    app.before_request(params.refuse_nul)
    app.register_blueprint(pages.bp)
    app.register_blueprint(browse.bp)
    app.register_blueprint(sitemaps.bp)
    app.register_blueprint(status.bp)
    linked_data.register(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(dataset.bp)
    feeds.register(app)
    errors.register(app)
