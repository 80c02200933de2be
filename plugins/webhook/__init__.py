"""Built-in webhook plugin: notifications POSTed as signed JSON to a URL of one's choosing (role
Notifier), and a receiver that checks the signature."""

from __future__ import annotations

from prunerr.config import Setting
from prunerr_plugins.notify import ParsedSetting, events_setting, parse_plain_url
from prunerr_plugins.wiring import ServicePlugin

from .client import WebhookNotifier

PATH = "/hooks/prunerr"  # where Prunerr delivers to an emulated receiver

PLUGIN = ServicePlugin(
    "webhook",
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
    WebhookNotifier,
    "prunerr_plugins.webhook.emulator:WebhookReceiver",
    lambda url, secret: {"WEBHOOK_URL": url + PATH, "WEBHOOK_SECRET": secret},
)
prunerr_config_schema = PLUGIN.prunerr_config_schema
prunerr_create_services = PLUGIN.prunerr_create_services
prunerr_register_emulators = PLUGIN.prunerr_register_emulators
