"""The one effective configuration every component reads.

Sources, highest first: environment variables (and `NAME_FILE` for secrets), the optional YAML file
`prunerr.yaml` in the data directory, settings stored in the database, defaults. Plugins declare
their services' keys through `prunerr_config_schema`. Invalid values fail at start-up with a
message naming the key; secrets are never shown.

Services may have several instances. The environment variables of a service (`RADARR_URL`,
`RADARR_API_KEY`) configure the instance named after the service (`radarr`); more instances come
from the YAML file:

    radarr:
      - name: radarr-4k
        url: http://radarr4k:7878
        api_key: 0123456789abcdef0123456789abcdef
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIG_FILE = "prunerr.yaml"
MASK = "********"


class ConfigError(ValueError):
    """The configuration is unusable; the message names the key and the source."""


def _text(value: object) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("expected a string")
    return str(value)


def _url(value: object) -> str:
    text = _text(value).strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _port(value: object) -> int:
    text = _text(value).strip()
    port = int(text) if text.isdigit() else 0
    if not 0 < port < 65536:
        raise ValueError("expected a port number from 1 to 65535")
    return port


def _count(value: object) -> int:
    text = _text(value).strip()
    # ASCII only: str.isdigit() also takes "²", which int() refuses
    if not (text.isascii() and text.isdigit()):
        raise ValueError("expected a whole number, 0 or more")
    return int(text)


def _days(value: object) -> int:
    from prunerr.rules.model import MAX_GRACE_DAYS

    days = _count(value)
    if days > MAX_GRACE_DAYS:
        raise ValueError(f"expected a whole number of days from 0 to {MAX_GRACE_DAYS}")
    return days


_SIZE = re.compile(r"(\d+)\s*(b|kb|mb|gb|kib|mib|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}


def _bytes(value: object) -> int:
    match = _SIZE.fullmatch(_text(value).strip())
    if not match or not match.group(1).isascii():
        raise ValueError("expected a size in bytes, or with a unit: 4MiB, 500KB")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def _share(value: object) -> float:
    try:
        share = float(_text(value).strip().rstrip("%")) / (100 if "%" in str(value) else 1)
    except ValueError:
        share = -1.0
    if not 0 < share <= 1:
        raise ValueError("expected a share above 0 and at most 1 (0.25 or 25%)")
    return share


def _zone(value: object) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = _text(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r} (e.g. Europe/Paris, UTC)") from None
    return text


def _cron(value: object) -> str | None:
    """A cron expression, or None for `off` (YAML reads a bare `off` as false)."""
    from croniter import croniter

    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return None
    text = " ".join(_text(value).split())
    if not croniter.is_valid(text):
        raise ValueError("expected a cron expression such as '0 3 * * *', or off")
    return text


def _action(value: object) -> str:
    from prunerr.rules.model import DELETION_ACTIONS

    text = _text(value).strip()
    if text not in DELETION_ACTIONS:
        raise ValueError(f"expected one of {', '.join(DELETION_ACTIONS)}")
    return text


SYNC_ON_START = ("stale", "always", "never")


def _sync_on_start(value: object) -> str:
    text = _text(value).strip().lower()
    if text not in SYNC_ON_START:
        raise ValueError(f"expected one of {', '.join(SYNC_ON_START)}")
    return text


PARSERS: dict[str, Callable[[object], object]] = {
    "text": _text,
    "url": _url,
    "bool": _bool,
    "port": _port,
    "count": _count,
    "days": _days,
    "bytes": _bytes,
    "share": _share,
    "cron": _cron,
    "zone": _zone,
    "action": _action,
    "sync_on_start": _sync_on_start,
}


# kinds whose values have no natural upper end: each such setting declares its bounds
BOUNDED = {"count": "a whole number", "bytes": "a size in bytes"}


@dataclass(frozen=True)
class Setting:
    """A configuration key. Settings of a kind in BOUNDED declare their range (`minimum`,
    default 0, and `maximum`), checked wherever a value comes from."""

    key: str
    description: str
    env: str | None = None
    default: object = None
    kind: str = "text"  # a key of PARSERS
    secret: bool = False
    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.kind in BOUNDED and self.maximum is None:
            raise ValueError(f"setting {self.key!r}: a {self.kind} setting declares a maximum")

    def parse(self, value: object) -> object:
        parsed = PARSERS[self.kind](value)
        if self.kind in BOUNDED and not self.low <= parsed <= self.maximum:
            raise ValueError(f"expected {self.accepted}")
        return parsed

    @property
    def low(self) -> int:
        return self.minimum or 0

    @property
    def accepted(self) -> str:
        """The accepted values, for messages: `a whole number from 0 to 100`."""
        return f"{BOUNDED[self.kind]} from {self.low} to {self.maximum}"


@dataclass(frozen=True)
class ServiceKind:
    """A plugin's service type: its per-instance keys, each optionally read from env, and the
    roles its services play (media_server, library_manager, watch_history, requests)."""

    name: str
    description: str
    fields: tuple[Setting, ...]
    roles: tuple[str, ...] = ()


CORE_SETTINGS = (
    Setting(
        "data_dir",
        "Directory for the database, queue, logs and prunerr.yaml.",
        "PRUNERR_DATA_DIR",
        "./data",
    ),
    Setting(
        "database_url",
        "sqlite:///PATH or postgres://user@host/db; default: SQLite in the data directory.",
        "PRUNERR_DATABASE_URL",
        None,
        secret=True,
    ),
    Setting(
        "queue_url",
        "redis://host:6379/0 for Redis; default: SQLite in the data directory.",
        "PRUNERR_QUEUE_URL",
        None,
        secret=True,
    ),
    Setting("rules_dir", "Directory of rule files.", "PRUNERR_RULES_DIR", "rules.d"),
    Setting("port", "Port of the HTTP API.", "PORT", 3000, "port"),
    Setting(
        "api_key",
        "API key; generated on first start when unset.",
        "PRUNERR_API_KEY",
        None,
        secret=True,
    ),
    Setting(
        "dry_run",
        "Record what processing would do without changing anything.",
        "PRUNERR_DRY_RUN",
        False,
        "bool",
    ),
    Setting("tz", "Time zone of schedules.", "TZ", "UTC", "zone"),
    Setting(
        "default_grace_days",
        "Grace period, in days, of items queued by hand when the request names none.",
        "PRUNERR_DEFAULT_GRACE_DAYS",
        7,
        "days",
    ),
    Setting(
        "default_deletion_action",
        "Deletion action of items queued by hand when the request names none.",
        "PRUNERR_DEFAULT_DELETION_ACTION",
        "unmonitor_and_delete",
        "action",
    ),
    Setting(
        "max_deletions_per_run",
        "At most this many deletions per processing run; the rest wait for the next run.",
        "PRUNERR_MAX_DELETIONS_PER_RUN",
        100,
        "count",
        maximum=1_000_000,
    ),
    Setting(
        "max_gb_per_run",
        "At most this many GB (10^9 bytes) deleted per processing run.",
        "PRUNERR_MAX_GB_PER_RUN",
        2000,
        "count",
        maximum=1_000_000_000,
    ),
    Setting(
        "max_attempts",
        "Attempts at a failing or partial deletion before it is marked failed.",
        "PRUNERR_MAX_ATTEMPTS",
        5,
        "count",
        maximum=100,
    ),
    Setting(
        "circuit_breaker",
        "Largest share of a rule's candidates one evaluation may queue without confirmation.",
        "PRUNERR_CIRCUIT_BREAKER",
        0.25,
        "share",
    ),
    Setting(
        "release_unmatched",
        "Release queued items whose rule no longer matches them (false: keep them queued).",
        "PRUNERR_RELEASE_UNMATCHED",
        True,
        "bool",
    ),
    Setting(
        "sync_schedule",
        "When the library sync runs (cron, in TZ; off: only when asked).",
        "PRUNERR_SYNC_SCHEDULE",
        "0 */6 * * *",
        "cron",
    ),
    Setting(
        "sync_on_start",
        "Sync the library when Prunerr starts: stale (when the last successful sync is older "
        "than the sync schedule's interval), always, or never (wait for the schedule).",
        "PRUNERR_SYNC_ON_START",
        "stale",
        "sync_on_start",
    ),
    Setting(
        "evaluation_schedule",
        "When enabled rules without a schedule of their own are evaluated (cron, in TZ; off: "
        "only when asked).",
        "PRUNERR_EVALUATION_SCHEDULE",
        "30 3 * * *",
        "cron",
    ),
    Setting(
        "processing_schedule",
        "When queued items past their grace period are deleted (cron, in TZ; off: only when "
        "asked, and no reminders).",
        "PRUNERR_PROCESSING_SCHEDULE",
        "0 4 * * *",
        "cron",
    ),
    Setting(
        "reminder_days",
        "Send a reminder this many days before queued items are deleted (0: none).",
        "PRUNERR_REMINDER_DAYS",
        1,
        "days",
    ),
    Setting(
        "watch_history",
        "Name of the service whose play history counts; default: a "
        "dedicated history service (Tautulli) when configured, else the media server's.",
        "PRUNERR_WATCH_HISTORY",
        None,
    ),
    Setting(
        "max_request_body",
        "Largest request body the HTTP API reads (bytes, or with a unit: 4MiB); larger is a 413.",
        "PRUNERR_MAX_REQUEST_BODY",
        4 * 2**20,
        "bytes",
        minimum=1024,
        maximum=2**30,
    ),
)


@dataclass
class ConfigSchema:
    """What `prunerr_config_schema` hooks receive: declare settings and service kinds."""

    settings: dict[str, Setting] = field(default_factory=dict)
    services: dict[str, ServiceKind] = field(default_factory=dict)

    def setting(self, setting: Setting) -> None:
        if setting.key in self.settings:
            raise ValueError(f"setting {setting.key!r} is declared twice")
        self.settings[setting.key] = setting

    def service(self, kind: ServiceKind) -> None:
        if kind.name in self.services:
            raise ValueError(f"service kind {kind.name!r} is declared twice")
        self.services[kind.name] = kind

    @classmethod
    def core(cls) -> ConfigSchema:
        schema = cls()
        for setting in CORE_SETTINGS:
            schema.setting(setting)
        return schema


# a URL anywhere in a text, and the query parameters whose values look secret (apikey, api_key,
# token, X-Plex-Token, access_token, password, secret, signature, session...)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_SECRET_NAME = re.compile(r"key|token|secret|pass|pwd|auth|sig|session|credential|cookie|jwt")
_HOST_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(:\d*)?")


def mask_url(text: str) -> str:
    """`text` with every URL in it shown safely: the user info (`user:password@`) and the values
    of secret-looking query (and fragment) parameters replaced by MASK. What shows configuration
    (`prunerr config`, `GET /api/settings`) and messages that name a service URL use it."""
    return _URL.sub(lambda match: _mask_one(match.group()), text)


def _mask_one(url: str) -> str:
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    authority = head.split("/", 1)[0]
    if "@" in authority:
        head = MASK + head[authority.rfind("@") :]
    elif "@" in head and not _HOST_PORT.fullmatch(authority):
        # a password holding `/` (unescaped) ends the authority early: `user:pa/ss@host`
        head = MASK + head[head.rfind("@") :]
    return f"{scheme}://{head}{mask_query(tail)}"


def mask_query(query: str) -> str:
    """A query string (`?a=1&token=…`) with the values of secret-looking parameters masked."""
    return re.sub(r"[^?#]+", _mask_parameters, query)


def _mask_parameters(match: re.Match) -> str:
    pairs = re.split(r"([&;])", match.group())
    for i in range(0, len(pairs), 2):
        name, equals, _ = pairs[i].partition("=")
        normalized = re.sub(r"[-_.]|%[0-9A-Fa-f]{2}", "", name).lower()
        if equals and _SECRET_NAME.search(normalized):
            pairs[i] = f"{name}={MASK}"
    return "".join(pairs)


def _shown(value: object) -> object:
    """A non-secret configuration value as it may be shown: URLs in it masked."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, list | tuple):
        return type(value)(_shown(v) for v in value)
    return value


