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


def test_a_schedule_is_turned_off_by_off_wherever_it_is_set(schema, tmp_path):
    (tmp_path / "prunerr.yaml").write_text("sync_schedule: off\nevaluation_schedule: ~\n")
    config = load(schema, {"PRUNERR_PROCESSING_SCHEDULE": "Off"}, tmp_path)
    assert config["sync_schedule"] is None  # YAML reads a bare off as false
    assert config["evaluation_schedule"] is None and config["processing_schedule"] is None
    with pytest.raises(ConfigError, match=r"cron expression such as '0 3 \* \* \*', or off"):
        load(schema, {"PRUNERR_PROCESSING_SCHEDULE": "never"}, tmp_path)


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:pw@radarr:7878", "http://********@radarr:7878"),
        ("http://token@radarr:7878/base", "http://********@radarr:7878/base"),
        ("http://admin:p@ss@host/", "http://********@host/"),
        ("http://admin:pa/ss@host/x", "http://********@host/x"),
        ("http://[::1]:8181/t?apikey=abc&cmd=x", "http://[::1]:8181/t?apikey=********&cmd=x"),
        ("http://t:8181?api_key=1;token=2", "http://t:8181?api_key=********;token=********"),
        ("https://plex?X-Plex-Token=zz", "https://plex?X-Plex-Token=********"),
        ("https://h/cb#access_token=a&state=s", "https://h/cb#access_token=********&state=s"),
        ("http://h?Api%5FKey=1&password=2", "http://h?Api%5FKey=********&password=********"),
        ("http://h/@me?page=2&token", "http://h/@me?page=2&token"),
        (
            "a http://u:p@h and https://g?secret=s",
            "a http://********@h and https://g?secret=********",
        ),
        ("no URL at all: key=value", "no URL at all: key=value"),
    ],
)
def test_credentials_in_urls_are_masked(url, shown):
    from prunerr.config import mask_url

    assert mask_url(url) == shown


def test_credentials_in_service_urls_are_masked_wherever_configuration_is_shown(
    schema, tmp_path, capsys, monkeypatch
):
    """`RADARR_URL=http://admin:pw@host` and `?apikey=` were printed by `prunerr config`."""
    from prunerr.cli import main

    (tmp_path / "prunerr.yaml").write_text(
        "webhook:\n  - {url: 'https://hooks.example/in?token=hook-token', secret: s}\n"
    )
    env = {
        "PRUNERR_DATA_DIR": str(tmp_path),
        "RADARR_URL": "http://admin:radarr-pw@radarr:7878",
        "RADARR_API_KEY": "k",
        "TAUTULLI_URL": "http://tautulli:8181/?apikey=tautulli-key",
        "TAUTULLI_API_KEY": "k",
    }
    config = Config.load(schema, env)
    assert config.instances["radarr"][0]["url"] == "http://admin:radarr-pw@radarr:7878"
    public = config.public()
    assert public["radarr"][0]["url"] == "http://********@radarr:7878"
    assert public["tautulli"][0]["url"] == "http://tautulli:8181/?apikey=********"
    assert public["webhook"][0]["url"] == "https://hooks.example/in?token=********"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for fmt in ("text", "json"):
        assert main(["config", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "radarr-pw" not in out and "tautulli-key" not in out and "hook-token" not in out
        assert "http://********@radarr:7878" in out


def test_invalid_yaml_is_reported_without_quoting_the_file(schema, tmp_path):
    (tmp_path / "prunerr.yaml").write_text(
        "radarr:\n  - {url: 'http://admin:pw@radarr:7878', api_key: k3y\n"
    )
    with pytest.raises(ConfigError) as error:
        load(schema, {}, tmp_path)
    assert str(error.value).startswith(f"{tmp_path / 'prunerr.yaml'}:3:1: invalid YAML: ")
    assert "pw@" not in str(error.value) and "k3y" not in str(error.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PRUNERR_REMINDER_DAYS": "9" * 331},
            "reminder_days (from PRUNERR_REMINDER_DAYS): expected a whole number of days "
            "from 0 to 36500",
        ),
        (
            {"PRUNERR_MAX_ATTEMPTS": "101"},
            "max_attempts (from PRUNERR_MAX_ATTEMPTS): expected a whole number from 0 to 100",
        ),
        (
            {"PRUNERR_MAX_REQUEST_BODY": "10"},
            "max_request_body (from PRUNERR_MAX_REQUEST_BODY): expected a size in bytes "
            "from 1024 to 1073741824",
        ),
        ({"PRUNERR_MAX_REQUEST_BODY": "lots"}, "max_request_body (from PRUNERR_MAX_REQUEST_BODY)"),
    ],
)
def test_numeric_settings_are_bounded_wherever_they_come_from(schema, tmp_path, env, message):
    with pytest.raises(ConfigError) as error:
        load(schema, env, tmp_path)
    assert str(error.value).startswith(message)


