"""Built-in seerr plugin: media requests from Seerr, Overseerr or Jellyseerr (role
RequestTracker), which share the `/api/v1` API."""

from __future__ import annotations

from prunerr.config import Config, ConfigSchema, ServiceKind, Setting
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import ServiceList

from .client import SeerrClient
from .emulator import SeerrEmulator

KIND = "seerr"


@hookimpl
def prunerr_config_schema(schema: ConfigSchema) -> None:
    schema.service(
        ServiceKind(
            KIND,
            "Seerr, Overseerr or Jellyseerr: who requested what.",
            (
                Setting(
                    "url", "Base URL of Seerr (default port 5055).", env="OVERSEERR_URL", kind="url"
                ),
                Setting(
                    "api_key",
                    "API key (Seerr: Settings > General > API Key).",
                    env="OVERSEERR_API_KEY",
                    secret=True,
                ),
            ),
            roles=tuple(sorted(SeerrClient.roles)),
        )
    )


@hookimpl
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    for instance in config.instances.get(KIND, []):
        services.add(
            SeerrClient(str(instance["name"]), str(instance["url"]), str(instance["api_key"]))
        )


@hookimpl
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    emulators.add(
        EmulatorSpec(
            KIND,
            SeerrEmulator,
            lambda url, api_key: {"OVERSEERR_URL": url, "OVERSEERR_API_KEY": api_key},
        )
    )
