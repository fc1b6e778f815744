"""trialpub: the ClinicalTrials.gov registry as linked data, pages and change feeds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .config import load_settings
from .store import EXTENSION as STORE
from .store import Store, engine_for


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; reads settings here, never at import time."""
    app = Flask(__name__)
    settings = load_settings(test_config)
    data_dir = Path(settings["data_dir"] or app.instance_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings["data_dir"] = str(data_dir)
    if not settings["database_url"]:
        settings["database_url"] = f"sqlite:///{data_dir / 'trialpub.sqlite3'}"
    settings["base_url"] = settings["base_url"].rstrip("/")
    app.config.update({key.upper(): value for key, value in settings.items()})

    app.extensions[STORE] = Store(engine_for(settings["database_url"]))

    from . import web

    web.register(app)
    return app
