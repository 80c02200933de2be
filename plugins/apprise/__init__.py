"""Built-in apprise plugin: notifications through the optional Apprise library to any of the
services it supports (role Notifier), and a receiver of its `json://` notifications."""

from __future__ import annotations

from prunerr.config import Config, ConfigSchema, ServiceKind
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import ServiceList
from prunerr_plugins.notify import ParsedSetting, events_setting

from .client import AppriseNotifier, parse_urls
from .emulator import AppriseReceiver, apprise_url

KIND = "apprise"


@hookimpl
def prunerr_config_schema(schema: ConfigSchema) -> None:
    schema.service(
        ServiceKind(
            KIND,
            "Apprise: notifications to Telegram, ntfy, Gotify, Pushover, email and more.",
            (
                ParsedSetting(
                    "urls",
                    "Apprise URLs, separated by spaces or commas (needs prunerr[apprise]).",
                    env="APPRISE_URLS",
                    secret=True,
                    parser=parse_urls,
                ),
                events_setting("APPRISE_EVENTS"),
            ),
            roles=tuple(sorted(AppriseNotifier.roles)),
        )
    )


@hookimpl
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    for instance in config.instances.get(KIND, []):
        services.add(
            AppriseNotifier(str(instance["name"]), instance["urls"], events=instance["events"])
        )


@hookimpl
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    emulators.add(
        EmulatorSpec(
            KIND,
            AppriseReceiver,
            lambda url, api_key: {"APPRISE_URLS": apprise_url(url, api_key)},
        )
    )
