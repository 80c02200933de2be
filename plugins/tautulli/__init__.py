"""Built-in tautulli plugin: Plex watch history from Tautulli's API v2 (role WatchHistory)."""

from prunerr.config import Setting
from prunerr_plugins.wiring import url_key_plugin

from .client import TautulliClient

PLUGIN = url_key_plugin(
    "tautulli",
    "Tautulli: who watched what on Plex, and when.",
    Setting(
        "url",
        "Base URL of Tautulli, with its HTTP root if it has one.",
        env="TAUTULLI_URL",
        kind="url",
    ),
    Setting(
        "api_key",
        "API key (Tautulli: Settings > Web Interface > API).",
        env="TAUTULLI_API_KEY",
        secret=True,
    ),
    TautulliClient,
    "prunerr_plugins.tautulli.emulator:TautulliEmulator",
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
