"""Emulators of the upstream services, fed by one synthetic library (public API for plugins).

Every process imports this module for the registry; the emulator base and the synthetic library
behind the other names load on their first use, so a process that never emulates never loads them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import Emulator, Faults, json_body
    from .synthetic import SyntheticLibrary, generate

__all__ = [
    "Emulator",
    "EmulatorRegistry",
    "EmulatorSpec",
    "Faults",
    "SyntheticLibrary",
    "generate",
    "json_body",
]

_LOADED_ON_USE = {
    "Emulator": "server",
    "Faults": "server",
    "json_body": "server",
    "SyntheticLibrary": "synthetic",
    "generate": "synthetic",
}


def __getattr__(name: str) -> object:
    if name not in _LOADED_ON_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LOADED_ON_USE[name]}", __name__), name)
    globals()[name] = value
    return value


@dataclass(frozen=True)
class EmulatorSpec:
    """How to build one service's emulator; `env(url, api_key)` gives the environment variables
    that point Prunerr at it (e.g. RADARR_URL and RADARR_API_KEY)."""

    service: str
    factory: Callable[[SyntheticLibrary, str, Faults], Emulator]
    env: Callable[[str, str], dict[str, str]]


@dataclass
class EmulatorRegistry:
    specs: dict[str, EmulatorSpec] = field(default_factory=dict)

    def add(self, spec: EmulatorSpec) -> None:
        if spec.service in self.specs:
            raise ValueError(f"two emulators for {spec.service!r}")
        self.specs[spec.service] = spec
