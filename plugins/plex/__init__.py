"""Built-in Plex plugin: Plex Media Server as a media server and a watch history."""

from __future__ import annotations

from prunerr.config import Config, ConfigSchema, ServiceKind, Setting
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import ServiceList

from .client import PlexClient
from .emulator import PlexEmulator

KIND = "plex"


@hookimpl
def prunerr_config_schema(schema: ConfigSchema) -> None:
    schema.service(
        ServiceKind(
            KIND,
            "Plex Media Server: libraries, accounts and watch history.",
            (
                Setting(
                    "url",
                    "Base URL of Plex Media Server, e.g. http://plex:32400.",
                    env="PLEX_URL",
                    kind="url",
                ),
                Setting(
                    "token", "X-Plex-Token of the server owner.", env="PLEX_TOKEN", secret=True
                ),
            ),
            roles=tuple(sorted(PlexClient.roles)),
        )
    )


@hookimpl
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    for instance in config.instances.get(KIND, []):
        services.add(
            PlexClient(str(instance["name"]), str(instance["url"]), str(instance["token"]))
        )


@hookimpl
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    emulators.add(
        EmulatorSpec(KIND, PlexEmulator, lambda url, token: {"PLEX_URL": url, "PLEX_TOKEN": token})
    )
