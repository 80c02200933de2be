"""The Tautulli plugin against its emulator, over real HTTP."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import replace

import httpx
import pytest

from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.sdk import ServiceError
from prunerr_plugins import tautulli
from prunerr_plugins.tautulli.client import TautulliClient
from prunerr_plugins.tautulli.emulator import TautulliEmulator, human_duration, watched_status
from tests.plugins.openapi import specs_dir

pytestmark = pytest.mark.slow


KEY = "0123456789abcdef0123456789abcdef"
FAST = {"backoff": 0.0, "sleep": lambda seconds: None}


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=7)


@pytest.fixture
def emulator(library):
    with TautulliEmulator(library, KEY) as emu:
        yield emu


def client(emu: TautulliEmulator, key: str = KEY, **options) -> TautulliClient:
    return TautulliClient("tautulli", emu.url, key, **{**FAST, **options})


def call(emu: TautulliEmulator, method: str = "GET", **params) -> httpx.Response:
    params = {"apikey": KEY, **params}
    if method == "POST":
        return httpx.post(f"{emu.url}/api/v2", data=params)
    return httpx.get(f"{emu.url}/api/v2", params=params)


def data(emu: TautulliEmulator, **params) -> object:
    response = call(emu, **params)
    assert response.status_code == 200, response.text
    body = response.json()["response"]
    assert body["result"] == "success"
    return body["data"]


def documented_keys(command: str) -> set[str]:
    """The keys of a command's documented answer, read from the API reference."""
    text = (specs_dir() / "tautulli-api-reference-v2.17.2.md").read_text(encoding="utf-8")
    section = text.split(f"\n### {command}\n", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r'"(\w+)":', section))


def expected_watched(percent: int) -> bool:
    return percent >= 85  # Tautulli's default watched threshold


# contract
@pytest.mark.parametrize(
    "command", ["get_history", "get_users", "get_server_info", "get_tautulli_info"]
)
def test_answers_carry_every_documented_field(emulator, command):
    answer = data(emulator, cmd=command, length=3)
    rows = answer["data"] if command == "get_history" else answer
    keys = set(answer) if command == "get_history" else set()
    for row in rows if isinstance(rows, list) else [rows]:
        assert documented_keys(command) <= keys | set(row)


def test_history_rows_look_like_tautullis(emulator, library):
    rows = data(emulator, cmd="get_history", length=len(library.plays))["data"]
    movie = next(r for r in rows if r["media_type"] == "movie")
    episode = next(r for r in rows if r["media_type"] == "episode")
    assert movie["parent_rating_key"] == movie["grandparent_rating_key"] == ""
    assert episode["full_title"] == f"{episode['grandparent_title']} - {episode['title']}"
    assert isinstance(episode["group_ids"], str) and episode["id"] == episode["row_id"]
    assert {r["watched_status"] for r in rows} <= {0, 0.25, 0.5, 0.75, 1}


def test_users_are_the_plex_accounts(emulator, library):
    users = data(emulator, cmd="get_users")
    assert [(u["user_id"], u["username"], u["email"]) for u in users] == [
        (u.id, u.username, u.email) for u in library.users
    ]


def test_every_answer_has_the_response_envelope(emulator):
    assert call(emulator, cmd="status").json() == {
        "response": {"result": "success", "message": "Ok", "data": {}}
    }
    assert data(emulator, cmd="arnold") == "Get to the chopper!"


def test_post_form_fields_work_like_the_query(emulator):
    posted = call(emulator, "POST", cmd="get_history", length=2).json()
    assert posted == call(emulator, cmd="get_history", length=2).json()


def test_human_durations_read_like_tautullis():
    assert human_duration(42 * 86400 + 5 * 3600 + 18 * 60) == "42 days 5 hrs 18 mins"
    assert human_duration(3600 + 60) == "1 hr 1 min"
    assert human_duration(30) == "0 mins"


def test_watched_status_grades_in_quarters_of_the_threshold():
    assert [watched_status(p) for p in (100, 85, 84, 64, 43, 22, 21)] == [
        1,
        1,
        0.75,
        0.75,
        0.5,
        0.25,
        0,
    ]


# errors and auth
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"apikey": "wrong", "cmd": "get_users"}, "Invalid apikey"),
        ({"cmd": "get_users"}, "Parameter apikey is required"),
        ({"apikey": KEY}, "Parameter cmd is required. Possible commands are: "),
        ({"apikey": KEY, "cmd": "get_all"}, "Unknown command: get_all. Possible commands are: "),
    ],
)
def test_errors_are_http_400_with_a_message(emulator, query, message):
    response = httpx.get(f"{emulator.url}/api/v2", params=query)
    assert response.status_code == 400
    body = response.json()["response"]
    assert (body["result"], body["data"]) == ("error", {})
    assert body["message"].startswith(message)


