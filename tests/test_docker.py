"""The production image, checked without a Docker engine: the entrypoint run for real in temp
directories, the healthcheck against a real server, and the Dockerfile and compose files read
against the project's settings."""

import http.server
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from prunerr.healthcheck import check
from prunerr.plugins import PluginHost

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parent.parent
ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
PRUNERR = Path(sys.executable).parent / "prunerr"

as_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)

# The image's user database: Debian's users plus `prunerr` (1000:1000).
PASSWD = """\
root:x:0:0:root:/root:/bin/bash
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
prunerr:x:1000:1000::/nonexistent:/usr/sbin/nologin
"""
GROUP = "root:x:0:\nwww-data:x:33:\nusers:x:100:\nprunerr:x:1000:\n"
SHADOW = "root:*:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\nprunerr:!:19000::::::\n"
GSHADOW = "root:*::\nwww-data:*::\nusers:*::\nprunerr:!::\n"


@pytest.fixture
def box():
    """A world-readable temp dir (pytest's own are private to root, so a dropped user could not
    reach them) with the entrypoint and the image's user database under etc/."""
    with tempfile.TemporaryDirectory() as name:
        path = Path(name)
        path.chmod(0o755)
        shutil.copy(ENTRYPOINT, path / "entrypoint.sh")
        (path / "etc").mkdir()
        (path / "etc" / "passwd").write_text(PASSWD)
        (path / "etc" / "group").write_text(GROUP)
        (path / "etc" / "shadow").write_text(SHADOW)
        (path / "etc" / "gshadow").write_text(GSHADOW)
        yield path


