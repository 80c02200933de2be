"""Every hook Prunerr calls. Plugins implement them with `@prunerr.hookspecs.hookimpl`.

Built-in integrations are plugins registered through the same `prunerr` entry-point group a
third-party package uses; each hook is documented in docs/plugins.md (a test checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from prunerr.config import Config, ConfigSchema
    from prunerr.dsl.catalog import DslRegistry
    from prunerr.emulation import EmulatorRegistry
    from prunerr.sdk import ServiceList

PROJECT = "prunerr"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def prunerr_register_dsl(dsl: DslRegistry) -> None:
    """Add fields and functions to the rule language.

    Called once per plugin whenever the catalog is built, with a registry bound to that plugin:
    `dsl.field(...)` and `dsl.function(...)` names must start with the plugin's name and a dot
    (`tautulli.watch_time`). Returns nothing; not firstresult.
    """


@hookspec
def prunerr_config_schema(schema: ConfigSchema) -> None:
    """Declare settings (`schema.setting`) and service kinds with their per-instance keys
    (`schema.service`). Called once before the configuration is loaded. Not firstresult."""


@hookspec
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    """Add a `prunerr.sdk.Service` for every configured instance of the plugin's service kinds
    (`config.instances["radarr"]`) to `services`. Called once per process. Not firstresult."""


@hookspec
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    """Add an emulator factory for each upstream service the plugin talks to, so tests, the demo
    and `prunerr emulate` can run without the real service. Not firstresult."""
