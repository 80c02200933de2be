"""Built-in apprise plugin: notifications through the optional Apprise library to any of the
services it supports (role Notifier), and a receiver of its `json://` notifications."""

from __future__ import annotations

from prunerr_plugins.notify import ParsedSetting, events_setting
from prunerr_plugins.wiring import ServicePlugin

from .client import AppriseNotifier, parse_urls

PATH = "/notify"  # where the emulated receiver takes notifications
USER = "prunerr"  # its basic-auth user; the API key is the password


def apprise_url(base: str, api_key: str) -> str:
    """The `json://` Apprise URL of a receiver serving at `base` (http://host:port)."""
    return f"json://{USER}:{api_key}@{base.split('://', 1)[1]}{PATH}"


PLUGIN = ServicePlugin(
    "apprise",
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
    AppriseNotifier,
    "prunerr_plugins.apprise.emulator:AppriseReceiver",
    lambda url, api_key: {"APPRISE_URLS": apprise_url(url, api_key)},
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