def entrypoint(box: Path, *command: str, as_uid: int | None = None, **env: str):
    """Run docker/entrypoint.sh with /config at box/config, optionally as a non-root uid."""
    full_env = {
        "PATH": os.environ["PATH"],
        "PRUNERR_DATA_DIR": str(box / "config"),
        "PRUNERR_SYSROOT": str(box),
        **env,
    }
    prefix = []
    if as_uid is not None:
        prefix = ["setpriv", f"--reuid={as_uid}", f"--regid={as_uid}", "--clear-groups"]
    return subprocess.run(
        [*prefix, "sh", str(box / "entrypoint.sh"), *command],
        env=full_env,
        cwd=box,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@as_root
def test_entrypoint_runs_the_command_as_puid_pgid_owning_the_data_dir(box):
    result = entrypoint(box, "sh", "-c", "id -u; id -g; id -G", PUID="12345", PGID="12346")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["12345", "12346", "12346"]  # no supplementary groups
    assert "prunerr:x:12345:12346:" in (box / "etc" / "passwd").read_text()
    assert "prunerr:x:12346:" in (box / "etc" / "group").read_text()
    config = box / "config"
    assert owner(config) == (12345, 12346)
    assert tree(config / "rules.d") == []  # no rule is installed by itself
    assert owner(config / "rules.d") == (12345, 12346)


@as_root
def test_entrypoint_shares_ids_that_already_exist(box):
    result = entrypoint(box, "sh", "-c", "id -u; id -g", PUID="33", PGID="100")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["33", "100"]
    assert "prunerr:x:33:100:" in (box / "etc" / "passwd").read_text()


@as_root
def test_entrypoint_creates_the_user_when_missing(box):
    (box / "etc" / "passwd").write_text(PASSWD.replace("prunerr:x:1000:1000::", "other:x:9:9::"))
    (box / "etc" / "group").write_text(GROUP.replace("prunerr:x:1000:", "other:x:9:"))
    (box / "etc" / "shadow").write_text(SHADOW.replace("prunerr:", "other:"))
    (box / "etc" / "gshadow").write_text(GSHADOW.replace("prunerr:", "other:"))
    result = entrypoint(box, "id", "-u", PUID="12345", PGID="12346")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "12345"
    assert "prunerr:x:12345:12346:" in (box / "etc" / "passwd").read_text()


@as_root
def test_the_rules_directory_starts_empty_and_the_users_rules_are_left_alone(box):
    """No example rule is seeded (`prunerr rules init` copies them, disabled, when asked)."""
    assert entrypoint(box, "true").returncode == 0
    rules = box / "config" / "rules.d"
    assert rules.is_dir() and tree(rules) == []
    mine = rules / "movies" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text("name: mine\n")
    again = entrypoint(box, "true")
    assert again.returncode == 0, again.stderr
    assert tree(rules) == ["movies", "movies/mine.yaml"]
    assert mine.read_text() == "name: mine\n"


@as_root
def test_a_rules_directory_outside_the_data_directory_is_created_too(box):
    rules = box / "rules"
    result = entrypoint(box, "true", PRUNERR_RULES_DIR=str(rules), PUID="12345", PGID="12346")
    assert result.returncode == 0, result.stderr
    assert tree(rules) == [] and owner(rules) == (12345, 12346)


@as_root
def test_ownership_is_changed_only_where_it_is_wrong(box):
    assert entrypoint(box, "true", PUID="12345", PGID="12346").returncode == 0
    config = box / "config"
    files = [config, *config.rglob("*")]
    changed = {p: p.stat().st_ctime_ns for p in files}
    stray = config / "prunerr.yaml"
    stray.write_text("tz: UTC\n")  # written by root, e.g. from `docker exec`
    time.sleep(0.01)
    assert entrypoint(box, "true", PUID="12345", PGID="12346").returncode == 0
    assert owner(stray) == (12345, 12346)
    assert all(p.stat().st_ctime_ns == ctime for p, ctime in changed.items() if p != config)


@as_root
def test_umask_applies_to_the_command(box):
    result = entrypoint(box, "sh", "-c", "umask", UMASK="027")
    assert result.stdout.strip() == "0027"


@as_root
def test_non_numeric_ids_are_refused(box):
    result = entrypoint(box, "true", PUID="prunerr")
    assert result.returncode == 1
    assert "PUID and PGID must be numbers" in result.stderr


@as_root
def test_started_as_non_root_it_just_runs_the_command(box):
    config = box / "config"
    config.mkdir()
    os.chown(config, 23456, 23456)  # as with `--user 23456:23456` and a volume of theirs
    result = entrypoint(box, "sh", "-c", "id -u; id -g", as_uid=23456, PUID="12345")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["23456", "23456"]
    assert (box / "etc" / "passwd").read_text() == PASSWD
    assert tree(config / "rules.d") == []
    assert owner(config / "rules.d") == (23456, 23456)


@as_root
@pytest.mark.parametrize(
    ("command", "expected"),
    [((), "prunerr serve"), (("worker",), "prunerr worker"), (("--help",), "prunerr --help")],
)
def test_commands_default_to_prunerr_and_prunerr_serve(box, command, expected):
    bin_dir = box / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "prunerr"
    fake.write_text('#!/bin/sh\necho prunerr "$@"\n')
    fake.chmod(0o755)
    result = entrypoint(box, *command, PATH=f"{bin_dir}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == expected


def wait_for_health(env: dict, server: subprocess.Popen) -> subprocess.CompletedProcess:
    """Run the healthcheck until it passes or the server exits."""
    for _ in range(100):
        probe = subprocess.run(
            [sys.executable, "-m", "prunerr.healthcheck"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.returncode == 0 or server.poll() is not None:
            return probe
        time.sleep(0.2)
    return probe


def runs_as_another_user() -> bool:
    """Whether an unprivileged user can run this venv's prunerr: the venv, the repository and the
    interpreter's own files must be readable by others (a pyenv build under a private /root is
    not: its libpython cannot be loaded)."""
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(PRUNERR), "--version"],
        env={"PATH": os.environ["PATH"]},
        cwd="/",
        capture_output=True,
        timeout=60,
    )
    return probe.returncode == 0


@as_root
def test_entrypoint_serves_the_api_as_puid_with_an_empty_rules_directory(box):
    if not runs_as_another_user():
        pytest.skip("this venv's prunerr or its interpreter cannot be run by another user")
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "PORT": str(port),
        "PRUNERR_DATA_DIR": str(box / "config"),
        "PRUNERR_RULES_DIR": str(box / "config" / "rules.d"),
        "PRUNERR_SYSROOT": str(box),
        "PUID": "12345",
        "PGID": "12346",
    }
    server = subprocess.Popen(
        ["sh", str(box / "entrypoint.sh"), str(PRUNERR), "serve"],
        env=env,
        cwd=box,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        probe = wait_for_health(env, server)
    finally:
        server.send_signal(signal.SIGTERM)  # the entrypoint exec'd: the signal reaches prunerr
        output, _ = server.communicate(timeout=20)
    assert probe.returncode == 0, output
    assert server.returncode == 0, output
    assert owner(box / "config" / "prunerr.db") == (12345, 12346)


def test_healthcheck_passes_against_a_running_server(tmp_path):
    port = free_port()
    (tmp_path / "rules.d").mkdir()
    env = {
        **os.environ,
        "PORT": str(port),
        "PRUNERR_DATA_DIR": str(tmp_path),
        "PRUNERR_RULES_DIR": str(tmp_path / "rules.d"),
        "HTTP_PROXY": "http://127.0.0.1:9",  # the probe must not go through a proxy
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "prunerr", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        probe = wait_for_health(env, server)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    assert probe.returncode == 0, probe.stdout
    # no service is configured, so the API reports "unhealthy", yet the process is alive
    assert probe.stdout == f"http://127.0.0.1:{port}/api/health: HTTP 200, services unhealthy\n"


def test_healthcheck_fails_on_a_closed_port():
    probe = subprocess.run(
        [sys.executable, "-m", "prunerr.healthcheck"],
        env={**os.environ, "PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.returncode == 1
    assert len(probe.stdout.splitlines()) == 1


def test_healthcheck_fails_on_an_error_status():
    class Failing(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(503)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        alive, line = check(str(server.server_address[1]))
    finally:
        server.shutdown()
    assert not alive
    assert line.endswith("HTTP 503")


# --- the Dockerfile and compose files, read statically ---


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined, comments left out."""
    text = (REPO / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    result = []
    for line in joined.splitlines():
        if line.strip():
            name, _, args = line.strip().partition(" ")
            result.append((name.upper(), " ".join(args.split())))
    return result


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last_from:]


def image_env() -> dict[str, str]:
    env = {}
    for name, args in final_stage():
        if name == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def setting_envs() -> set[str]:
    schema = PluginHost.create().config_schema()
    return {s.env for s in schema.settings.values() if s.env}


def service_envs() -> set[str]:
    schema = PluginHost.create().config_schema()
    return {f.env for kind in schema.services.values() for f in kind.fields if f.env}


ENTRYPOINT_VARS = {"PUID", "PGID", "UMASK"}


def newest_supported_python() -> str:
    """The newest Python version that setup.cfg declares, e.g. "3.13"."""
    versions = re.findall(r"Programming Language :: Python :: (3\.\d+)$", setup_cfg(), re.M)
    return max(versions, key=lambda version: int(version.split(".")[1]))


def setup_cfg() -> str:
    return (REPO / "setup.cfg").read_text()


def test_dockerfile_builds_on_the_newest_supported_python_slim_with_every_extra():
    steps = instructions()
    image = f"python:{newest_supported_python()}-slim"
    assert [args.split()[0] for name, args in steps if name == "FROM"] == [image, image]
    assert f"The image is `{image}`" in (REPO / "docs" / "install.md").read_text()
    runs = " ".join(args for name, args in steps if name == "RUN")
    assert 'pip install ".[postgres,redis,apprise]"' in runs
    assert all(f"\n{extra} =" in setup_cfg() for extra in ("postgres", "redis", "apprise"))


def test_dockerfile_runs_prunerr_serve_through_the_entrypoint_with_a_healthcheck():
    steps = dict(final_stage()[1:])  # each instruction once in the final stage
    assert steps["EXPOSE"] == "3000"
    assert steps["VOLUME"] == "/config"
    assert "USER" not in steps  # root only until the entrypoint drops to PUID:PGID
    assert json.loads(steps["CMD"]) == ["prunerr", "serve"]
    (entry,) = json.loads(steps["ENTRYPOINT"])
    copies = [args for name, args in final_stage() if name == "COPY"]
    assert f"--chmod=0755 docker/entrypoint.sh /usr/local/bin/{entry}" in copies
    options, _, command = steps["HEALTHCHECK"].partition(" CMD ")
    assert json.loads(command) == ["python", "-m", "prunerr.healthcheck"]  # exec form
    assert "--timeout=15s" in options  # above the probe's own timeout
    # the example rules are in the package (`prunerr rules init`), not seeded into /config
    assert not any(args.split()[0] == "rules.d" for args in copies)
    assert "SEED" not in ENTRYPOINT.read_text()


def test_image_env_names_real_settings_and_keeps_state_in_the_volume():
    env = image_env()
    settings = setting_envs()
    entrypoint_text = ENTRYPOINT.read_text()
    for name, value in env.items():
        if name in ENTRYPOINT_VARS:
            assert f"{name}=${{{name}:-{value}}}" in entrypoint_text  # same default
        elif value.startswith("/") and name != "PATH":
            assert name in settings, f"{name} is not a setting"
            assert value.startswith("/config"), f"{name} is outside the volume"
        elif name.startswith("PRUNERR_") or name in ("PORT", "TZ"):
            assert name in settings
    config = PluginHost.create().load_config({k: v for k, v in env.items() if k in settings})
    assert str(config.data_dir) == "/config"
    assert config["rules_dir"] == "/config/rules.d"
    assert config["port"] == 3000
    assert config.sources["data_dir"] == "PRUNERR_DATA_DIR"


def test_dockerignore_keeps_what_the_image_is_built_from():
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["setup.cfg", "pyproject.toml", "README.md", "prunerr", "grammar", "plugins"]
    needed += ["rules.d", "docker", "docker/entrypoint.sh"]
    for path in needed:
        assert not any(fnmatch(path, p.removeprefix("**/")) for p in patterns), path


def compose(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text())


def assert_known_env(environment: dict) -> None:
    known = setting_envs() | service_envs() | ENTRYPOINT_VARS
    for name in environment:
        assert name in known or name.removesuffix("_FILE") in known, name


def test_compose_default_is_one_container_with_config_volume_and_healthcheck():
    (service,) = compose("docker-compose.yml")["services"].values()
    assert service["volumes"] == ["./config:/config"]
    assert service["ports"] == ["3000:3000"]
    assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "prunerr.healthcheck"]
    environment = service["environment"]
    assert "PRUNERR_DATABASE_URL" not in environment  # SQLite in /config
    assert environment["PRUNERR_API_KEY"].startswith("${PRUNERR_API_KEY:?")  # from .env
    assert_known_env(environment)


def test_compose_scaled_runs_the_api_and_two_workers_on_postgres_and_redis():
    base = compose("docker-compose.yml")["services"]
    services = compose("docker/compose.scaled.yml")["services"]
    api_env = {**base["prunerr"]["environment"], **services["prunerr"]["environment"]}
    worker = services["worker"]
    for environment in (api_env, worker["environment"]):
        assert environment["PRUNERR_DATABASE_URL"].startswith("postgres://")
        assert environment["PRUNERR_DATABASE_URL"].endswith("@postgres:5432/prunerr")
        assert environment["PRUNERR_QUEUE_URL"] == "redis://redis:6379/0"
        assert_known_env(environment)
    assert "PRUNERR_API_KEY" in api_env
    # exactly one consumer schedules the periodic jobs: the API's (the image's default command)
    assert "command" not in base["prunerr"] and "command" not in services["prunerr"]
    assert worker["command"] == ["prunerr", "worker", "--no-periodic"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["volumes"] == base["prunerr"]["volumes"]  # the same rules.d
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
        for client in (services["prunerr"], worker):
            assert client["depends_on"][name] == {"condition": "service_healthy"}
