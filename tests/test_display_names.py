"""Items go by the names people know them by (`items.display_title`) wherever they appear: the
queue, the API's library and queue, notifications, the activity log, deletion history and
`prunerr rules plan`, over a library synced from the emulators."""

from __future__ import annotations

import json

import pytest
from pony.orm import db_session

from prunerr.api import create_app
from prunerr.app import Prunerr
from prunerr.cli import main
from prunerr.emulation import Faults
from prunerr.jobs import create_huey
from prunerr.jobs.tasks import Tasks
from prunerr.plugins import PluginHost
from prunerr.store.items import display_title
from tests.api.conftest import Client
from tests.support import LIBRARY, emulated, write_rule

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "kind, title, parts, expected",
    [
        ("movie", "Alien", {"year": 1979}, "Alien (1979)"),
        ("movie", "Alien", {}, "Alien"),
        ("movie", "Alien", {"year": 0}, "Alien"),
        ("show", "The Wire", {"year": 2002}, "The Wire (2002)"),
        ("show", "The Wire", {"year": None}, "The Wire"),
        ("season", "Season 2", {"show": "The Wire", "season": 2}, "The Wire — Season 2"),
        ("season", "Specials", {"show": "The Wire", "season": 0}, "The Wire — Specials"),
        ("season", "Extras", {"show": "The Wire"}, "The Wire — Extras"),
        ("season", "Season 2", {"season": 2}, "Season 2"),  # its show was not synced
        (
            "episode",
            "Undertow",
            {"show": "The Wire", "season": 2, "episode": 5},
            "The Wire — S02E05 — Undertow",
        ),
        ("episode", "Pilot", {"show": "Lost", "season": 0, "episode": 1}, "Lost — S00E01 — Pilot"),
        ("episode", "Undertow", {"show": "The Wire", "episode": 5}, "The Wire — E05 — Undertow"),
        ("episode", "Undertow", {"show": "The Wire", "season": 2}, "The Wire — S02 — Undertow"),
        ("episode", "Undertow", {"show": "The Wire"}, "The Wire — Undertow"),
        ("episode", "", {"show": "The Wire", "season": 2, "episode": 5}, "The Wire — S02E05"),
        ("episode", "Undertow", {"season": 2, "episode": 5}, "S02E05 — Undertow"),
        ("episode", "Undertow", {}, "Undertow"),
        ("episode", "Ep", {"show": "Soap", "season": 12, "episode": 104}, "Soap — S12E104 — Ep"),
    ],
)
def test_every_kind_of_item_has_a_display_title(kind, title, parts, expected):
    assert display_title(kind, title, **parts) == expected


def test_unknown_numbers_are_left_out_never_shown_as_zero_or_none():
    names = [
        display_title("episode", "Undertow", show="The Wire", season=None, episode=None),
        display_title("season", "Season 2", show="The Wire", season=None),
        display_title("movie", "Alien", year=None),
    ]
    assert names == ["The Wire — Undertow", "The Wire — Season 2", "Alien"]
    assert not any("None" in n or " 0" in n or "(0)" in n for n in names)


@pytest.fixture
def setup(store, database_url, tmp_path):
    """(client, app, discord emulator, environment): a synced library whose notifications go to
    the Discord emulator."""
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    host = PluginHost.create()
    spec = host.emulators().specs["discord"]
    discord = spec.factory(LIBRARY, "discord-token", Faults())
    url = discord.start()
    try:
        with emulated(LIBRARY) as (env, _):
            env = {
                **env,
                **spec.env(url, "discord-token"),
                "PRUNERR_DATA_DIR": str(tmp_path),
                "PRUNERR_RULES_DIR": str(rules_dir),
                "PRUNERR_DATABASE_URL": database_url,
            }
            config = host.load_config(env)
            services = host.services(config)
            for service in services.services:
                if hasattr(service, "http"):
                    service.http.retries = 0
            app = Prunerr(host, config, store=store, services=services)
            api = app.api(tasks=Tasks(app, create_huey(config, immediate=True)))
            client = Client(create_app(api), api.keys.current())
            assert client.post("/api/library/sync").status_code == 202
            yield client, app, discord, env
    finally:
        discord.stop()


def picks(app) -> dict[str, dict]:
    """A managed movie, a season and an episode (of two other shows) with files, their own
    titles and numbers, and the names people know them by, spelled out."""
    managed = (
        "{0}arr_id IS NOT NULL AND {0}size > 0 AND {0}tombstoned_at IS NULL AND NOT {0}protected"
    )
    with db_session:
        movie = app.store.read(
            "SELECT id, title, year FROM item WHERE type='movie' AND year IS NOT NULL "
            f"AND {managed.format('')} ORDER BY id LIMIT 1"
        )[0]
        episode = app.store.read(
            "SELECT e.id, e.title, e.season_number, e.episode_number, s.id, s.title FROM item e "
            "JOIN item s ON s.id = e.show WHERE e.type='episode' AND e.season_number > 0 "
            f"AND e.episode_number > 0 AND {managed.format('e.')} ORDER BY e.id LIMIT 1"
        )[0]
        season = app.store.read(
            "SELECT n.id, n.season_number, s.title FROM item n JOIN item s ON s.id = n.parent "
            "WHERE n.type='season' AND n.season_number > 0 AND n.arr_id IS NOT NULL "
            "AND s.id <> ? AND n.tombstoned_at IS NULL AND NOT n.protected AND EXISTS "
            "(SELECT 1 FROM item e WHERE e.parent = n.id AND e.size > 0) ORDER BY n.id LIMIT 1",
            (episode[4],),
        )[0]
    return {
        "movie": {
            "id": movie[0],
            "title": movie[1],
            "year": movie[2],
            "name": f"{movie[1]} ({movie[2]})",
        },
        "season": {
            "id": season[0],
            "number": season[1],
            "show": season[2],
            "name": f"{season[2]} — Season {season[1]}",
        },
        "episode": {
            "id": episode[0],
            "title": episode[1],
            "show": episode[5],
            "name": f"{episode[5]} — S{episode[2]:02d}E{episode[3]:02d} — {episode[1]}",
        },
    }