def _env(env: Mapping[str, str], name: str) -> str | None:
    """`NAME`, or the contents of the file named by `NAME_FILE` (Docker secrets). Empty counts
    as unset: Compose's `${VAR}` and CI secrets leave variables empty rather than absent."""
    direct, path = env.get(name) or None, env.get(name + "_FILE") or None
    if direct is not None and path is not None:
        raise ConfigError(f"{name} and {name}_FILE are both set; use one")
    if path is None:
        return direct
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None


@dataclass
class Config:
    values: dict[str, object]
    sources: dict[str, str]
    instances: dict[str, list[dict[str, object]]]
    schema: ConfigSchema

    def __getitem__(self, key: str) -> object:
        return self.values[key]

    @property
    def data_dir(self) -> Path:
        return Path(str(self.values["data_dir"]))

    def public(self) -> dict[str, object]:
        """Every value with secrets masked, and credentials in URLs (`mask_url`): what logs,
        `prunerr config` and the API show."""
        shown: dict[str, object] = {}
        for key, value in self.values.items():
            secret = self.schema.settings[key].secret
            shown[key] = MASK if secret and value is not None else _shown(value)
        for kind, instances in self.instances.items():
            fields = {f.key: f for f in self.schema.services[kind].fields}
            shown[kind] = [
                {
                    k: MASK if fields.get(k) and fields[k].secret and v is not None else _shown(v)
                    for k, v in instance.items()
                }
                for instance in instances
            ]
        return shown

    @classmethod
    def load(
        cls,
        schema: ConfigSchema | None = None,
        env: Mapping[str, str] | None = None,
        stored: Mapping[str, object] | None = None,
    ) -> Config:
        """Resolve the configuration; `stored` holds settings saved in the database."""
        schema = schema or ConfigSchema.core()
        env = os.environ if env is None else env
        stored = stored or {}
        values: dict[str, object] = {}
        sources: dict[str, str] = {}

        data_setting = schema.settings["data_dir"]
        data_dir = _env(env, data_setting.env) or data_setting.default
        file = _YamlFile.read(Path(str(data_dir)) / CONFIG_FILE)
        file_values = file.data

        for key, setting in schema.settings.items():
            raw, source = setting.default, "default"
            if key in stored:
                raw, source = stored[key], "database"
            if key in file_values:
                raw, source = file_values[key], CONFIG_FILE
            from_env = _env(env, setting.env) if setting.env else None
            if from_env is not None:
                raw, source = from_env, setting.env
            try:
                values[key] = None if raw is None else setting.parse(raw)
            except ValueError as exc:
                if source == CONFIG_FILE:
                    raise ConfigError(f"{file.at(key)}: {key}: {exc}") from None
                raise ConfigError(f"{key} (from {source}): {exc}") from None
            sources[key] = source

        instances: dict[str, list[dict[str, object]]] = {}
        for kind in schema.services.values():
            instances[kind.name] = cls._instances(kind, file_values.get(kind.name), env, file)
        known = [*schema.settings, *schema.services]
        for key in file_values:
            if key not in known:
                raise ConfigError(
                    f"{file.at(key, key=True)}: unknown key {key!r}{_near(key, known)}"
                )
        return cls(values, sources, instances, schema)

    @staticmethod
    def _instances(
        kind: ServiceKind, listed: object, env: Mapping[str, str], file: _YamlFile | None = None
    ) -> list[dict]:
        """The instances of a service kind: the file's list, and the one its environment
        variables configure (merged into the file's entry of the same name). A problem in a
        file entry names its key path and position (`radarr[0].url`), one from the
        environment the instance."""
        file = file or _YamlFile(Path(CONFIG_FILE), {}, {})
        entries = listed or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(
                f"{file.at(kind.name)}: {kind.name}: expected a list of instances "
                f"(- name: ..., {', '.join(f'{f.key}: ...' for f in kind.fields)})"
            )
        by_name: dict[str, dict] = {}
        index: dict[str, int] = {}  # an instance's entry in the file
        for i, entry in enumerate(entries):
            name = str(entry.get("name", kind.name if i == 0 else f"{kind.name}-{i + 1}"))
            if name in by_name:
                at = file.at(kind.name, i, "name") if "name" in entry else file.at(kind.name, i)
                raise ConfigError(f"{at}: {kind.name}[{i}]: two instances named {name!r}")
            by_name[name], index[name] = {**entry, "name": name}, i
        from_env = {f.key: _env(env, f.env) for f in kind.fields if f.env}
        from_env = {k: v for k, v in from_env.items() if v is not None}
        if from_env:
            by_name.setdefault(kind.name, {"name": kind.name}).update(from_env)
        fields = {f.key: f for f in kind.fields}
        result = []
        for name, entry in by_name.items():
            i = index.get(name)
            env_keys = set(from_env) if name == kind.name else set()

            def where(key: str | None, is_key: bool = False, i=i, name=name, env_keys=env_keys):
                """How a problem with `key` (None: the whole entry) is placed."""
                if i is None or key in env_keys:
                    return f"{kind.name} instance {name!r}" + (f": {key}" if key else "")
                keys = (kind.name, i) if key is None else (kind.name, i, key)
                path = f"{kind.name}[{i}]" + (f".{key}" if key else "")
                return f"{file.at(*keys, key=is_key)}: {path} (instance {name!r})"

            instance: dict[str, object] = {"name": name}
            for key, value in entry.items():
                if key == "name":
                    continue
                if key not in fields:
                    if i is None or key in env_keys:
                        raise ConfigError(f"{where(None)}: unknown key {key!r}")
                    raise ConfigError(
                        f"{where(key, True)}: unknown key{_near(key, ['name', *fields])}"
                    )
                try:
                    instance[key] = fields[key].parse(value)
                except ValueError as exc:
                    raise ConfigError(f"{where(key)}: {exc}") from None
            for key, f in fields.items():
                if key not in instance:
                    if f.default is None:
                        hint = f" (set {f.env})" if f.env else ""
                        raise ConfigError(f"{where(None)}: missing {key}{hint}")
                    instance[key] = f.default
            result.append(instance)
        return result


