"""`prunerr doctor` against the emulators over real HTTP: every check passes when all is right,
and a wrong key, a wrong port, a wrong service and a broken rule each come with their fix."""

import json
import socket

import pytest

from prunerr.cli import build_parser, main
from prunerr.emulation import generate
from tests.support import emulated

RULE = """name: Old movies
kind: delete
media: movie
enabled: false
when: added < now - 10 years
"""


@pytest.fixture(scope="module")
def services():
    with emulated(generate("XS", seed=3)) as (env, emulators):
        yield env, emulators


@pytest.fixture
def environment(services, monkeypatch, tmp_path):
    """The emulators' environment, a data directory and a rules directory with one rule."""
    env, _ = services
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / "old-movies.yaml").write_text(RULE)
    for name, value in {
        **env,
        "PRUNERR_DATA_DIR": str(tmp_path / "data"),
        "PRUNERR_RULES_DIR": str(rules),
    }.items():
        monkeypatch.setenv(name, value)
    return rules


def doctor(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def line_of(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.split()[1].rstrip(":") == name)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_all_is_well_one_line_per_check_and_exit_0(environment, capsys):
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert all(line.startswith("ok ") for line in lines), lines
    names = [line.split()[1].rstrip(":") for line in lines]
    assert names[0] == "configuration" and names[6:] == ["database", "queue", "rules"]
    assert sorted(names[1:6]) == ["plex", "radarr", "seerr", "sonarr", "tautulli"]
    assert "Radarr" in line_of(lines, "radarr") and "API key accepted" in line_of(lines, "radarr")
    assert "the right service" in line_of(lines, "plex")
    assert "1 rule load from" in line_of(lines, "rules")
    assert "not created yet" in line_of(lines, "database")


def test_a_wrong_key_is_named_with_where_to_find_the_right_one(environment, monkeypatch, capsys):
    monkeypatch.setenv("RADARR_API_KEY", "wrong-key-wrong-key-wrong-key-00")
    code, lines = doctor(capsys)
    assert code == 1
    line = line_of(lines, "radarr")
    assert line.startswith("PROBLEM  radarr at http://127.0.0.1:")
    assert ": the API key was refused (HTTP 401). Fix: " in line
    assert line.endswith(
        "Fix: check the API key configured for this service (Radarr: Settings > General > Security)"
    )
    assert "wrong-key" not in "\n".join(lines)
    assert line_of(lines, "sonarr").startswith("ok ")


def test_a_wrong_port_is_connection_refused(environment, monkeypatch, capsys):
    port = closed_port()
    monkeypatch.setenv("SONARR_URL", f"http://127.0.0.1:{port}")
    code, lines = doctor(capsys)
    assert code == 1
    line = line_of(lines, "sonarr")
    assert f"connection refused: nothing is listening on 127.0.0.1:{port}" in line
    assert "Fix: check the port in the URL and that Sonarr is running" in line


def test_a_wrong_service_names_what_answered(environment, services, monkeypatch, capsys):
    env, _ = services
    monkeypatch.setenv("RADARR_URL", env["SONARR_URL"])
    monkeypatch.setenv("RADARR_API_KEY", env["SONARR_API_KEY"])
    code, lines = doctor(capsys, "--format", "json")
    assert code == 1
    report = json.loads("\n".join(lines))
    radarr = next(c for c in report["checks"] if c["name"] == "radarr")
    assert not report["ok"] and not radarr["ok"]
    assert radarr["message"].startswith("this address is Sonarr 4.")
    assert radarr["message"].endswith(", not Radarr")
    assert radarr["details"]["url"] == env["SONARR_URL"]
    assert radarr["fix"] == "give Radarr's URL for radarr (this one is Sonarr's)"
    assert radarr["details"]["reachable"] is True and radarr["details"]["service"] is False
    assert env["SONARR_API_KEY"] not in "\n".join(lines)


def test_broken_rules_are_listed(environment, capsys):
    (environment / "broken.yaml").write_text(
        "name: Broken\nkind: delete\nmedia: movie\nwhen: size >\n"
    )
    code, lines = doctor(capsys)
    assert code == 1
    rules = line_of(lines, "rules")
    assert rules.startswith("PROBLEM  rules: 1 rule file in") and "prunerr rules check" in rules
    listed = lines[lines.index(rules) + 1 :]
    assert listed and "broken.yaml:4:" in listed[0]


def test_an_unreachable_postgres_is_a_problem_with_the_password_masked(
    environment, monkeypatch, capsys
):
    port = closed_port()
    monkeypatch.setenv("PRUNERR_DATABASE_URL", f"postgres://prunerr:hunter2@127.0.0.1:{port}/db")
    code, lines = doctor(capsys)
    assert code == 1
    line = line_of(lines, "database")
    assert line.startswith(f"PROBLEM  database: PostgreSQL at postgres://********@127.0.0.1:{port}")
    assert "Fix: check the host, port, user, password" in line
    assert "hunter2" not in "\n".join(lines)


def test_a_job_queue_file_that_is_not_a_database_is_a_problem_with_its_fix(
    environment, monkeypatch, capsys
):
    data = environment.parent / "data"
    data.mkdir()
    (data / "queue.db").write_bytes(b"not a database, " * 100)
    code, lines = doctor(capsys)
    assert code == 1
    line = line_of(lines, "queue")
    assert line.startswith(f"PROBLEM  queue: SQLite at {data.resolve() / 'queue.db'}: file is not")
    assert "it can be deleted (it holds no history)" in line


def test_a_configuration_error_is_the_one_check(environment, monkeypatch, capsys):
    monkeypatch.setenv("PORT", "http")
    code, lines = doctor(capsys)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("PROBLEM  configuration: port (from PORT): expected a port")


def test_help_shows_examples():
    doctor_parser = build_parser()._subparsers._group_actions[0].choices["doctor"]
    help_text = doctor_parser.format_help()
    assert "examples:" in help_text and "prunerr doctor --format json" in help_text
