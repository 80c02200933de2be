"""Built-in tautulli plugin: Plex watch history from Tautulli's API v2 (role WatchHistory)."""

from __future__ import annotations

from prunerr.config import Config, ConfigSchema, ServiceKind, Setting
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import ServiceList

from .client import TautulliClient
from .emulator import TautulliEmulator

KIND = "tautulli"


@hookimpl
def prunerr_config_schema(schema: ConfigSchema) -> None:
    schema.service(
        ServiceKind(
            KIND,
            "Tautulli: who watched what on Plex, and when.",
            (
                Setting(
                    "url",
                    "Base URL of Tautulli, with its HTTP root if it has one.",
                    env="TAUTULLI_URL",
                    kind="url",
                ),
                Setting(
                    "api_key",
                    "API key (Tautulli: Settings > Web Interface > API).",
                    env="TAUTULLI_API_KEY",
                    secret=True,
                ),
            ),
            roles=tuple(sorted(TautulliClient.roles)),
        )
    )


@hookimpl
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    for instance in config.instances.get(KIND, []):
        services.add(
            TautulliClient(str(instance["name"]), str(instance["url"]), str(instance["api_key"]))
        )


@hookimpl
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    emulators.add(
        EmulatorSpec(
            KIND,
            TautulliEmulator,
            lambda url, api_key: {"TAUTULLI_URL": url, "TAUTULLI_API_KEY": api_key},
        )
    )