def _near(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _YamlFile:
    """prunerr.yaml's values and where each key and value is written in it, for messages that
    say `FILE:LINE:COLUMN: key.path: problem` (never the line itself: it may hold a secret)."""

    def __init__(self, path: Path, data: dict, marks: dict[tuple, tuple[int, int]]):
        self.path, self.data, self.marks = path, data, marks

    def at(self, *keys: str | int, key: bool = False) -> str:
        """`FILE:LINE:COLUMN` of a value (or, with `key`, of its key), or `FILE` unknown."""
        mark = self.marks.get((keys, key)) or self.marks.get((keys, not key))
        return f"{self.path}:{mark[0]}:{mark[1]}" if mark else str(self.path)

    @classmethod
    def read(cls, path: Path) -> _YamlFile:
        if not path.exists():
            return cls(path, {}, {})
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            marks: dict[tuple, tuple[int, int]] = {}
            if node is not None:
                _walk(path, node, (), marks)
            data = loader.construct_document(node) if node is not None else {}
        except yaml.MarkedYAMLError as exc:
            raise ConfigError(_yaml_problem(path, exc)) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({type(exc).__name__})") from None
        finally:
            loader.dispose()
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}:1:1: expected a mapping of settings (key: value lines)")
        return cls(path, data, marks)