def test_every_numeric_setting_declares_its_range():
    from prunerr.config import BOUNDED, Setting

    with pytest.raises(ValueError, match="declares a maximum"):
        Setting("limit", "A count without a maximum.", kind="count")
    for setting in PluginHost.create().config_schema().settings.values():
        if setting.kind in BOUNDED:
            assert setting.maximum is not None and setting.low <= setting.default <= setting.maximum


@pytest.mark.parametrize(
    ("raw", "size"), [("4MiB", 4 * 2**20), ("500 KB", 500_000), ("1gib", 2**30), ("2048", 2048)]
)
def test_the_request_body_limit_takes_units(schema, tmp_path, raw, size):
    config = load(schema, {"PRUNERR_MAX_REQUEST_BODY": raw}, tmp_path)
    assert config["max_request_body"] == size
    assert load(schema, {}, tmp_path)["max_request_body"] == 4 * 2**20


def test_a_saved_setting_out_of_range_is_ignored_not_fatal(schema, tmp_path, caplog):
    """A 331-digit reminder_days saved before the bound made every reminders job fail."""
    from prunerr.config import settings

    config = load(schema, {}, tmp_path)
    settings.apply(config, {"reminder_days": int("9" * 331), "max_attempts": 7})
    assert config["reminder_days"] == 1 and config.sources["reminder_days"] == "default"
    assert config["max_attempts"] == 7
    assert "ignoring the saved setting reminder_days" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "radarr:\n  - {url: 'http://admin:pw@radarr:7878', api_key: k3y\n",
            ":3:1: invalid YAML: expected ',' or '}', but got the end of the file "
            "(while parsing a flow mapping from 2:5)",
        ),
        ("port: 4000\n  tz: UTC\n", ":2:5: invalid YAML: mapping values are not allowed here"),
        ("tz: UTC\n\tport: 1\n", ":2:1: invalid YAML: found character '\\t' that cannot start"),
        ("- port\n", ":1:1: expected a mapping of settings"),
    ],
)
def test_yaml_syntax_errors_say_file_line_column_and_what_was_expected(
    schema, tmp_path, text, message
):
    path = tmp_path / "prunerr.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load(schema, {}, tmp_path)
    shown = str(error.value)
    assert shown.startswith(f"{path}{message}"), shown
    assert "<unicode string>" not in shown and "pw@" not in shown and "k3y" not in shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tz: UTC\nport: http\n", ":2:7: port: expected a port number from 1 to 65535"),
        ("tz: UTC\nprot: 1\n", ":2:1: unknown key 'prot'; did you mean 'port'?"),
        (
            "radarr:\n  - name: radarr-4k\n    url: radarr4k:7878\n    api_key: s3cret\n",
            ":3:10: radarr[0].url (instance 'radarr-4k'): expected an http:// or https:// URL",
        ),
        (
            "radarr:\n  - name: radarr-4k\n    url: http://r:7878\n    apikey: s3cret\n",
            ":4:5: radarr[0].apikey (instance 'radarr-4k'): unknown key; did you mean 'api_key'?",
        ),
        (
            "radarr:\n  - {url: 'http://r:7878', api_key: k}\n  - {name: four, url: 'http://f:7878'}\n",
            ":3:5: radarr[1] (instance 'four'): missing api_key",
        ),
        ("sonarr:\n  url: http://s:8989\n", ":2:3: sonarr: expected a list of instances"),
        (
            "radarr:\n  - {name: a, url: 'http://r:1', api_key: k}\nradarr: []\n",
            ":3:1: radarr: given twice (first on line 1)",
        ),
    ],
)
def test_wrong_values_and_unknown_keys_in_the_file_name_the_key_path_and_line(
    schema, tmp_path, text, message
):
    path = tmp_path / "prunerr.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load(schema, {}, tmp_path)
    assert str(error.value).startswith(f"{path}{message}"), str(error.value)
    assert "s3cret" not in str(error.value)


def test_the_command_line_prints_the_position(capsys, monkeypatch, tmp_path):
    from prunerr.cli import main

    (tmp_path / "prunerr.yaml").write_text("port: 4000\nsync_schedule: [\n")
    monkeypatch.setenv("PRUNERR_DATA_DIR", str(tmp_path))
    assert main(["config"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'prunerr.yaml'}:3:1: invalid YAML: expected the node content" in err
