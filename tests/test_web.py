"""The web app over real HTTP."""

import httpx

from server.load import load_paths

from .conftest import STUDIES


def test_home_lists_trials_and_trial_pages_answer(store, live_server):
    load_paths(store, [STUDIES / "NCT00001908.json", STUDIES / "NCT00001909.json"])
    with httpx.Client(base_url=live_server.url) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "NCT00001908" in home.text and "NCT00001909" in home.text
        page = client.get("/trials/NCT00001908")
        assert page.status_code == 200
        assert "T Cell Cytokine Changes During IL-4 Receptor Treatment for Asthma" in page.text
        moved = client.get("/trials/nct00001908")
        assert moved.status_code == 301
        assert moved.headers["location"].endswith("/trials/NCT00001908")
        missing = client.get("/trials/NCT99999999")
        assert missing.status_code == 404 and "NCT99999999" in missing.text
        malformed = client.get("/trials/NCT123")
        assert malformed.status_code == 404 and "not an NCT ID" in malformed.text
        assert client.get("/?page=0").status_code == 400
        bad_page = client.get("/?page=abc")
        assert bad_page.status_code == 400 and "whole number" in bad_page.text
        assert client.get("/?page=1").status_code == 200
