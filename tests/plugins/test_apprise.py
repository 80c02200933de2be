"""The Apprise notifier: the real library posting `json://` notifications to a local receiver."""

from __future__ import annotations

import sys

import pytest

from prunerr.config import MASK, ConfigError
from prunerr.emulation import generate
from prunerr.plugins import PluginHost
from prunerr.sdk import Notification, ServiceError
from prunerr_plugins.apprise import apprise_url
from prunerr_plugins.apprise.client import AppriseNotifier
from prunerr_plugins.apprise.emulator import AppriseReceiver

pytestmark = pytest.mark.slow


pytest.importorskip("apprise")

KEY = "apprise-receiver-password"
DELETED = Notification("deleted", "Deleted 2 items", "27.4 GB freed", (("Rule", "old-movies"),))


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=7)


@pytest.fixture
def receiver(library):
    with AppriseReceiver(library, KEY) as emu:
        yield emu


def load(env: dict[str, str], tmp_path):
    return PluginHost.create().load_config({"PRUNERR_DATA_DIR": str(tmp_path), **env})


def test_a_notification_is_delivered_through_apprise(receiver):
    AppriseNotifier("apprise", [apprise_url(receiver.url, KEY)]).notify(DELETED)
    (message,) = receiver.received
    assert message["title"] == "Deleted 2 items"
    assert message["message"] == "27.4 GB freed\n\nRule: old-movies"
    assert message["type"] == "success"


def test_every_url_gets_it_and_a_failing_one_is_a_service_error(receiver):
    urls = [apprise_url(receiver.url, KEY), apprise_url(receiver.url, "wrong-password")]
    with pytest.raises(ServiceError, match=r"^apprise: not every URL was notified"):
        AppriseNotifier("apprise", urls).notify(Notification("failed", "Run failed", ""))
    (message,) = receiver.received
    assert (message["type"], message["message"]) == ("failure", "Run failed")


def test_only_the_chosen_events_are_sent(receiver):
    chosen = AppriseNotifier("apprise", [apprise_url(receiver.url, KEY)], events=["queued"])
    for event in ("deleted", "queued", "sync_error"):
        chosen.notify(Notification(event, event, "body"))
    assert [(m["title"], m["type"]) for m in receiver.received] == [("queued", "info")]


def test_configured_from_the_environment_with_the_urls_masked(receiver, tmp_path):
    url = apprise_url(receiver.url, KEY)
    config = load(
        {"APPRISE_URLS": f"{url}, ntfy://prunerr-alerts", "APPRISE_EVENTS": "deleted"}, tmp_path
    )
    (instance,) = config.instances["apprise"]
    assert instance["urls"] == (url, "ntfy://prunerr-alerts")
    assert config.public()["apprise"][0]["urls"] == MASK
    assert KEY not in repr(config.public())
    (service,) = PluginHost.create().services(config).with_role("notifier")
    assert service.health().message == "2 URLs, not checked"


def test_a_comma_inside_a_url_does_not_split_it(tmp_path):
    urls = "mailto://me:pw@example.org?to=a@example.org,b@example.org tgram://123456:abc/789"
    config = load({"APPRISE_URLS": urls}, tmp_path)
    assert config.instances["apprise"][0]["urls"] == tuple(urls.split(" "))


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ("json://host/x nosuchscheme://s3cret", "urls: URL 2 of 2 is not one Apprise supports"),
        (" ", "urls: expected at least one Apprise URL"),
    ],
)
def test_invalid_urls_are_configuration_errors_that_do_not_show_them(
    tmp_path, caplog, urls, message
):
    with pytest.raises(ConfigError, match=f"^apprise instance 'apprise': {message}$"):
        load({"APPRISE_URLS": urls}, tmp_path)
    assert "s3cret" not in caplog.text


def test_without_the_package_configuring_apprise_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` raises ImportError
    assert load({}, tmp_path).instances["apprise"] == []  # not configured: nothing breaks
    with pytest.raises(ConfigError) as error:
        load({"APPRISE_URLS": "ntfy://topic"}, tmp_path)
    assert str(error.value) == (
        "apprise instance 'apprise': urls: the apprise package is not installed; "
        "pip install 'prunerr[apprise]'"
    )


def test_the_emulator_spec_gives_a_json_url():
    spec = PluginHost.create().emulators().specs["apprise"]
    assert spec.env("http://127.0.0.1:5", "key") == {
        "APPRISE_URLS": "json://prunerr:key@127.0.0.1:5/notify"
    }