def test_a_queued_movie_season_and_episode_go_by_their_names_everywhere(setup, monkeypatch, capsys):
    client, app, discord, env = setup
    items = picks(app)
    movie, season, episode = items["movie"], items["season"], items["episode"]
    names = {i["id"]: i["name"] for i in items.values()}

    # the library: a movie keeps its own title (as in the original), a season is named
    for kind, item in items.items():
        data = client.get(f"/api/library/{item['id']}").json["data"]  # the original's record
        assert data["display_title"] == item["name"]
        assert data["title"] == (movie["title"] if kind == "movie" else data["fields"]["title"])
    listed = client.get(
        "/api/library", params={"type": "season", "search": season["show"], "limit": "500"}
    ).json["data"]["items"]
    assert {"id": season["id"], "title": season["name"], "displayTitle": season["name"]} in [
        {k: i[k] for k in ("id", "title", "displayTitle")} for i in listed
    ]

    # `prunerr rules plan --explain` names what each rule would queue
    rules_dir = app.rules_dir
    write_rule(
        rules_dir, "old-movie", f"title == {json.dumps(movie['title'])} and year == {movie['year']}"
    )
    write_rule(
        rules_dir,
        "one-season",
        f"show_title == {json.dumps(season['show'])} and season_number == {season['number']}",
        media="season",
    )
    write_rule(
        rules_dir,
        "one-episode",
        f"show_title == {json.dumps(episode['show'])} and title == {json.dumps(episode['title'])}",
        media="episode",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["rules", "plan", "--explain", "5"]) == 0
    printed = capsys.readouterr().out
    for rule, item in (("old-movie", movie), ("one-season", season), ("one-episode", episode)):
        assert f"\n{rule}: {item['name']} (" in printed
    assert main(["rules", "plan", "--format", "json", "--explain", "5"]) == 0
    planned = {r["rule"]: r["explained"] for r in json.loads(capsys.readouterr().out)["rules"]}
    assert [(e["title"], e["displayTitle"]) for e in planned["old-movie"]] == [
        (movie["title"], movie["name"])
    ]
    assert [(e["title"], e["displayTitle"]) for e in planned["one-season"]] == [
        (season["name"], season["name"])
    ]

    # the API's rule preview names its samples too
    preview = client.post(
        "/api/rules/preview",
        json={
            "name": "One season",
            "mediaType": "season",
            "when": f"show_title == {json.dumps(season['show'])} "
            f"and season_number == {season['number']}",
        },
    ).json["data"]
    assert [(s["id"], s["title"], s["displayTitle"]) for s in preview["samples"]] == [
        (season["id"], season["name"], season["name"])
    ]

    # queued by hand: the queue lists each under its name
    answer = client.post(
        "/api/library/bulk/mark-deletion",
        json={"ids": list(names), "gracePeriodDays": 0, "deletionAction": "unmonitor_and_delete"},
    )
    assert sorted(answer.json["data"]["success"]) == sorted(names)
    with db_session:
        stored = dict(app.store.read("SELECT item, title FROM queue_entry"))
    assert stored == names
    queue = client.get("/api/queue").json["data"]
    listed = {e["mediaItemId"]: (e["title"], e["displayTitle"]) for e in queue}
    assert listed == {
        movie["id"]: (movie["title"], movie["name"]),
        season["id"]: (season["name"], season["name"]),
        episode["id"]: (episode["name"], episode["name"]),
    }

    # processed: Discord, the deletion history and the activity log name them
    report = client.post("/api/queue/process").json["data"]
    assert report["deleted"] == 3, report
    (message,) = [m for m in discord.received if m["embeds"][0]["title"] == "3 item(s) deleted"]
    fields = [f["name"] for embed in message["embeds"] for f in embed.get("fields", ())]
    assert sorted(fields) == sorted(names.values())
    with db_session:
        history = dict(app.store.read("SELECT item, title FROM deletion"))
    assert history == names
    for item_id, name in names.items():
        entries = client.get(f"/api/activity/item/{item_id}").json["data"]
        assert {e["action"] for e in entries} >= {"item_queued", "deleted"}
        assert {e["targetTitle"] for e in entries} == {name}


def test_entries_and_activity_stored_with_old_titles_are_named_when_read(setup):
    """Before display titles, a season was queued and logged as "Season 2": the queue and the
    activity log name it from its item, and searching its show's title finds it."""
    client, app, _, _ = setup
    season = picks(app)["season"]
    answer = client.post(f"/api/library/{season['id']}/mark-deletion", json={})
    assert answer.status_code == 201
    old = f"Season {season['number']}"
    with db_session:
        app.store.execute("UPDATE queue_entry SET title=? WHERE item=?", (old, season["id"]))
        app.store.execute(
            "UPDATE activity SET target_title=? WHERE target_type='item' AND target_id=?",
            (old, season["id"]),
        )
    (entry,) = client.get("/api/queue").json["data"]
    assert (entry["title"], entry["displayTitle"]) == (season["name"], season["name"])
    found = client.get(
        "/api/activity", params={"search": season["show"], "eventTypes": "manual_action"}
    ).json["data"]["items"]
    assert [(e["targetId"], e["targetTitle"]) for e in found] == [(season["id"], season["name"])]