def _position(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _walk(path: Path, node: yaml.Node, keys: tuple, marks: dict) -> None:
    """Record where each key and value under `node` starts; a key given twice is an error
    (PyYAML would quietly keep the last, dropping a whole service's instances, say)."""
    marks[(keys, False)] = _position(node.start_mark)
    if isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _walk(path, child, (*keys, i), marks)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, tuple[int, int]] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            name, at = key_node.value, _position(key_node.start_mark)
            if name in seen:
                shown = ".".join(map(str, (*keys, name))).replace(".[", "[")
                raise ConfigError(
                    f"{path}:{at[0]}:{at[1]}: {shown}: given twice (first on line {seen[name][0]})"
                )
            seen[name] = at
            marks[((*keys, name), True)] = at
            _walk(path, value, (*keys, name), marks)


def _yaml_problem(path: Path, exc: yaml.MarkedYAMLError) -> str:
    """`FILE:LINE:COLUMN: problem (context at LINE:COLUMN)` of a YAML syntax error. Not
    str(exc), which quotes the file's line (a key or a URL, maybe) and names `<unicode
    string>`."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = (exc.problem or "invalid YAML").replace("'<stream end>'", "the end of the file")
    context = ""
    if exc.context:
        at = exc.context_mark
        start = f" from {at.line + 1}:{at.column + 1}" if at and at is not mark else ""
        context = f" ({exc.context}{start})"
    return f"{where}: invalid YAML: {problem}{context}"
