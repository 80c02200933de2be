"""The emulator base of the notifier plugins: a receiver that keeps what it is sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from prunerr.emulation import Emulator, Faults, SyntheticLibrary


class Inbox(Emulator):
    """An emulator of a notification receiver: keeps every message it accepts (`received`) and
    hands a readable rendering of each to `printer` as it arrives (the demo prints them)."""

    def __init__(
        self,
        library: SyntheticLibrary,
        api_key: str,
        faults: Faults | None = None,
        *,
        printer: Callable[[str], None] | None = None,
    ):
        self.received: list[Any] = []
        self.printer = printer
        super().__init__(library, api_key, faults)

    def keep(self, message: Any) -> None:
        with self._lock:
            self.received.append(message)
        if self.printer is not None:
            self.printer(self.render(message))

    def render(self, message: Any) -> str:
        raise NotImplementedError


def json_object(raw: bytes) -> Mapping[str, Any] | None:
    """A request body's JSON object, or None when it is not one."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
