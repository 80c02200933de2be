"""`prunerr doctor`: is everything Prunerr needs there and answering? One line per check (the
configuration, each configured service, the database, the queue, the rules), each problem with
its fix; exit 0 when every check passes, 1 otherwise. A service's check is its own `health()`;
when it fails, the Problem behind it (`prunerr.http.describe_failure`) says which stage failed:
reachable, TLS, the right service, the key."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pony.orm import db_session

from prunerr.config import Config, ConfigError, mask_url
from prunerr.http import HttpClient, recorded_problems
from prunerr.plugins import PluginHost
from prunerr.sdk import Service

STAGES = ("reachable", "tls", "service", "key")  # in the order a connection passes them


@dataclass
class Check:
    """One check's outcome: what was checked, ok or not, in words, and the fix when not ok."""

    check: str  # configuration | service | database | queue | rules
    name: str
    ok: bool
    message: str
    fix: str | None = None
    details: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # what a problem lists (broken rules)


def check_configuration(host: PluginHost) -> tuple[Check, Config | None]:
    try:
        config = host.load_config()
    except ConfigError as exc:
        fix = "correct the file or the environment variable it names"
        return Check("configuration", "configuration", False, str(exc), fix), None
    count = sum(len(instances) for instances in config.instances.values())
    found = (config.data_dir / "prunerr.yaml").exists()
    source = "environment and prunerr.yaml" if found else "environment (no prunerr.yaml)"
    message = f"loaded from the {source}; {count} service{'s' * (count != 1)} configured"
    return Check("configuration", "configuration", True, message), config


def check_service(service: Service) -> Check:
    """The service's `health()`, once (no retries: a doctor reports, it does not wait out a
    restart), with the stages it passed."""
    http = getattr(service, "http", None)
    http = http if isinstance(http, HttpClient) else None
    if http is not None:
        http.retries = 0
    with recorded_problems() as problems:
        try:
            health = service.health()
        except Exception as exc:  # a plugin's bug must not end the other checks
            return Check("service", service.name, False, f"the check failed: {exc!r}", "report it")
    url = http.shown_url if http else None
    app = http.upstream.app if http else None
    if health.ok:
        details = {stage: True for stage in STAGES} if http else {}
        if url:
            details["tls"] = True if url.startswith("https://") else None  # None: not used
        details |= {"url": url, "app": app, "version": health.version, "ms": health.response_ms}
        if http is None:
            return Check("service", service.name, True, health.message, details=details)
        what = " ".join(filter(None, (app, health.version)))
        key = http.upstream.key
        ms = f" ({health.response_ms:.0f} ms)" if health.response_ms is not None else ""
        extra = f"; {health.message}" if health.message.startswith("ok, but") else ""
        message = f"{what} at {url}: reachable, the right service, {key} accepted{ms}{extra}"
        return Check("service", service.name, True, message, details=details)
    problem = problems[-1] if problems else None
    if problem is None:
        return Check("service", service.name, False, health.message, "see the message")
    details = {"url": problem.url, "app": app, "failed": problem.check}
    if problem.check in STAGES:
        failed = STAGES.index(problem.check)
        details |= {stage: (True if i < failed else None) for i, stage in enumerate(STAGES)}
        details[problem.check] = False
        if problem.check != "tls" and not problem.url.startswith("https://") and failed > 1:
            details["tls"] = None
    return Check("service", service.name, False, problem.cause, problem.fix, details)


def check_services(host: PluginHost, config: Config) -> list[Check]:
    try:
        services = host.services(config)
    except (ConfigError, ValueError) as exc:
        return [Check("service", "services", False, str(exc), "correct the configuration")]
    if not services.services:
        fix = "set PLEX_URL and PLEX_TOKEN (and RADARR_URL, SONARR_URL...): docs/install.md"
        return [Check("service", "services", False, "no service is configured", fix)]
    return [check_service(service) for service in services.services]


