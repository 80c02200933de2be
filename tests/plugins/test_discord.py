"""The Discord notifier against the webhook emulator, over real HTTP."""

from __future__ import annotations

import logging

import httpx
import pytest

from prunerr.config import MASK, Config, ConfigError
from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.sdk import Notification, ServiceError
from prunerr_plugins.discord import WEBHOOK_ID, embeds, webhook_url
from prunerr_plugins.discord.client import DiscordNotifier
from prunerr_plugins.discord.emulator import DiscordEmulator

pytestmark = pytest.mark.slow


TOKEN = "dGhlLXdlYmhvb2stdG9rZW4tb2YtdGhlLWVtdWxhdG9y"


class FakeClock:
    """Time that moves only when slept through; records the waits."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=5)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(library, clock):
    with DiscordEmulator(library, TOKEN, clock=clock) as emu:
        yield emu


@pytest.fixture
def unlimited(library, clock):
    """An emulator without a rate limit, for tests of many raw requests."""
    with DiscordEmulator(library, TOKEN, clock=clock, rate_limit=None) as emu:
        yield emu


def notifier(emu: DiscordEmulator, clock: FakeClock, url: str | None = None, **options):
    return DiscordNotifier(
        "discord", url or emu.webhook_url, clock=clock, sleep=clock.sleep, **options
    )


def queued(count: int) -> Notification:
    """A grouped `queued` notification listing `count` items in its body and in its fields."""
    lines = [f"- Movie {i} ({1950 + i % 70}), {i % 40 + 1} GB, never watched" for i in range(count)]
    fields = [
        (f"Movie {i}", f"rule movies/never-watched-90d, {i % 40 + 1} GB") for i in range(count)
    ]
    return Notification(
        "queued", f"{count} items queued for deletion", "\n".join(lines), tuple(fields)
    )


def post(emu: DiscordEmulator, payload: dict, url: str | None = None, **params) -> httpx.Response:
    return httpx.post(url or emu.webhook_url, json=payload, params=params)


# splitting and limits
def test_a_long_grouped_notification_is_split_into_messages_within_the_limits(emulator, clock):
    notification = queued(300)
    notifier(emulator, clock).notify(notification)

    messages = emulator.received
    assert len(messages) > 1
    embeds_sent = [embed for message in messages for embed in message["embeds"]]
    assert "\n".join(e["description"] for e in embeds_sent if "description" in e) == (
        notification.body
    )
    assert [(f["name"], f["value"]) for e in embeds_sent for f in e.get("fields", ())] == list(
        notification.fields
    )
    for number, message in enumerate(messages, 1):
        assert len(message["embeds"]) <= embeds.EMBEDS
        assert sum(embeds.size(e) for e in message["embeds"]) <= embeds.TOTAL
        assert all(len(e.get("fields", ())) <= embeds.FIELDS for e in message["embeds"])
        assert message["embeds"][0]["title"] == notification.title
        assert message["embeds"][-1]["footer"]["text"] == f"part {number} of {len(messages)}"
        assert {e["color"] for e in message["embeds"]} == {embeds.COLOURS["queued"]}


def test_texts_over_a_limit_are_cut_with_an_ellipsis(emulator, clock):
    notifier(emulator, clock).notify(
        Notification("failed", "T" * 300, "", (("N" * 300, "v" * 2000), ("empty", "")))
    )
    (message,) = emulator.received
    (embed,) = message["embeds"]
    assert embed["title"] == "T" * 255 + "…"
    long, empty = embed["fields"]
    assert (long["name"], long["value"]) == ("N" * 255 + "…", "v" * 1023 + "…")
    assert empty["value"].strip("\u200b") == "" and empty["inline"]
    assert "footer" not in embed and embed["color"] == embeds.COLOURS["failed"]


def test_a_short_notification_is_one_message_without_a_part_number(emulator, clock):
    notifier(emulator, clock).notify(Notification("deleted", "3 deleted", "12 GB freed"))
    (message,) = emulator.received
    assert message["author"]["username"] == "Prunerr"
    assert message["embeds"][0]["description"] == "12 GB freed"
    assert message["embeds"][0]["timestamp"] == "2026-05-28T20:26:40+00:00"


def test_the_emulator_refuses_what_discord_refuses(unlimited):
    emulator = unlimited
    too_long = post(emulator, {"embeds": [{"title": "x" * 257}]})
    assert too_long.status_code == 400
    assert too_long.json() == {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "embeds": {
                "0": {
                    "title": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": "Must be 256 or fewer in length.",
                            }
                        ]
                    }
                }
            }
        },
    }
    total = post(emulator, {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]})
    assert total.json()["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    eleven = post(emulator, {"embeds": [{"title": "t"}] * 11})
    assert "_errors" in eleven.json()["errors"]["embeds"]
    blank = post(emulator, {"embeds": [{"fields": [{"name": "n", "value": " "}]}]})
    assert blank.json()["errors"]["embeds"]["0"]["fields"]["0"]["value"]
    assert post(emulator, {"username": "Discord fan", "content": "x"}).status_code == 400
    assert post(emulator, {"content": ""}).json()["code"] == 50006
    assert emulator.received == []


def test_the_emulator_answers_204_or_the_message_with_wait(emulator):
    assert post(emulator, {"content": "hello"}).status_code == 204
    message = post(emulator, {"content": "again"}, wait="true").json()
    assert message["webhook_id"] == WEBHOOK_ID and message["content"] == "again"
    assert [m["content"] for m in emulator.received] == ["hello", "again"]


def test_the_emulator_prints_each_message_as_it_arrives(library, clock):
    printed: list[str] = []
    with DiscordEmulator(library, TOKEN, clock=clock, printer=printed.append) as emu:
        notifier(emu, clock).notify(
            Notification("deleted", "Deleted 2", "Space freed: 9 GB", (("Rule", "old"),))
        )
    assert printed == ["discord | Prunerr\n  ## Deleted 2\n  Space freed: 9 GB\n  - Rule: old"]


# rate limits and failures
def test_a_429_is_retried_after_its_retry_after(emulator, clock):
    for _ in range(5):  # the bucket: 5 requests per 2 s
        assert post(emulator, {"content": "filler"}).status_code == 204
    limited = post(emulator, {"content": "one too many"})
    assert limited.status_code == 429
    assert limited.json() == {
        "message": "You are being rate limited.",
        "retry_after": 2.0,
        "global": False,
    }
    assert limited.headers["Retry-After"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"

    notifier(emulator, clock).notify(Notification("deleted", "Deleted 1", "2 GB freed"))
    assert clock.waits == [2.0]
    assert emulator.received[-1]["embeds"][0]["title"] == "Deleted 1"


def test_an_exhausted_bucket_is_waited_out_between_messages(emulator, clock):
    notifier(emulator, clock).notify(queued(300))
    count = len(emulator.received)
    assert count > 5
    assert clock.waits == [2.0] * ((count - 1) // 5)  # after every fifth message, none after 429


def test_rate_limiting_that_never_ends_is_a_service_error(library, clock):
    faults = Faults(rate_limit_rate=1.0, retry_after_s=3)
    with DiscordEmulator(library, TOKEN, faults, clock=clock) as emu:
        with pytest.raises(ServiceError, match=r"^discord: discord webhook: HTTP 429$"):
            notifier(emu, clock, retries=2).notify(Notification("failed", "t", "b"))
        assert clock.waits == [3.0, 3.0]
        emu.faults.retry_after_s = 90  # longer than max_wait (60 s): give up at once
        with pytest.raises(ServiceError, match=r"discord webhook: HTTP 429, retry in 90s$"):
            notifier(emu, clock).notify(Notification("failed", "t", "b"))
        assert clock.waits == [3.0, 3.0]


def test_server_errors_are_retried_with_backoff(library, clock):
    with (
        DiscordEmulator(library, TOKEN, Faults(error_rate=1.0), clock=clock) as emu,
        pytest.raises(ServiceError, match=r"discord webhook: HTTP 50[023]$"),
    ):
        notifier(emu, clock).notify(Notification("failed", "t", "b"))
    assert clock.waits == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("url", "status"),
    [(f"/api/webhooks/{WEBHOOK_ID}/wrong-token", 401), ("/api/webhooks/42/" + TOKEN, 404)],
)
def test_a_wrong_webhook_is_a_service_error_that_never_shows_the_token(
    emulator, clock, caplog, url, status
):
    caplog.set_level(logging.DEBUG)
    wrong = notifier(emulator, clock, url=emulator.url + url)
    with pytest.raises(ServiceError) as error:
        wrong.notify(Notification("failed", "t", "b"))
    assert str(error.value) == f"discord: discord webhook: HTTP {status}"
    assert not wrong.health().ok
    assert clock.waits == []  # not retried
    for secret in (TOKEN, "wrong-token"):
        assert secret not in caplog.text


def test_health_checks_the_token(emulator, clock):
    assert notifier(emulator, clock).health().ok


# events and configuration
def test_only_the_chosen_events_are_sent(emulator, clock):
    chosen = notifier(emulator, clock, events=("deleted", "failed"))
    for event in ("queued", "deleted", "sync_error", "failed"):
        chosen.notify(Notification(event, event, "body"))
    assert [m["embeds"][0]["title"] for m in emulator.received] == ["deleted", "failed"]


def load(env: dict[str, str], tmp_path) -> Config:
    return PluginHost.create().load_config({"PRUNERR_DATA_DIR": str(tmp_path), **env})


def test_configured_from_the_environment_with_the_url_masked(emulator, clock, tmp_path):
    env = {"DISCORD_WEBHOOK_URL": emulator.webhook_url, "DISCORD_EVENTS": "deleted, failed"}
    config = load(env, tmp_path)
    (instance,) = config.instances["discord"]
    assert instance["events"] == ("deleted", "failed") and instance["username"] == "Prunerr"
    assert config.public()["discord"][0]["webhook_url"] == MASK
    assert TOKEN not in repr(config.public())

    (service,) = PluginHost.create().services(config).with_role("notifier")
    service.notify(Notification("queued", "skipped", ""))
    service.notify(Notification("deleted", "sent", ""))
    assert [m["embeds"][0]["title"] for m in emulator.received] == ["sent"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "DISCORD_WEBHOOK_URL": f"https://discord.com/api/webhooks/1/{TOKEN}",
                "DISCORD_EVENTS": "queud",
            },
            "discord instance 'discord': events: unknown event 'queud'; valid events: queued, "
            "deletion_imminent, deleted, failed, sync_error, circuit_breaker, rules_broken",
        ),
        (
            {"DISCORD_WEBHOOK_URL": f"https://discord.com/channels/1/{TOKEN}"},
            "discord instance 'discord': webhook_url: expected a webhook URL: "
            "https://discord.com/api/webhooks/ID/TOKEN",
        ),
        ({"DISCORD_EVENTS": "deleted"}, "discord instance 'discord': missing webhook_url"),
    ],
)
def test_invalid_configuration_names_the_key_and_not_the_token(tmp_path, env, message):
    with pytest.raises(ConfigError) as error:
        load(env, tmp_path)
    assert str(error.value).startswith(message)
    assert TOKEN not in str(error.value)


def test_the_emulator_spec_points_discord_webhook_url_at_the_webhook():
    spec = PluginHost.create().emulators().specs["discord"]
    assert spec.env("http://127.0.0.1:5", "key") == {
        "DISCORD_WEBHOOK_URL": webhook_url("http://127.0.0.1:5", "key")
    }
