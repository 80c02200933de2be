"""The hooks of a built-in plugin with one service kind, from what differs between plugins: the
kind's settings, its client and its emulator. `url_key_plugin` states the common case, a service
configured by a URL and a key (Plex, Tautulli, Seerr, Radarr, Sonarr)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from prunerr.config import Config, ConfigSchema, ServiceKind, Setting
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import Service, ServiceList


@dataclass(frozen=True)
class ServicePlugin:
    """A plugin's hook implementations; the plugin module names them as its own
    (`prunerr_config_schema = PLUGIN.prunerr_config_schema`, ...).

    `client(name, **values)` builds the service of one instance, given each setting's value by
    the setting's key, and its class states the roles. `emulator` names the emulator class as
    `module:Class`, imported only when emulators are registered, so a process that never emulates
    never loads it; `env(url, api_key)` points Prunerr at an emulator."""

    kind: str
    description: str
    settings: tuple[Setting, ...]
    client: type[Service]
    emulator: str
    env: Callable[[str, str], dict[str, str]]

    @hookimpl
    def prunerr_config_schema(self, schema: ConfigSchema) -> None:
        roles = tuple(sorted(self.client.roles))
        schema.service(ServiceKind(self.kind, self.description, self.settings, roles=roles))

    @hookimpl
    def prunerr_create_services(self, config: Config, services: ServiceList) -> None:
        for instance in config.instances.get(self.kind, []):
            values = {setting.key: instance[setting.key] for setting in self.settings}
            services.add(self.client(str(instance["name"]), **values))

    @hookimpl
    def prunerr_register_emulators(self, emulators: EmulatorRegistry) -> None:
        module, _, name = self.emulator.partition(":")
        factory = getattr(importlib.import_module(module), name)
        emulators.add(EmulatorSpec(self.kind, factory, self.env))


def url_key_plugin(
    kind: str, description: str, url: Setting, key: Setting, client: type[Service], emulator: str
) -> ServicePlugin:
    """The plugin of a service configured by a URL and a key, which its emulator takes as is."""
    return ServicePlugin(
        kind,
        description,
        (url, key),
        client,
        emulator,
        lambda emulator_url, api_key: {str(url.env): emulator_url, str(key.env): api_key},
    )
