"""Built-in Sonarr plugin: the series Sonarr manages (LibraryManager), and its emulator."""

from prunerr_plugins.arr import arr_plugin

from .client import SonarrClient

PLUGIN = arr_plugin(
    "sonarr",
    "Sonarr",
    8989,
    "the series it manages",
    SonarrClient,
    "prunerr_plugins.sonarr.emulator:SonarrEmulator",
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
