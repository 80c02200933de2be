"""Built-in Sonarr plugin: the series Sonarr manages (LibraryManager), and its emulator."""

from prunerr.hookspecs import hookimpl
from prunerr_plugins.arr import add_services, emulator_spec, service_kind

from .client import SonarrClient
from .emulator import SonarrEmulator


@hookimpl
def prunerr_config_schema(schema):
    schema.service(service_kind("sonarr", "Sonarr", 8989, "the series it manages"))


@hookimpl
def prunerr_create_services(config, services):
    add_services(config, services, "sonarr", SonarrClient)


@hookimpl
def prunerr_register_emulators(emulators):
    emulators.add(emulator_spec("sonarr", SonarrEmulator))
