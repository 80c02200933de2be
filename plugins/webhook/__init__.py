"""Built-in webhook plugin: notifications POSTed as signed JSON to a URL of one's choosing (role
Notifier), and a receiver that checks the signature. Its `notify` module holds what every
notifier plugin shares."""

from __future__ import annotations

from prunerr.config import Config, ConfigSchema, ServiceKind, Setting
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import ServiceList
from prunerr_plugins.notify import ParsedSetting, events_setting, parse_plain_url

from .client import WebhookNotifier
from .emulator import PATH, WebhookReceiver

KIND = "webhook"


@hookimpl
def prunerr_config_schema(schema: ConfigSchema) -> None:
    schema.service(
        ServiceKind(
            KIND,
            "Webhook: notifications POSTed as signed JSON.",
            (
                ParsedSetting(
                    "url",
                    "URL the notifications are POSTed to (no user:password@).",
                    env="WEBHOOK_URL",
                    parser=parse_plain_url,
                ),
                Setting(
                    "secret",
                    "Shared secret of the X-Prunerr-Signature HMAC.",
                    env="WEBHOOK_SECRET",
                    secret=True,
                ),
                events_setting("WEBHOOK_EVENTS"),
            ),
            roles=tuple(sorted(WebhookNotifier.roles)),
        )
    )


@hookimpl
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    for instance in config.instances.get(KIND, []):
        services.add(
            WebhookNotifier(
                str(instance["name"]),
                str(instance["url"]),
                str(instance["secret"]),
                events=instance["events"],
            )
        )


@hookimpl
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    emulators.add(
        EmulatorSpec(
            KIND,
            WebhookReceiver,
            lambda url, api_key: {"WEBHOOK_URL": url + PATH, "WEBHOOK_SECRET": api_key},
        )
    )
