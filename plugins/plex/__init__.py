"""Built-in Plex plugin: Plex Media Server as a media server and a watch history."""

from prunerr.config import Setting
from prunerr_plugins.wiring import url_key_plugin

from .client import PlexClient

PLUGIN = url_key_plugin(
    "plex",
    "Plex Media Server: libraries, accounts and watch history.",
    Setting(
        "url",
        "Base URL of Plex Media Server, e.g. http://plex:32400.",
        env="PLEX_URL",
        kind="url",
    ),
    Setting("token", "X-Plex-Token of the server owner.", env="PLEX_TOKEN", secret=True),
    PlexClient,
    "prunerr_plugins.plex.emulator:PlexEmulator",
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
