"""Built-in seerr plugin: media requests from Seerr, Overseerr or Jellyseerr (role
RequestTracker), which share the `/api/v1` API."""

from prunerr.config import Setting
from prunerr_plugins.wiring import url_key_plugin

from .client import SeerrClient

PLUGIN = url_key_plugin(
    "seerr",
    "Seerr, Overseerr or Jellyseerr: who requested what.",
    Setting("url", "Base URL of Seerr (default port 5055).", env="OVERSEERR_URL", kind="url"),
    Setting(
        "api_key",
        "API key (Seerr: Settings > General > API Key).",
        env="OVERSEERR_API_KEY",
        secret=True,
    ),
    SeerrClient,
    "prunerr_plugins.seerr.emulator:SeerrEmulator",
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
