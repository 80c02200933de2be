"""Built-in Radarr plugin: the movies Radarr manages (LibraryManager), and its emulator."""

from prunerr_plugins.arr import arr_plugin

from .client import RadarrClient

PLUGIN = arr_plugin(
    "radarr",
    "Radarr",
    7878,
    "the movies it manages",
    RadarrClient,
    "prunerr_plugins.radarr.emulator:RadarrEmulator",
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
