"""The plugin host: a typed facade over pluggy, so the core never calls `pm.hook` untyped."""

from __future__ import annotations

import logging

import pluggy

from prunerr import hookspecs
from prunerr.dsl.catalog import CORE, Catalog, DslRegistry

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "prunerr"


class PluginHost:
    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    @classmethod
    def create(cls, *, load_entry_points: bool = True) -> PluginHost:
        """A host with every plugin installed in the `prunerr` entry-point group."""
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        if load_entry_points:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        pm.check_pending()
        return cls(pm)

    def register(self, plugin: object, name: str) -> None:
        self.pm.register(plugin, name=name)
        self.pm.check_pending()

    def catalog(self) -> Catalog:
        """The core catalog plus every plugin's fields and functions."""
        fields, functions = [], []
        for impl in self.pm.hook.prunerr_register_dsl.get_hookimpls():
            registry = DslRegistry(impl.plugin_name)
            impl.function(dsl=registry)
            fields += registry.fields
            functions += registry.functions
        return CORE.extend(fields, functions)