def test_a_command_that_fails_is_http_500(emulator):
    response = call(emulator, cmd="get_history", length="many")
    assert response.status_code == 500
    assert response.json()["response"]["message"] == "Check the logs for errors"


def test_the_unversioned_api_points_to_v2(emulator):
    response = httpx.get(f"{emulator.url}/api", params={"apikey": KEY, "cmd": "get_users"})
    assert response.status_code == 200
    assert response.json()["response"]["message"] == "Please use the /api/v2 endpoint."


def test_health_reports_the_tautulli_version(emulator):
    health = client(emulator).health()
    assert health.ok and health.version == "v2.17.2" and health.response_ms is not None


# paging and filters
def test_history_pages_by_start_and_length_newest_first_by_default(emulator, library):
    first = data(emulator, cmd="get_history")
    assert len(first["data"]) == 25
    assert first["recordsTotal"] == first["recordsFiltered"] == len(library.plays)
    newest = sorted(library.plays, key=lambda p: (p.started, p.id), reverse=True)
    page = data(emulator, cmd="get_history", start=10, length=5)["data"]
    assert [r["id"] for r in page] == [p.id for p in newest[10:15]]


def test_history_orders_by_other_columns(emulator, library):
    rows = data(
        emulator,
        cmd="get_history",
        order_column="stopped",
        order_dir="asc",
        length=len(library.plays),
    )["data"]
    assert [r["stopped"] for r in rows] == sorted(p.stopped for p in library.plays)


@pytest.mark.parametrize(
    "name", ["user_id", "rating_key", "parent_rating_key", "grandparent_rating_key"]
)
def test_history_filters_by_user_and_item(emulator, library, name):
    episode = next(p for p in library.plays if p.parent_rating_key)
    wanted = getattr(episode, name)
    answer = data(emulator, cmd="get_history", length=5000, **{name: wanted})
    expected = {p.id for p in library.plays if getattr(p, name) == wanted}
    assert {r["id"] for r in answer["data"]} == expected
    assert answer["recordsFiltered"] == len(expected)