def check_database(config: Config) -> Check:
    from prunerr.store.database import (
        open_store,
        parse_url,
        schema_version,
        sqlite_file_schema_version,
    )
    from prunerr.store.schema import LATEST

    url = config["database_url"]
    try:
        dialect, args = parse_url(str(url or ""), config.data_dir)
    except ValueError as exc:
        return Check("database", "database", False, str(exc), "correct PRUNERR_DATABASE_URL")
    if dialect.name == "sqlite":
        path = Path(args["filename"])
        if args["filename"] == ":memory:":
            return Check("database", "database", True, "SQLite in memory (nothing is kept)")
        if not path.exists():
            return _creatable(
                "database", path, f"SQLite at {path}: not created yet (the first start does)"
            )
        try:
            version = sqlite_file_schema_version(path)
        except sqlite3.Error as exc:
            fix = "check the file and its permissions; restore it from a backup if damaged"
            return Check("database", "database", False, f"SQLite at {path}: {exc}", fix)
        where = f"SQLite at {path}"
    else:
        where = f"PostgreSQL at {mask_url(str(url))}"
        try:
            store = open_store(str(url), config.data_dir, migrate_to=None)
            try:
                with db_session:
                    version = schema_version(store)
            finally:
                store.disconnect()
        except Exception as exc:
            cause = mask_url(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
            fix = (
                "check the host, port, user, password and database name in "
                "PRUNERR_DATABASE_URL, and that PostgreSQL is running and reachable"
            )
            return Check("database", "database", False, f"{where}: {cause}", fix)
    if version > LATEST:
        message = f"{where}: schema version {version}, newer than this Prunerr's ({LATEST})"
        return Check("database", "database", False, message, "upgrade Prunerr")
    later = f" (the next start migrates it to {LATEST})" if version < LATEST else ""
    return Check("database", "database", True, f"{where}: schema version {version}{later}")


def _creatable(check: str, path: Path, message: str) -> Check:
    """OK when `path` can be created: its nearest existing directory is writable."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if os.access(parent, os.W_OK):
        return Check(check, check, True, message)
    fix = f"make {parent} writable by Prunerr's user, or set PRUNERR_DATA_DIR"
    return Check(check, check, False, f"{path.parent} is not writable", fix)


def check_queue(config: Config) -> Check:
    from prunerr.store.database import read_sqlite_file

    url = config["queue_url"]
    if not url:
        path = (config.data_dir / "queue.db").resolve()
        if not path.exists():
            return _creatable("queue", path, f"SQLite at {path}: not created yet")
        try:
            read_sqlite_file(path)
        except sqlite3.Error as exc:
            fix = "check the file and its permissions; it can be deleted (it holds no history)"
            return Check("queue", "queue", False, f"SQLite at {path}: {exc}", fix)
        return Check("queue", "queue", True, f"SQLite at {path}")
    where = f"Redis at {mask_url(str(url))}"
    try:
        from prunerr.jobs import create_huey

        create_huey(config).storage.conn.ping()
    except Exception as exc:
        fix = "check PRUNERR_QUEUE_URL (redis://host:6379/0) and that Redis is running"
        return Check("queue", "queue", False, f"{where}: {mask_url(str(exc))}", fix)
    return Check("queue", "queue", True, f"{where}: answers")


def check_rules(host: PluginHost, config: Config) -> Check:
    from prunerr.rules import load_rules

    directory = Path(str(config["rules_dir"]))
    source = config.sources["rules_dir"]
    if not directory.is_dir():
        if source == "default":
            message = f"no rules directory at {directory.resolve()}: only API-made rules apply"
            return Check("rules", "rules", True, message)
        fix = f"create it, or correct rules_dir (from {source})"
        return Check("rules", "rules", False, f"{directory} is not a directory", fix)
    result = load_rules([directory], host.catalog())
    if not result.broken:
        count = len(result.rules)
        return Check(
            "rules", "rules", True, f"{count} rule{'s' * (count != 1)} load from {directory}"
        )
    lines = [located.render().splitlines()[0] for located in result.errors]
    broken = len(result.broken)
    message = f"{broken} rule file{'s' * (broken != 1)} in {directory} do not load"
    fix = f"correct them: prunerr rules check {directory} shows each error in place"
    return Check("rules", "rules", False, message, fix, lines=lines)


def run_checks(host: PluginHost) -> list[Check]:
    configuration, config = check_configuration(host)
    if config is None:
        return [configuration]
    return [
        configuration,
        *check_services(host, config),
        check_database(config),
        check_queue(config),
        check_rules(host, config),
    ]


def cmd_doctor(args) -> int:
    checks = run_checks(PluginHost.create())
    ok = all(check.ok for check in checks)
    if args.format == "json":
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2))
        return 0 if ok else 1
    for check in checks:
        label = check.name if check.check in ("service", check.name) else check.check
        if check.ok:
            print(f"ok       {label}: {check.message}")
            continue
        url = check.details.get("url")
        where = f" at {url}" if url else ""
        print(f"PROBLEM  {label}{where}: {check.message}. Fix: {check.fix}")
        for line in check.lines:
            print(f"         {line}")
    return 0 if ok else 1


def register(commands) -> None:
    p = commands.add_parser(
        "doctor",
        help="check the configuration, every service, the database, the queue and the rules",
        description="Check that everything Prunerr needs is there and answering: one line per "
        "check, each problem with its fix. Exit status 0 when every check passes, 1 otherwise.",
        epilog="prunerr doctor\nprunerr doctor --format json",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_doctor)
