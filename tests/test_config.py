from pathlib import Path

import pytest

from server import create_app
from server.config import default_settings, load_settings
from server.errors import ConfigError
from server.resources import resource_path


def test_every_default_is_documented_by_a_comment():
    lines = resource_path("config", "default.toml").read_text().splitlines()
    for key in default_settings():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
        assert lines[index - 1].startswith("#"), f"{key} has no comment above it"


def test_layers_override_in_order(tmp_path: Path):
    file = tmp_path / "site.toml"
    file.write_text('base_url = "https://file.example"\npage_size = 10\nserve_port = 9000\n')
    env = {"TRIALPUB_CONFIG": str(file), "TRIALPUB_PAGE_SIZE": "20", "TRIALPUB_REGISTRY_URL": "http://127.0.0.1:1/api"}
    settings = load_settings({"serve_port": 9100}, environ=env)
    assert settings["base_url"] == "https://file.example"
    assert settings["page_size"] == 20
    assert settings["registry_url"] == "http://127.0.0.1:1/api"
    assert settings["serve_port"] == 9100


@pytest.mark.parametrize(
    ("environ", "test_config", "named"),
    [
        ({"TRIALPUB_NO_SUCH_THING": "1"}, None, "no_such_thing"),
        ({"TRIALPUB_PAGE_SIZE": "many"}, None, "page_size"),
        ({"TRIALPUB_PAGE_SIZE": "true"}, None, "page_size"),
        ({}, {"page_size": "50"}, "page_size"),
        ({}, {"base_url": 5}, "base_url"),
        ({}, {"bogus": 1}, "bogus"),
    ],
)
def test_bad_settings_stop_startup_naming_them(environ, test_config, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(test_config, environ=environ)


def test_bad_config_file_is_named(tmp_path: Path):
    file = tmp_path / "bad.toml"
    file.write_text("page_size = [\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(environ={"TRIALPUB_CONFIG": str(file)})
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(environ={"TRIALPUB_CONFIG": str(tmp_path / "missing.toml")})


def test_app_takes_database_under_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRIALPUB_DATA_DIR", str(tmp_path / "d"))
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'd' / 'trialpub.sqlite3'}"
    assert (tmp_path / "d").is_dir()
