"""The signed webhook notifier against its receiver, over real HTTP; the signature is checked with
the verification snippet of docs/plugins.md."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest

from prunerr.config import MASK, ConfigError
from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.sdk import Notification, ServiceError
from prunerr_plugins.webhook import PATH
from prunerr_plugins.webhook.client import WebhookNotifier
from prunerr_plugins.webhook.emulator import WebhookReceiver

pytestmark = pytest.mark.slow


SECRET = "s3cret-shared-with-the-receiver"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
DELETED = Notification(
    "deleted",
    "Deleted 2 items",
    "27.4 GB freed",
    (("Rule", "movies/never-watched-90d"), ("Item", "Heat (1995)"), ("Item", "Alien (1979)")),
)


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=6)


@pytest.fixture
def receiver(library):
    with WebhookReceiver(library, SECRET) as emu:
        yield emu


@pytest.fixture(scope="module")
def verify():
    """`verify()` as docs/plugins.md gives it to receivers."""
    section = DOCS.read_text(encoding="utf-8").split("## Built-in notifiers", 1)[1]
    (code,) = [
        block
        for block in re.findall(r"```python[^\n]*\n(.*?)```", section, re.S)
        if "def verify" in block
    ]
    namespace: dict = {}
    exec(code, namespace)
    return namespace["verify"]


def notifier(url: str, waits: list[float] | None = None, **options) -> WebhookNotifier:
    sleep = (waits if waits is not None else []).append
    return WebhookNotifier("webhook", url, SECRET, sleep=sleep, **options)


def test_the_envelope_and_its_headers(receiver):
    notifier(receiver.url + PATH, clock=lambda: 1_780_000_000.7).notify(DELETED)
    (delivery,) = receiver.received
    assert json.loads(delivery.body) == {
        "event": "deleted",
        "title": "Deleted 2 items",
        "body": "27.4 GB freed",
        "fields": {"Rule": "movies/never-watched-90d", "Item": "Heat (1995)\nAlien (1979)"},
        "timestamp": "2026-05-28T20:26:40Z",
        "version": 1,
    }
    headers = delivery.headers
    assert headers["X-Prunerr-Event"] == "deleted"
    assert headers["X-Prunerr-Timestamp"] == "1780000000"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Prunerr-Webhook/")
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", headers["X-Prunerr-Signature"])


def test_the_documented_snippet_verifies_the_signature(receiver, verify):
    notifier(receiver.url + PATH).notify(DELETED)
    (delivery,) = receiver.received
    timestamp, signature = (
        delivery.headers["X-Prunerr-Timestamp"],
        delivery.headers["X-Prunerr-Signature"],
    )
    assert verify(SECRET, timestamp, signature, delivery.body)
    assert not verify("another secret", timestamp, signature, delivery.body)
    assert not verify(SECRET, timestamp, signature, delivery.body.replace(b"27.4", b"99.9"))
    assert not verify(SECRET, str(int(timestamp) + 1), signature, delivery.body)
    old = WebhookNotifier("old", receiver.url + PATH, SECRET, clock=lambda: time.time() - 600)
    old.notify(DELETED)
    stale = receiver.received[-1]
    assert not verify(
        SECRET,
        stale.headers["X-Prunerr-Timestamp"],
        stale.headers["X-Prunerr-Signature"],
        stale.body,
    )


def test_a_wrong_secret_is_refused_by_the_receiver(receiver):
    wrong = WebhookNotifier("webhook", receiver.url + PATH, "not the secret")
    with pytest.raises(ServiceError, match=r"^webhook: webhook: HTTP 401$"):
        wrong.notify(DELETED)
    assert receiver.received == []


def test_the_receiver_prints_each_delivery(library):
    printed: list[str] = []
    with WebhookReceiver(library, SECRET, printer=printed.append) as emu:
        notifier(emu.url + PATH).notify(DELETED)
    assert printed == [
        "webhook | deleted: Deleted 2 items\n  27.4 GB freed\n"
        "  - Rule: movies/never-watched-90d\n  - Item: Heat (1995)\nAlien (1979)"
    ]


def test_server_errors_are_retried_a_bounded_number_of_times(library):
    waits: list[float] = []
    with WebhookReceiver(library, SECRET, Faults(error_rate=1.0)) as emu:
        with pytest.raises(ServiceError, match=r"^webhook: webhook: HTTP 50[023]$"):
            notifier(emu.url + PATH, waits, retries=2).notify(DELETED)
        assert emu.request_total == 3
    assert waits == [0.5, 1.0]


def test_a_429_waits_its_retry_after_header(library):
    waits: list[float] = []
    with WebhookReceiver(library, SECRET, Faults(rate_limit_rate=0.5, seed=3)) as emu:
        notifier(emu.url + PATH, waits, retries=10).notify(DELETED)
        assert len(emu.received) == 1
    assert waits and set(waits) == {1.0}


def test_timeouts_are_retried_then_a_service_error(library):
    waits: list[float] = []
    faults = Faults(timeout_rate=1.0, timeout_s=0.5)
    with WebhookReceiver(library, SECRET, faults) as emu:
        slow = notifier(emu.url + PATH, waits, retries=1, timeout=0.1)
        with pytest.raises(ServiceError, match=r"^webhook: webhook: ReadTimeout$"):
            slow.notify(DELETED)
    assert waits == [0.5]


def test_an_unreachable_url_is_a_service_error_without_the_url(caplog):
    caplog.set_level(logging.DEBUG)
    url = "http://127.0.0.1:9/hooks/private-id-123"
    with pytest.raises(ServiceError, match=r"^webhook: webhook: ConnectError$"):
        notifier(url, retries=1).notify(DELETED)
    assert "private-id-123" not in caplog.text


def test_other_client_errors_are_not_retried(receiver):
    assert httpx.post(receiver.url + PATH, content=b"{}").status_code == 401  # unsigned
    waits: list[float] = []
    with pytest.raises(ServiceError, match=r"^webhook: webhook: HTTP 404$"):
        notifier(receiver.url + "/elsewhere", waits).notify(DELETED)
    assert waits == [] and receiver.request_total == 2


def test_only_the_chosen_events_are_sent(receiver):
    chosen = notifier(receiver.url + PATH, events=("failed",))
    for event in ("queued", "deleted", "failed", "circuit_breaker"):
        chosen.notify(Notification(event, event, ""))
    assert [d.headers["X-Prunerr-Event"] for d in receiver.received] == ["failed"]


def load(env: dict[str, str], tmp_path):
    return PluginHost.create().load_config({"PRUNERR_DATA_DIR": str(tmp_path), **env})


def test_configured_from_the_environment_with_the_secret_masked(receiver, tmp_path):
    env = {"WEBHOOK_URL": receiver.url + PATH, "WEBHOOK_SECRET": SECRET}
    config = load({**env, "WEBHOOK_EVENTS": "deleted failed"}, tmp_path)
    (instance,) = config.instances["webhook"]
    assert instance["events"] == ("deleted", "failed")
    assert config.public()["webhook"] == [
        {
            "name": "webhook",
            "url": receiver.url + PATH,
            "secret": MASK,
            "events": ("deleted", "failed"),
        }
    ]
    (service,) = PluginHost.create().services(config).with_role("notifier")
    service.notify(DELETED)
    assert len(receiver.received) == 1
    assert load(env, tmp_path).instances["webhook"][0]["events"] == (
        "queued",
        "deletion_imminent",
        "deleted",
        "failed",
        "sync_error",
        "circuit_breaker",
        "rules_broken",
    )


def test_events_may_be_a_yaml_list(tmp_path):
    (tmp_path / "prunerr.yaml").write_text(
        "webhook:\n  - {url: 'http://ha:8123/api/webhook/x', secret: s, events: [queued, failed]}\n"
    )
    assert load({}, tmp_path).instances["webhook"][0]["events"] == ("queued", "failed")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"WEBHOOK_URL": "https://me:hunter2@example.org/hook", "WEBHOOK_SECRET": "s"},
            "webhook instance 'webhook': url: credentials in the URL (user:password@) are not",
        ),
        (
            {
                "WEBHOOK_URL": "https://example.org/h",
                "WEBHOOK_SECRET": "s",
                "WEBHOOK_EVENTS": "deleted,nope",
            },
            "webhook instance 'webhook': events: unknown event 'nope'; valid events: queued,",
        ),
        (
            {"WEBHOOK_URL": "https://example.org/h", "WEBHOOK_SECRET": "s", "WEBHOOK_EVENTS": ", "},
            "webhook instance 'webhook': events: no events; valid events: queued,",
        ),
        (
            {"WEBHOOK_URL": "https://example.org/h"},
            "webhook instance 'webhook': missing secret (set WEBHOOK_SECRET)",
        ),
    ],
)
def test_invalid_configuration_names_the_key(tmp_path, env, message):
    with pytest.raises(ConfigError) as error:
        load(env, tmp_path)
    assert str(error.value).startswith(message)
    assert "hunter2" not in str(error.value)


def test_the_emulator_spec_gives_the_url_and_secret():
    spec = PluginHost.create().emulators().specs["webhook"]
    assert spec.env("http://127.0.0.1:5", "key") == {
        "WEBHOOK_URL": "http://127.0.0.1:5/hooks/prunerr",
        "WEBHOOK_SECRET": "key",
    }
