"""Every hook Prunerr calls. Plugins implement them with `@prunerr.hookspecs.hookimpl`.

Built-in integrations are plugins registered through the same `prunerr` entry-point group a
third-party package uses; each hook is documented in docs/plugins.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from prunerr.dsl.catalog import DslRegistry

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