def test_history_filters_by_media_type_and_days(emulator, library):
    movies = data(emulator, cmd="get_history", media_type="movie", length=5000)["data"]
    assert {r["id"] for r in movies} == {p.id for p in library.plays if not p.parent_rating_key}
    shows = data(emulator, cmd="get_history", section_id=2, length=5000)["data"]
    assert {r["id"] for r in shows} == {p.id for p in library.plays if p.parent_rating_key}
    day = library.plays[len(library.plays) // 2].started
    midnight = day - day % 86400
    iso = dt.datetime.fromtimestamp(midnight, dt.UTC).strftime("%Y-%m-%d")
    for params, test in (
        ({"after": iso}, lambda p: p.started >= midnight),
        ({"before": iso}, lambda p: p.started < midnight + 86400),
        ({"start_date": iso}, lambda p: midnight <= p.started < midnight + 86400),
    ):
        rows = data(emulator, cmd="get_history", length=5000, **params)["data"]
        assert {r["id"] for r in rows} == {p.id for p in library.plays if test(p)}, params


def test_a_whole_listing_costs_one_request_per_page():
    library = generate("S", seed=3)
    with TautulliEmulator(library, KEY) as emu:
        plays = list(client(emu, page_size=5000).plays())
        assert len(plays) == len(library.plays)
        assert emu.request_total == math.ceil(len(library.plays) / 5000)


# ground truth
def test_plays_match_the_synthetic_history(emulator, library):
    plays = list(client(emulator, page_size=400).plays())
    assert [p.source_id for p in plays] == [str(p.id) for p in library.plays]
    for play, truth in zip(plays, library.plays, strict=True):
        assert play.user == library.user(truth.user_id).username
        assert play.key == str(truth.rating_key)
        assert play.parent_key == (
            str(truth.parent_rating_key) if truth.parent_rating_key else None
        )
        assert play.grandparent_key == (
            str(truth.grandparent_rating_key) if truth.grandparent_rating_key else None
        )
        assert play.viewed_at == truth.stopped
        assert play.watched == expected_watched(truth.percent_complete)


def test_only_a_full_watch_counts_as_watched(emulator, library):
    plays = {p.source_id: p for p in client(emulator).plays()}
    rows = data(emulator, cmd="get_history", length=5000)["data"]
    partial = [r for r in rows if 0 < r["watched_status"] < 1]
    assert partial, "the library should have partly watched plays"
    assert all(not plays[str(r["id"])].watched for r in partial)
    assert all(plays[str(r["id"])].watched for r in rows if r["watched_status"] == 1)


def test_plays_since_a_time_reread_only_the_recent_days(emulator, library):
    since = float(library.plays[-200].stopped)
    emulator.reset_counts()
    plays = list(client(emulator).plays(since))
    assert [p.source_id for p in plays] == [str(p.id) for p in library.plays if p.stopped > since]
    assert emulator.request_total == 1


def test_accounts_are_the_tautulli_users(emulator, library):
    accounts = client(emulator).accounts()
    assert [(a.id, a.username, a.email) for a in accounts] == [
        (str(u.id), u.username, u.email) for u in library.users
    ]


# state changes
def test_deleted_history_rows_leave_the_listing(emulator, library):
    doomed = [library.plays[0].id, library.plays[5].id]
    answer = call(emulator, cmd="delete_history", row_ids=",".join(map(str, doomed))).json()
    assert answer["response"] == {"result": "success", "message": "Deleted history.", "data": {}}
    ids = {p.source_id for p in client(emulator).plays()}
    assert len(ids) == len(library.plays) - 2 and not ids & {str(i) for i in doomed}
    assert call(emulator, cmd="delete_history").status_code == 400


def test_a_row_written_during_the_listing_relists_without_duplicates(emulator, library):
    new = replace(library.plays[3], id=len(library.plays) + 1)  # sorts into the first page
    listing = client(emulator, page_size=500).plays()
    seen = [next(listing) for _ in range(500)]
    emulator.record_play(new)
    seen += list(listing)
    assert sorted(int(p.source_id) for p in seen) == [*(p.id for p in library.plays), new.id]
    relisting = math.ceil((len(library.plays) + 1) / 500)
    # page 1, then the page that shows the change, then one relisting: page 2 is asked for while
    # page 1 is read, so it may be built before the row is written (then page 3 shows it)
    assert emulator.request_total - relisting in (2, 3)


def test_a_history_that_keeps_changing_is_an_error(emulator, library):
    listing = client(emulator, page_size=500).plays()
    with pytest.raises(ServiceError, match="kept changing"):
        for i, _ in enumerate(listing):
            if i % 500 == 499:
                emulator.record_play(replace(library.plays[3], id=10_000 + i))


# faults and bad data
def test_transient_faults_are_retried_to_a_complete_listing(library):
    faults = Faults(
        error_rate=0.15, rate_limit_rate=0.1, truncate_rate=0.1, malformed_rate=0.1, seed=5
    )
    with TautulliEmulator(library, KEY, faults) as emu:
        plays = list(client(emu, page_size=200, retries=10).plays())
        assert emu.request_total > math.ceil(len(library.plays) / 200)  # some were retried
    assert [p.source_id for p in plays] == [str(p.id) for p in library.plays]


class DamagedEmulator(TautulliEmulator):
    """Answers history rows without a watched verdict."""

    def _row(self, play):
        row = super()._row(play)
        del row["watched_status"]
        return row


def test_rows_without_a_watched_verdict_are_an_error(library):
    with (
        DamagedEmulator(library, KEY) as emu,
        pytest.raises(ServiceError, match=r"get_history: bad row .*watched_status"),
    ):
        list(client(emu).plays())


# the plugin's hooks
def test_the_plugin_reads_the_original_environment_variables(tmp_path):
    host = PluginHost.create(load_entry_points=False)
    host.register(tautulli, "tautulli")
    env = host.emulators().specs["tautulli"].env("http://tautulli:8181", KEY)
    assert env == {"TAUTULLI_URL": "http://tautulli:8181", "TAUTULLI_API_KEY": KEY}
    config = host.load_config(env={**env, "PRUNERR_DATA_DIR": str(tmp_path)})
    assert config.instances["tautulli"] == [
        {"name": "tautulli", "url": "http://tautulli:8181", "api_key": KEY}
    ]
    assert KEY not in str(config.public())
    [service] = host.services(config).with_role("watch_history")
    assert isinstance(service, TautulliClient) and service.name == "tautulli"


def test_no_configuration_means_no_service(tmp_path):
    host = PluginHost.create(load_entry_points=False)
    host.register(tautulli, "tautulli")
    config = host.load_config(env={"PRUNERR_DATA_DIR": str(tmp_path)})
    assert host.services(config).services == []
