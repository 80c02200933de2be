"""The original's sections of `GET /api/settings`, which its web client reads to show each
service as configured and its schedules as on, built from the configuration as shown (secrets
masked: the original sent them in clear); and the changes a `PUT /api/settings` in its shape
makes, as its client sends the whole object back."""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from prunerr.config import Config
from prunerr.config.settings import Refused

# the original's service -> (this project's kind, its secret's field here, its name there);
# Tracearr and Unraid are not supported, so never configured
SERVICES = {
    "plex": ("plex", "token", "token"),
    "tautulli": ("tautulli", "api_key", "apiKey"),
    "tracearr": None,
    "sonarr": ("sonarr", "api_key", "apiKey"),
    "radarr": ("radarr", "api_key", "apiKey"),
    "overseerr": ("seerr", "api_key", "apiKey"),
    "unraid": None,
}
HISTORY_PROVIDERS = ("tautulli", "plex")  # the kinds whose plays can count, in the default order


def sections(shown: Mapping[str, object]) -> dict[str, object]:
    """The original's sections, from `Config.public()`: each service's first instance (an
    unconfigured one is `{}`), whether schedules and Discord are on, the webhooks."""
    services: dict[str, dict] = {}
    for name, spec in SERVICES.items():
        first = _first(shown, spec[0]) if spec else None
        services[name] = {} if first is None else {"url": first["url"], spec[2]: first[spec[1]]}
    discord = _first(shown, "discord")
    return {
        "services": services,
        "notifications": {
            "discordEnabled": discord is not None,
            **({"discordWebhook": discord["webhook_url"]} if discord else {}),
        },
        "schedule": {
            "enabled": shown["evaluation_schedule"] is not None,
            "autoProcess": shown["processing_schedule"] is not None,
            **_period(shown["evaluation_schedule"]),
        },
        "plexSync": {
            "enabled": shown["sync_schedule"] is not None,
            **_period(shown["sync_schedule"]),
        },
        "display": {},
        "watchHistory": _history(shown),
        "diskPressure": {"enabled": False},
        "exclusionPatterns": [],
        "excludedLibraryKeys": [],
        "webhooks": [
            {
                "id": hook["name"],
                "name": hook["name"],
                "url": hook["url"],
                "events": sorted(hook.get("events") or ()),
                "enabled": True,
            }
            for hook in shown.get("webhook") or []
        ],
    }


def _period(cron: object) -> dict[str, object]:
    """The original's `interval`, `time` and `dayOfWeek` of a cron schedule, when they can say
    it (`M * * * *`, `M H * * *`, `M H * * D`); {} for any other."""
    fields = str(cron).split() if cron is not None else []
    if len(fields) != 5 or fields[2:4] != ["*", "*"] or not fields[0].isdigit():
        return {}
    minute, hour, day = int(fields[0]), fields[1], fields[4]
    if hour == "*" and day == "*":
        return {"interval": "hourly", "time": f"00:{minute:02}"}
    if not hour.isdigit():
        return {}
    time = f"{int(hour):02}:{minute:02}"
    if day == "*":
        return {"interval": "daily", "time": time}
    if day.isdigit() and int(day) <= 6:
        return {"interval": "weekly", "time": time, "dayOfWeek": int(day)}
    return {}


# why a section of the original's settings cannot be changed here
ELSEWHERE = {
    "services": "services are configured in the environment or prunerr.yaml (PLEX_URL, "
    "PLEX_TOKEN, RADARR_URL, ...: docs/configuration.md), not through the API",
    "notifications": "notifiers are configured in the environment or prunerr.yaml "
    "(DISCORD_WEBHOOK_URL, WEBHOOK_URL, ...: docs/configuration.md)",
    "webhooks": "webhooks are configured in the environment or prunerr.yaml (WEBHOOK_URL, "
    "WEBHOOK_SECRET, ...: docs/configuration.md)",
    "watchHistory": "the source of plays is the watch_history setting (PRUNERR_WATCH_HISTORY "
    "or prunerr.yaml)",
    "display": "Prunerr keeps no display preferences",
    "diskPressure": "Prunerr has no disk-pressure mode: rules decide what is deleted",
    "exclusionPatterns": "write a protect rule in rules.d instead (docs/rules.md): every "
    "evaluation and every deletion checks it",
    "excludedLibraryKeys": "scope the rules with `libraries:` or write a protect rule in "
    "rules.d instead (docs/rules.md)",
}
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def changes(sent: Mapping[str, object], config: Config) -> dict[str, object]:
    """The settings a `PUT /api/settings` body changes: this project's keys and the original's
    `schedule` and `plexSync` sections, wherever they differ from what GET shows (a value sent
    back as it was shown is no change; empty values count as left out, as in the original).
    Raises Refused for a change that cannot be made through the API."""
    shown = msgspec.json.decode(msgspec.json.encode(config.public()))  # as GET sent it
    current = sections(shown)
    changed: dict[str, object] = {}
    for key, value in sent.items():
        if key in current:
            changed.update(_section(key, cleaned(value), cleaned(current[key]), config))
        elif key not in shown or shown[key] != value:
            changed[key] = value
    return changed


def cleaned(value: object) -> object:
    """The value with empty strings and nulls left out of its objects (what the original
    skips)."""
    if isinstance(value, Mapping):
        return {k: cleaned(v) for k, v in value.items() if v not in ("", None)}
    return value


# the sections that set schedules: the setting of each, and the fields they take
_FORM = ("interval", "time", "dayOfWeek")
SCHEDULES = {
    "schedule": ("evaluation_schedule", ("enabled", *_FORM, "autoProcess")),
    "plexSync": ("sync_schedule", ("enabled", *_FORM)),
}


