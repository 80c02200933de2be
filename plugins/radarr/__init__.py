"""Built-in Radarr plugin: the movies Radarr manages (LibraryManager), and its emulator."""

from prunerr.hookspecs import hookimpl
from prunerr_plugins.arr import add_services, emulator_spec, service_kind

from .client import RadarrClient
from .emulator import RadarrEmulator


@hookimpl
def prunerr_config_schema(schema):
    schema.service(service_kind("radarr", "Radarr", 7878, "the movies it manages"))


@hookimpl
def prunerr_create_services(config, services):
    add_services(config, services, "radarr", RadarrClient)


@hookimpl
def prunerr_register_emulators(emulators):
    emulators.add(emulator_spec("radarr", RadarrEmulator))
