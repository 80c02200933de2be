import re
from pathlib import Path

import pytest

from prunerr.config import MASK, Config, ConfigError
from prunerr.plugins import PluginHost

DOC = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()


@pytest.fixture(scope="module")
def schema():
    return PluginHost.create().config_schema()


def load(schema, env: dict, tmp_path: Path) -> Config:
    return Config.load(schema, {"PRUNERR_DATA_DIR": str(tmp_path), **env})


def test_defaults_environment_file_and_database_in_that_order(schema, tmp_path):
    (tmp_path / "prunerr.yaml").write_text("port: 4000\ntz: Europe/Paris\nrules_dir: /rules\n")
    config = Config.load(
        schema,
        {"PRUNERR_DATA_DIR": str(tmp_path), "PORT": "5000"},
        stored={"tz": "Asia/Tokyo", "rules_dir": "/db/rules", "dry_run": True},
    )
    assert config["port"] == 5000 and config.sources["port"] == "PORT"
    assert config["tz"] == "Europe/Paris" and config.sources["tz"] == "prunerr.yaml"
    assert config["dry_run"] is True and config.sources["dry_run"] == "database"
    assert config["database_url"] is None and config.sources["database_url"] == "default"


def test_secrets_can_come_from_files_and_are_masked(schema, tmp_path):
    secret = tmp_path / "radarr_key"
    secret.write_text("s3cretkey\n")
    config = load(
        schema, {"RADARR_URL": "http://radarr:7878/", "RADARR_API_KEY_FILE": str(secret)}, tmp_path
    )
    assert config.instances["radarr"] == [
        {"name": "radarr", "url": "http://radarr:7878", "api_key": "s3cretkey"}
    ]
    assert config.public()["radarr"] == [
        {"name": "radarr", "url": "http://radarr:7878", "api_key": MASK}
    ]
    assert "s3cretkey" not in repr(config.public())


def test_empty_variables_count_as_unset(schema, tmp_path):
    """Compose's `${RADARR_URL}` and a CI secret that is not defined give empty strings: such a
    service is not configured, rather than an invalid URL."""
    config = load(
        schema, {"RADARR_URL": "", "RADARR_API_KEY": "", "PORT": "", "TZ_FILE": ""}, tmp_path
    )
    assert config.instances["radarr"] == []
    assert config["port"] == 3000 and config.sources["port"] == "default"


def test_several_instances_of_a_service(schema, tmp_path):
    (tmp_path / "prunerr.yaml").write_text(
        "radarr:\n  - {name: radarr-4k, url: 'http://r4k:7878', api_key: four}\n"
    )
    config = load(schema, {"RADARR_URL": "http://radarr:7878", "RADARR_API_KEY": "hd"}, tmp_path)
    assert [(i["name"], i["api_key"]) for i in config.instances["radarr"]] == [
        ("radarr-4k", "four"),
        ("radarr", "hd"),
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "port (from PORT): "),
        ({"PRUNERR_DRY_RUN": "maybe"}, "dry_run (from PRUNERR_DRY_RUN): expected true or false"),
        ({"RADARR_URL": "radarr:7878", "RADARR_API_KEY": "k"}, "radarr instance 'radarr': url: "),
        ({"RADARR_API_KEY": "k"}, "radarr instance 'radarr': missing url (set RADARR_URL)"),
        (
            {"PLEX_TOKEN": "t", "PLEX_TOKEN_FILE": "/x"},
            "PLEX_TOKEN and PLEX_TOKEN_FILE are both set",
        ),
        ({"PLEX_TOKEN_FILE": "/nonexistent"}, "PLEX_TOKEN_FILE: cannot read /nonexistent"),
    ],
)
def test_invalid_configuration_names_the_key(schema, tmp_path, env, message):
    with pytest.raises(ConfigError) as error:
        load(schema, env, tmp_path)
    assert str(error.value).startswith(message)


def test_unknown_keys_in_the_file_are_errors(schema, tmp_path):
    (tmp_path / "prunerr.yaml").write_text("prot: 1\n")
    with pytest.raises(ConfigError, match="unknown key 'prot'"):
        load(schema, {}, tmp_path)


def test_every_setting_and_service_key_is_documented(schema):
    for setting in schema.settings.values():
        assert re.search(rf"\| `{setting.key}` \| `{setting.env}` \|", DOC), setting.key
    for kind in schema.services.values():
        assert f"| `{kind.name}` |" in DOC, kind.name
        for field in kind.fields:
            assert re.search(rf"\| `{field.key}` \| `{field.env}` \|", DOC), (kind.name, field)


def test_the_config_command_masks_secrets_and_reports_bad_values(capsys, monkeypatch, tmp_path):
    from prunerr.cli import main

    monkeypatch.setenv("PRUNERR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLEX_URL", "http://plex:32400")
    monkeypatch.setenv("PLEX_TOKEN", "tok-123-secret")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "plex: url=http://plex:32400, token=********" in out
    assert "tok-123-secret" not in out
    monkeypatch.setenv("PORT", "http")
    assert main(["sync"]) == 1
    assert "port (from PORT): expected a port number" in capsys.readouterr().err
