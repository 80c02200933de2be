"""Built-in discord plugin: notifications as embeds posted to a Discord channel webhook (role
Notifier), and an emulator of the webhook endpoint."""

from __future__ import annotations

import re

import httpx

from prunerr.config import PARSERS, Setting
from prunerr_plugins.notify import ParsedSetting, events_setting
from prunerr_plugins.wiring import ServicePlugin

from .client import DiscordNotifier

WEBHOOK_PATH = re.compile(r"/api(/v\d+)?/webhooks/\d+/[^/]+")
WEBHOOK_ID = "1181234567890123456"  # the id of the emulated webhook


def parse_webhook_url(value: object) -> str:
    """A Discord webhook URL; the message never repeats it (it holds the token)."""
    url = str(PARSERS["url"](value))
    if not WEBHOOK_PATH.fullmatch(httpx.URL(url).path):
        raise ValueError("expected a webhook URL: https://discord.com/api/webhooks/ID/TOKEN")
    return url


def webhook_url(base: str, token: str) -> str:
    """The URL of the emulated webhook on an emulator serving at `base`."""
    return f"{base}/api/webhooks/{WEBHOOK_ID}/{token}"


PLUGIN = ServicePlugin(
    "discord",
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
    DiscordNotifier,
    "prunerr_plugins.discord.emulator:DiscordEmulator",
    lambda url, token: {"DISCORD_WEBHOOK_URL": webhook_url(url, token)},
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
