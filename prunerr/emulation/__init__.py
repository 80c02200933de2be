"""Emulators of the upstream services, fed by one synthetic library (public API for plugins)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
