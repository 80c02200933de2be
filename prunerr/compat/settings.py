"""The original's sections of `GET /api/settings`, which its web client reads to show each
service as configured and its schedules as on, built from the configuration as shown (secrets
masked: the original sent them in clear)."""

from __future__ import annotations

from collections.abc import Mapping

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
        },
        "plexSync": {"enabled": shown["sync_schedule"] is not None},
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
