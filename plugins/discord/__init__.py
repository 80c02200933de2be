"""Built-in discord plugin: notifications as embeds posted to a Discord channel webhook (role
Notifier), and an emulator of the webhook endpoint."""

from __future__ import annotations

import re

import httpx

from prunerr.config import PARSERS, Config, ConfigSchema, ServiceKind, Setting
from prunerr.emulation import EmulatorRegistry, EmulatorSpec
from prunerr.hookspecs import hookimpl
from prunerr.sdk import ServiceList
from prunerr_plugins.notify import ParsedSetting, events_setting

from .client import DiscordNotifier
from .emulator import DiscordEmulator, webhook_url

KIND = "discord"
WEBHOOK_PATH = re.compile(r"/api(/v\d+)?/webhooks/\d+/[^/]+")


def parse_webhook_url(value: object) -> str:
    """A Discord webhook URL; the message never repeats it (it holds the token)."""
    url = str(PARSERS["url"](value))
    if not WEBHOOK_PATH.fullmatch(httpx.URL(url).path):
        raise ValueError("expected a webhook URL: https://discord.com/api/webhooks/ID/TOKEN")
    return url


@hookimpl
def prunerr_config_schema(schema: ConfigSchema) -> None:
    schema.service(
        ServiceKind(
            KIND,
            "Discord: notifications posted to a channel webhook.",
            (
                ParsedSetting(
                    "webhook_url",
                    "Webhook URL (channel settings > Integrations > Webhooks); holds its token.",
                    env="DISCORD_WEBHOOK_URL",
                    secret=True,
                    parser=parse_webhook_url,
                ),
                events_setting("DISCORD_EVENTS"),
                Setting(
                    "username",
                    "Name the messages are posted under.",
                    env="DISCORD_USERNAME",
                    default="Prunerr",
                ),
            ),
            roles=tuple(sorted(DiscordNotifier.roles)),
        )
    )


@hookimpl
def prunerr_create_services(config: Config, services: ServiceList) -> None:
    for instance in config.instances.get(KIND, []):
        services.add(
            DiscordNotifier(
                str(instance["name"]),
                str(instance["webhook_url"]),
                events=instance["events"],
                username=str(instance["username"]),
            )
        )


@hookimpl
def prunerr_register_emulators(emulators: EmulatorRegistry) -> None:
    emulators.add(
        EmulatorSpec(
            KIND,
            DiscordEmulator,
            lambda url, api_key: {"DISCORD_WEBHOOK_URL": webhook_url(url, api_key)},
        )
    )