def _section(name: str, sent: object, current: object, config: Config) -> dict[str, object]:
    """The schedules a changed section sets; a refusal for any other section."""
    if sent == current:
        return {}
    if name not in SCHEDULES:
        raise Refused(f"{name}{_where(sent, current)}", ELSEWHERE[name], conflict=True)
    if not isinstance(sent, Mapping) or not isinstance(current, Mapping):
        raise Refused(name, "expected an object")
    setting, fields = SCHEDULES[name]
    section = {**current, **sent}  # a field left out is as it was
    unknown = sorted(k for k in section if k not in fields and section[k] != current.get(k))
    if unknown:
        raise Refused(f"{name}.{unknown[0]}", "is not a setting of Prunerr's", conflict=True)
    schedule = config[setting]
    form = {k: section[k] for k in _FORM if k in section}
    if form != _period(schedule):  # checked even when turned off: a wrong value is an error
        schedule = _cron(section, name)
    wanted = {setting: _unless_off(section, name, "enabled", setting, schedule, config)}
    if "autoProcess" in fields:
        processing = config["processing_schedule"]
        wanted["processing_schedule"] = _unless_off(
            section, name, "autoProcess", "processing_schedule", processing, config
        )
    return {k: v for k, v in wanted.items() if v != config[k]}


def _unless_off(
    section: Mapping, name: str, field: str, setting: str, schedule: object, config: Config
) -> object:
    """The schedule, None when the section's flag turns it off; the setting's default when
    the flag turns on a schedule that was off."""
    on = section.get(field)
    if not isinstance(on, bool):
        raise Refused(f"{name}.{field}", f"expected true or false, got {on!r}")
    if not on:
        return None
    return config.schema.settings[setting].default if schedule is None else schedule


def _where(sent: object, current: object) -> str:
    """`.plex.url`: the first field where two sections differ ('' when they are no objects)."""
    if not isinstance(sent, Mapping) or not isinstance(current, Mapping):
        return ""
    for key in sorted({*sent, *current}, key=str):
        if sent.get(key) != current.get(key):
            return f".{key}{_where(sent.get(key), current.get(key))}"
    return ""


def _cron(section: Mapping, name: str) -> str:
    """The cron schedule of the original's `interval`, `time` ("HH:MM") and `dayOfWeek` (0-6,
    Sunday 0), in TZ as the original meant it."""
    interval = section.get("interval")
    if interval not in ("hourly", "daily", "weekly"):
        raise Refused(f"{name}.interval", f"expected hourly, daily or weekly, got {interval!r}")
    match = _TIME.fullmatch(str(section.get("time", "")))
    if match is None:
        raise Refused(f"{name}.time", f"expected a time HH:MM, got {section.get('time')!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    day = section.get("dayOfWeek")
    if (interval == "weekly" or day is not None) and (
        isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6
    ):
        raise Refused(f"{name}.dayOfWeek", f"expected 0 (Sunday) to 6, got {day!r}")
    if interval == "hourly":
        return f"{minute} * * * *"
    if interval == "daily":
        return f"{minute} {hour} * * *"
    return f"{minute} {hour} * * {day}"


def _first(shown: Mapping[str, object], kind: str) -> Mapping | None:
    instances = shown.get(kind) or []
    return instances[0] if instances else None


def _history(shown: Mapping[str, object]) -> dict[str, str]:
    """`{provider}`: the kind of the service whose plays count, when one is configured."""
    chosen = shown["watch_history"]
    for kind in HISTORY_PROVIDERS:
        for instance in shown.get(kind) or []:
            if chosen is None or instance["name"] == chosen:
                return {"provider": kind}
    return {}


_SERVICE = {
    "type": "object",
    "properties": {
        "url": {"type": "string"},
        "token": {"type": "string", "description": "masked"},
        "apiKey": {"type": "string", "description": "masked"},
    },
    "additionalProperties": False,
}
SCHEMA = {
    "type": "object",
    "description": "This project's settings (secrets masked), with the original's sections "
    "beside them: `services` (each service's first instance, `{}` when not configured), "
    "`notifications`, `schedule`, `plexSync`, `display`, `watchHistory`, `diskPressure`, "
    "`exclusionPatterns`, `excludedLibraryKeys`, `webhooks`",
    "required": [
        "services",
        "notifications",
        "schedule",
        "plexSync",
        "display",
        "watchHistory",
        "diskPressure",
        "exclusionPatterns",
        "excludedLibraryKeys",
        "webhooks",
    ],
    "properties": {
        "services": {
            "type": "object",
            "required": list(SERVICES),
            "properties": {name: _SERVICE for name in SERVICES},
            "additionalProperties": False,
        },
        "notifications": {"type": "object"},
        "schedule": {"type": "object"},
        "plexSync": {"type": "object"},
        "watchHistory": {"type": "object"},
        "webhooks": {"type": "array", "items": {"type": "object"}},
    },
}

_PERIOD = {
    "enabled": {"type": "boolean"},
    "interval": {"enum": ["hourly", "daily", "weekly"]},
    "time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
    "dayOfWeek": {"type": "integer", "minimum": 0, "maximum": 6, "description": "Sunday: 0"},
}
PUT_SECTIONS = {
    "schedule": {
        "type": "object",
        "description": "The evaluation schedule, and `autoProcess`: the processing schedule on",
        "properties": {**_PERIOD, "autoProcess": {"type": "boolean"}},
    },
    "plexSync": {
        "type": "object",
        "description": "The library sync's schedule",
        "properties": _PERIOD,
    },
}
