"""The plugin host: a typed facade over pluggy, so the core never calls `pm.hook` untyped."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

import pluggy

from prunerr import hookspecs
from prunerr.config import Config, ConfigSchema
from prunerr.dsl.catalog import CORE, Catalog, DslRegistry
from prunerr.emulation import EmulatorRegistry
from prunerr.sdk import ServiceList

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "prunerr"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    services: dict[str, tuple[str, ...]]  # service kind -> roles
    fields: tuple[str, ...]
    functions: tuple[str, ...]
    emulators: tuple[str, ...]


def _version(plugin: object) -> str:
    module = getattr(plugin, "__name__", type(plugin).__module__).split(".")[0]
    for dist in metadata.packages_distributions().get(module, []):
        return metadata.version(dist)
    return "-"


class PluginHost:
    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    @classmethod
    def create(cls, *, load_entry_points: bool = True) -> PluginHost:
        """A host with every plugin installed in the `prunerr` entry-point group, built-ins
        included (they register through the same group)."""
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        if load_entry_points:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.check_pending()
        return cls(pm)

    def register(self, plugin: object, name: str) -> None:
        self.pm.register(plugin, name=name)
        self.pm.check_pending()

    def plugins(self) -> list[tuple[str, object]]:
        return sorted(self.pm.list_name_plugin(), key=lambda pair: pair[0])

    def describe(self) -> list[PluginInfo]:
        """What each plugin contributes, asked of each plugin on its own."""
        infos = []
        for name, plugin in self.plugins():
            schema, emulators, dsl = ConfigSchema(), EmulatorRegistry(), DslRegistry(name)
            for hook, kwargs in (
                (self.pm.hook.prunerr_config_schema, {"schema": schema}),
                (self.pm.hook.prunerr_register_emulators, {"emulators": emulators}),
                (self.pm.hook.prunerr_register_dsl, {"dsl": dsl}),
            ):
                for impl in hook.get_hookimpls():
                    if impl.plugin_name == name:
                        impl.function(**kwargs)
            infos.append(
                PluginInfo(
                    name,
                    _version(plugin),
                    {kind.name: kind.roles for kind in schema.services.values()},
                    tuple(f.name for f in dsl.fields),
                    tuple(f.name for f in dsl.functions),
                    tuple(emulators.specs),
                )
            )
        return infos

    def catalog(self) -> Catalog:
        """The core catalog plus every plugin's fields and functions."""
        fields, functions = [], []
        for impl in self.pm.hook.prunerr_register_dsl.get_hookimpls():
            registry = DslRegistry(impl.plugin_name)
            impl.function(dsl=registry)
            fields += registry.fields
            functions += registry.functions
        return CORE.extend(fields, functions)

    def config_schema(self) -> ConfigSchema:
        schema = ConfigSchema.core()
        self.pm.hook.prunerr_config_schema(schema=schema)
        return schema

    def load_config(
        self, env: Mapping[str, str] | None = None, stored: Mapping[str, object] | None = None
    ) -> Config:
        return Config.load(self.config_schema(), env, stored)

    def services(self, config: Config) -> ServiceList:
        services = ServiceList()
        self.pm.hook.prunerr_create_services(config=config, services=services)
        return services

    def emulators(self) -> EmulatorRegistry:
        registry = EmulatorRegistry()
        self.pm.hook.prunerr_register_emulators(emulators=registry)
        return registry
