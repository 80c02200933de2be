"""A synced emulated library for commands run in-process through `prunerr.cli.main`."""

from __future__ import annotations

import pytest

from prunerr.app import Prunerr
from prunerr.plugins import PluginHost
from tests.support import LIBRARY, copy_synced, emulated


@pytest.fixture
def synced(store, database_url, tmp_path, monkeypatch):
    """A Prunerr on `store` holding the emulated library, synced, with an empty rules
    directory; the environment says the same, so `main([...])` runs against it. The stores the
    commands open are closed afterwards."""
    host = PluginHost.create()
    env = {
        "PRUNERR_DATABASE_URL": database_url,
        "PRUNERR_DATA_DIR": str(tmp_path),
        "PRUNERR_RULES_DIR": str(tmp_path / "rules.d"),
        "TZ": "UTC",
    }
    (tmp_path / "rules.d").mkdir()
    opened: list[Prunerr] = []
    from_environment = Prunerr.from_environment.__func__

    def tracked(cls, env=None):
        app = from_environment(cls, env)
        opened.append(app)
        return app

    with emulated(LIBRARY) as (services, _):
        env.update(services)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(Prunerr, "from_environment", classmethod(tracked))
        config = host.load_config(env)
        app = Prunerr(host, config, store=store)
        copy_synced(LIBRARY, store)
        yield app
        for command_app in opened:
            if "store" in command_app.__dict__:
                command_app.store.disconnect()
