"""Rules endpoints over a library synced from the emulators, with a copy of rules.d."""

import json
import shutil
from datetime import UTC, datetime

import pytest
from pony.orm import db_session

from prunerr.api import create_app
from prunerr.api.rules import TEMPLATES, rule_file
from prunerr.dsl import EvalContext
from prunerr.emulation import generate
from prunerr.plugins import PluginHost
from prunerr.rules import Rule, load_rules, parse_rule
from prunerr.store import collections
from tests.api.conftest import Client, make_api
from tests.support import REPO, copy_synced

pytestmark = pytest.mark.slow


FILE_RULES = len(load_rules([REPO / "rules.d"]).rules)
STALE_4K = "movies/stale-4k"
LIBRARY = generate("XS", seed=4)
UNWATCHED = {"name": "Unwatched movies", "mediaType": "movie", "when": "play_count == 0"}


@pytest.fixture
def rules_dir(tmp_path):
    return shutil.copytree(REPO / "rules.d", tmp_path / "rules.d")


@pytest.fixture
def client(store, tmp_path, rules_dir) -> Client:
    host = PluginHost.create()
    env = copy_synced(LIBRARY, store)
    config = host.load_config(
        {**env, "PRUNERR_DATA_DIR": str(tmp_path), "PRUNERR_RULES_DIR": str(rules_dir)}
    )
    services = host.services(config)
    api = make_api(store, config, services)
    return Client(create_app(api), api.keys.current())


def rules_by_path(client) -> dict[str, dict]:
    return {r["path"]: r for r in client.get("/api/rules").json["data"]}


def body(**fields) -> dict:
    """UNWATCHED with `fields` changed; a None removes a field."""
    return {k: v for k, v in {**UNWATCHED, **fields}.items() if v is not None}


def create(client, **fields) -> dict:
    result = client.post("/api/rules", json=body(**fields))
    assert result.status_code == 201, result.json
    return result.json["data"]


def preview(client, **fields) -> dict:
    result = client.post("/api/rules/preview", json=body(**fields))
    assert result.status_code == 200, result.json
    return result.json["data"]


def export(client, rule_id):
    return client.client.simulate_get(
        f"/api/rules/{rule_id}/export", headers={"X-Api-Key": client.key}
    )


def test_every_rule_is_listed_with_its_source_and_the_total(client):
    listing = client.get("/api/rules").json
    assert listing["total"] == len(listing["data"]) == FILE_RULES
    stale = rules_by_path(client)[STALE_4K]
    assert stale["source"] == "file" and stale["readOnly"] is True
    assert stale["file"] == f"{STALE_4K}.yaml" and stale["mediaType"] == "movie"
    assert stale["when"].startswith('resolution == "2160p"') and stale["gracePeriodDays"] == 14
    assert client.get(f"/api/rules/{stale['id']}").json["data"] == stale
    assert client.get("/api/rules/424242").status_code == 404
    assert client.get("/api/rules/abc").status_code == 404


def test_api_rules_are_created_changed_and_deleted(client):
    rule = create(client, description="spare nothing", gracePeriodDays=3, priority=5)
    assert rule["source"] == "api" and rule["readOnly"] is False and rule["file"] is None
    assert rule["path"] == f"api/{rule['id']}" and rule["when"] == "play_count == 0"
    assert (rule["gracePeriodDays"], rule["priority"], rule["enabled"]) == (3, 5, True)
    assert client.get("/api/rules").json["total"] == FILE_RULES + 1

    changed = client.request("PUT", f"/api/rules/{rule['id']}", json={"enabled": False})
    assert changed.status_code == 200
    assert changed.json["data"]["enabled"] is False
    assert changed.json["data"]["description"] == "spare nothing"  # left out: kept
    assert changed.json["data"]["gracePeriodDays"] == 3
    # a protect rule drops the delete-only settings it had
    protect = client.request("PUT", f"/api/rules/{rule['id']}", json={"kind": "protect"})
    assert protect.json["data"]["kind"] == "protect"
    assert protect.json["data"]["gracePeriodDays"] == 7

    deleted = client.request("DELETE", f"/api/rules/{rule['id']}")
    assert deleted.status_code == 200 and deleted.json["data"] == {"id": rule["id"]}
    assert client.get(f"/api/rules/{rule['id']}").status_code == 404
    assert client.request("DELETE", f"/api/rules/{rule['id']}").status_code == 404
    assert client.request("PUT", "/api/rules/abc", json={}).status_code == 404


def test_the_originals_spellings_are_accepted(client):
    rule = create(
        client,
        mediaType=None,
        media_type="tv",
        library_keys=["TV Shows"],
        deletionAction="full_removal",
        resetOverseerr=True,
        profileId=None,
        action="delete",
    )
    assert rule["mediaType"] == "show" and rule["libraries"] == ["TV Shows"]
    assert rule["deletionAction"] == "full_removal" and rule["resetOverseerr"] is True


def _counts(preview: dict) -> tuple:
    return tuple(
        preview[k] for k in ("totalMatches", "wouldQueue", "wouldSkipProtected", "totalSize")
    )


@pytest.mark.parametrize("scope", [{"mediaType": "all"}, {"mediaType": None}])
def test_all_media_types_the_originals_default_are_a_rule_for_movies_and_one_for_shows(
    client, scope
):
    movies, shows = (preview(client, mediaType=kind) for kind in ("movie", "show"))
    both = preview(client, **scope)
    assert _counts(both) == tuple(
        m + s for m, s in zip(_counts(movies), _counts(shows), strict=True)
    )
    assert {s["type"] for s in both["samples"]} == {"movie", "show"}

    answer = client.post("/api/rules", json=body(**scope))
    assert (
        answer.status_code == 201 and answer.json["message"] == "Rules created for movies and shows"
    )
    made = answer.json["rules"]
    assert answer.json["data"] == made[0]
    assert [(r["name"], r["mediaType"]) for r in made] == [
        ("Unwatched movies (movies)", "movie"),
        ("Unwatched movies (shows)", "show"),
    ]
    assert {r["id"] for r in made} <= {r["id"] for r in client.get("/api/rules").json["data"]}
    # a saved rule keeps one type
    changed = client.request("PUT", f"/api/rules/{made[0]['id']}", json={"mediaType": "all"})
    assert changed.status_code == 400 and changed.json["details"][0]["field"] == "mediaType"


def test_all_media_types_leave_out_the_type_a_condition_does_not_apply_to(client):
    ended = 'series_status == "ended"'
    assert preview(client, mediaType="all", when=ended) == preview(
        client, mediaType="show", when=ended
    )
    answer = client.post("/api/rules", json=body(mediaType="all", when=ended))
    assert answer.json["message"] == "Rule created for shows"
    assert [r["mediaType"] for r in answer.json["rules"]] == ["show"]
    broken = client.post("/api/rules/preview", json=body(mediaType="all", when="play_count =="))
    assert broken.status_code == 400 and broken.json["details"][0]["field"] == "when"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"mediaType": "film"}, "mediaType"),
        ({"enabled": "yes"}, "enabled"),
        ({"priority": 500}, "priority"),
        ({"gracePeriodDays": "7"}, "gracePeriodDays"),
        ({"gracePeriodDays": -1}, "gracePeriodDays"),
        ({"libraryKeys": "1"}, "libraryKeys"),
        ({"deletionAction": "nuke"}, "deletionAction"),
        ({"schedule": "nightly"}, "schedule"),
        ({"kind": "flag"}, "kind"),
        ({"when": 3}, "when"),
        ({"mediaType": "movie", "media_type": "show"}, "media_type"),
        ({"conditions": [{"field": "play_count", "operator": "equals", "value": 0}]}, "conditions"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, fields, field):
    result = client.post("/api/rules", json={**UNWATCHED, **fields})
    assert result.status_code == 400
    assert result.json["details"][0]["field"] == field


@pytest.mark.parametrize("body", [[], "rule", None])
def test_a_body_that_is_not_an_object_is_400(client, body):
    assert client.post("/api/rules", json=body).status_code == 400


def test_a_form_body_is_refused_with_the_content_type_to_send(client):
    """curl's `-d` without `-H "Content-Type: application/json"` sends a form: say so, rather
    than reading it as a rule without a name."""
    sent = json.dumps(body())
    form = client.post(
        "/api/rules",
        body=sent,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 400 and form.json["details"][0]["field"] == "body"
    assert "Content-Type: application/json" in form.json["error"]
    typed = client.post(
        "/api/rules", body=sent, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert typed.status_code == 201


def test_required_fields_are_named(client):
    missing = client.post("/api/rules", json={"mediaType": "movie", "when": "play_count == 0"})
    assert missing.status_code == 400 and missing.json["details"][0]["field"] == "name"
    no_when = client.post("/api/rules", json={"name": "x", "mediaType": "movie"})
    assert no_when.status_code == 400 and no_when.json["details"][0]["field"] == "when"


def test_condition_trees_are_converted_to_the_language(client):
    v2 = {
        "version": 2,
        "root": {
            "kind": "group",
            "logic": "AND",
            "children": [
                {"kind": "condition", "field": "play_count", "operator": "equals", "value": 0},
                {
                    "kind": "condition",
                    "field": "days_since_added",
                    "operator": "greater_than",
                    "value": 30,
                },
            ],
        },
    }
    rule = create(client, when=None, conditions=v2)
    assert rule["when"] == "play_count == 0\nand added < 30 days ago"
    legacy = [{"field": "size_gb", "operator": "greater_than", "value": 10}]
    rule = create(client, when=None, conditions=legacy)
    assert "size > 10 GiB" in rule["when"]
    either = [{"field": "play_count", "operator": "equals", "value": 0}, *legacy]
    rule = create(client, when=None, conditions=either, logic="OR")
    assert "\nor " in rule["when"]
    # the original stored the tree as JSON text, and its clients send it back that way
    rule = create(client, when=None, conditions=json.dumps(legacy))
    assert "size > 10 GiB" in rule["when"]


def test_a_collection_is_named_by_its_id_as_in_the_original(client, store):
    with db_session:
        collections.sync(store)
        target = max(collections.rows(store), key=lambda c: c["item_count"])
    condition = {"field": "collection_membership", "operator": "in_collection_id"}
    rule = create(client, when=None, conditions=[{**condition, "value": target["id"]}])
    assert rule["when"] == f"collections contains {json.dumps(target['title'])}"
    preview = client.post(
        "/api/rules/preview", json=body(when=None, conditions=[{**condition, "value": 10**6}])
    )
    assert preview.status_code == 400
    assert preview.json["details"][0]["field"] == "conditions[0].value"


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"version": 2, "root": {"kind": "group", "logic": "AND", "children": []}}, "children"),
        ([], "conditions"),
        ([{"field": "plays", "operator": "equals", "value": 0}], "conditions[0].field"),
        ("{not json", "conditions"),
    ],
)
def test_empty_or_broken_condition_trees_are_refused(client, conditions, field):
    result = client.post("/api/rules", json=body(when=None, conditions=conditions))
    assert result.status_code == 400
    assert result.json["details"][0]["field"].endswith(field)


@pytest.mark.parametrize("when", ["true", "size > 20 GB or 1 < 2"])
def test_always_true_conditions_are_refused(client, when):
    result = client.post("/api/rules", json={**UNWATCHED, "when": when})
    assert result.status_code == 400
    assert result.json["details"][0]["code"] == "E302"


def test_dsl_errors_come_back_with_positions_in_the_condition(client):
    result = client.post("/api/rules", json={**UNWATCHED, "when": "size > 20 GB\nand plays == 0"})
    assert result.status_code == 400
    (problem,) = result.json["details"]
    assert problem["code"] == "E101" and problem["field"] == "when"
    assert (problem["line"], problem["column"]) == (2, 5)
    assert "plays" in problem["message"] and problem["hint"]
    assert "plays" in result.json["error"]


def test_file_rules_are_read_only_and_the_answer_names_the_file(client):
    stale = rules_by_path(client)[STALE_4K]
    for method in ("PUT", "DELETE"):
        result = client.request(method, f"/api/rules/{stale['id']}", json={"enabled": False})
        assert result.status_code == 409
        assert f"rules.d/{STALE_4K}.yaml" in result.json["error"]
    assert rules_by_path(client)[STALE_4K]["enabled"] is True


def test_an_export_is_a_rule_file_that_loads(client, tmp_path):
    rule = create(
        client,
        name="Big: unwatched #1",
        description="two\nlines",
        when="play_count == 0\nand size > 1 GB  # big",
        gracePeriodDays=1.5,
        schedule="0 3 * * *",
    )
    result = export(client, rule["id"])
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/yaml"
    assert 'filename="big-unwatched-1.yaml"' in result.headers["content-disposition"]
    target = tmp_path / "elsewhere" / "rules.d" / "movies"
    target.mkdir(parents=True)
    (target / "big-unwatched.yaml").write_text(result.text)
    loaded = load_rules([target.parent])
    assert not loaded.diagnostics
    (moved,) = loaded.rules
    assert (moved.id, moved.name, moved.media) == ("movies/big-unwatched", rule["name"], "movie")
    assert moved.when.rstrip() == rule["when"] and moved.grace_period == 1.5 * 86400
    assert (moved.description, moved.schedule) == ("two\nlines", "0 3 * * *")

    stale = rules_by_path(client)[STALE_4K]
    from_file = export(client, stale["id"])
    assert from_file.text == (REPO / "rules.d" / f"{STALE_4K}.yaml").read_text()
    assert 'filename="stale-4k.yaml"' in from_file.headers["content-disposition"]
    assert export(client, 424242).status_code == 404


def test_reload_reads_new_files_and_reports_broken_ones(client, rules_dir):
    (rules_dir / "movies" / "huge.yaml").write_text(
        "name: Huge movies\nmedia: movie\nwhen: size > 80 GB\n"
    )
    (rules_dir / "movies" / "broken.yaml").write_text(
        "name: Broken\nmedia: movie\nwhen: plays > 1\n"
    )
    result = client.post("/api/rules/reload")
    data = result.json["data"]
    assert (data["total"], data["files"], data["api"]) == (FILE_RULES + 1, FILE_RULES + 1, 0)
    assert data["errors"] == 1
    (problem,) = data["diagnostics"]
    assert problem["file"].endswith("broken.yaml") and problem["code"] == "E101"
    assert rules_by_path(client)["movies/huge"]["source"] == "file"


def test_a_preview_is_what_a_run_then_queues(client):
    rule = create(client, when="play_count == 0 and size > 1 GB")
    before = preview(client, when=rule["when"])
    assert before["wouldQueue"] > 0 and before["alreadyPending"] == 0
    assert before["totalMatches"] == before["wouldQueue"] + before["wouldSkipProtected"]
    assert before["storageFreedGB"] == round(before["queueSize"] / 1e9, 2)
    samples = before["samples"]
    assert 0 < len(samples) <= 10
    assert [s["size"] for s in samples] == sorted((s["size"] for s in samples), reverse=True)
    assert samples[0]["values"]["play_count"] == "0" and "size = " in samples[0]["reason"]

    tripped = client.post(f"/api/rules/{rule['id']}/run")
    assert tripped.json["data"]["circuitBreakerTripped"] is True
    assert tripped.json["data"]["queued"] == 0 and "confirm=true" in tripped.json["message"]

    run = client.post(f"/api/rules/{rule['id']}/run", json={"confirm": True}).json["data"]
    assert run["circuitBreakerTripped"] is False
    assert run["queued"] == run["summary"]["processed"] == before["wouldQueue"]
    assert run["rule"] == {"id": rule["id"], "name": rule["name"], "action": "delete"}

    after = preview(client, when=rule["when"])
    assert after["alreadyPending"] == before["wouldQueue"] and after["wouldQueue"] == 0
    assert after["totalMatches"] == before["totalMatches"] - before["wouldQueue"]


def test_a_run_confirmed_in_the_query_string_queues(client):
    rule, expected = create(client), preview(client)["wouldQueue"]
    result = client.post(f"/api/rules/{rule['id']}/run", params={"confirm": "true"})
    assert result.json["data"]["queued"] == expected > 0


def test_run_errors(client):
    protect = next(r for r in rules_by_path(client).values() if r["kind"] == "protect")
    refused = client.post(f"/api/rules/{protect['id']}/run")
    assert refused.status_code == 409 and "protect rule" in refused.json["error"]
    assert client.post("/api/rules/424242/run").status_code == 404
    assert client.post("/api/rules/abc/run").status_code == 404
    rule = create(client)
    bad = client.post(f"/api/rules/{rule['id']}/run", json={"confirm": "yes"})
    assert bad.status_code == 400 and bad.json["details"][0]["field"] == "confirm"


def test_protected_items_are_counted_as_skipped(client):
    before = preview(client)
    top = before["samples"][0]
    client.post(f"/api/library/{top['id']}/protect")
    after = preview(client)
    assert after["wouldSkipProtected"] == before["wouldSkipProtected"] + 1
    assert after["wouldQueue"] == before["wouldQueue"] - 1
    assert after["totalMatches"] == before["totalMatches"]
    assert top["id"] not in [s["id"] for s in after["samples"]]


def test_a_preview_takes_the_originals_condition_tree(client):
    leaf = {"kind": "condition", "field": "play_count", "operator": "equals", "value": 0}
    body = {
        "mediaType": "movie",
        "version": 2,
        "root": {"kind": "group", "logic": "AND", "children": [leaf]},
    }
    tree = client.post("/api/rules/preview", json=body)
    assert tree.status_code == 200
    assert tree.json["data"] == preview(client)
    assert client.post("/api/rules/preview", json={"mediaType": "movie"}).status_code == 400
    bad = client.post("/api/rules/preview", json={**UNWATCHED, "when": "play_count == "})
    assert bad.status_code == 400 and bad.json["details"][0]["code"].startswith("E0")


def test_suggestions_count_what_the_created_rule_matches(client):
    data = client.get("/api/rules/suggestions").json["data"]
    assert data["libraryStats"]["movies"] == len(LIBRARY.movies)
    assert data["libraryStats"]["shows"] == len(LIBRARY.shows)
    assert len(data["suggestions"]) >= 3
    for suggestion in data["suggestions"]:
        assert suggestion["matchCount"] > 0
        rule = create(
            client,
            name=suggestion["name"],
            mediaType=suggestion["mediaType"],
            when=suggestion["when"],
        )
        seen = preview(client, mediaType=rule["mediaType"], when=rule["when"])
        assert (seen["totalMatches"], seen["totalSize"]) == (
            suggestion["matchCount"],
            suggestion["totalSize"],
        ), suggestion["id"]
        if suggestion["conditions"]:  # what the original's client makes of a click
            leaves = [{"kind": "condition", **c} for c in suggestion["conditions"]]
            root = {"kind": "group", "logic": "AND", "children": leaves}
            clicked = preview(client, mediaType=suggestion["mediaType"], when=None, root=root)
            assert clicked["totalMatches"] == suggestion["matchCount"], suggestion["id"]
            assert suggestion["conditionsV2"] == {"version": 2, "root": root}
    assert sum(bool(s["conditions"]) for s in data["suggestions"]) >= 3


def test_rules_carry_the_originals_tree_type_action_and_library_keys(client):
    record = client.get(
        f"/api/library/{client.get('/api/library').json['data']['items'][0]['id']}"
    ).json["data"]
    leaves = [
        {"kind": "condition", "field": "play_count", "operator": "equals", "value": 0},
        {
            "kind": "condition",
            "field": "days_since_watched",
            "operator": "greater_than",
            "value": 90,
        },
    ]
    sent = {"version": 2, "root": {"kind": "group", "logic": "OR", "children": leaves}}
    # the original's client names libraries by their keys on the media server
    made = create(client, when=None, conditions=sent, libraryKeys=[record["library_key"]])
    assert made["conditionsV2"] == sent and json.loads(made["conditions"]) == sent
    assert (made["type"], made["action"]) == ("watch_status", "delete")
    assert made["libraryKeys"] == [record["library_key"]]
    assert made["libraries"] == [record["fields"]["library"]]
    assert client.get(f"/api/rules/{made['id']}").json["data"]["conditionsV2"] == sent
    # a condition no tree says exactly: none, which the original's editor opens empty
    plain = create(client, when="year < 2015")
    assert (plain["conditionsV2"], plain["conditions"], plain["type"]) == (None, None, "age")


def test_library_items_name_rules_by_database_id_and_path(client):
    movie = client.get("/api/library", params={"type": "movie", "limit": "1"}).json["data"]
    detail = client.get(f"/api/library/{movie['items'][0]['id']}").json["data"]
    stale = rules_by_path(client)[STALE_4K]
    assert {"id": stale["id"], "path": STALE_4K} in [
        {"id": r["id"], "path": r["path"]} for r in detail["rules"]
    ]


# --- long and deep conditions (issue 11): a 200, a 201 or a 400 with E303, never a 500 ----------

LONG = " and ".join(["play_count == 0", *(f"size > {i} B" for i in range(69))])  # 70 clauses
DEEP = "not " * 1000 + "play_count == 0"  # the same as `play_count == 0`


def _depth(explanation: dict) -> int:
    depth = 1
    while explanation["children"]:
        (explanation,) = explanation["children"]
        depth += 1
    return depth


@pytest.mark.parametrize("when", [LONG, DEEP], ids=["70 clauses", "1000 nested not"])
def test_long_and_deep_conditions_are_previewed_and_created(client, when):
    expected = preview(client)
    seen = preview(client, when=when)
    assert (seen["totalMatches"], seen["wouldQueue"]) == (
        expected["totalMatches"],
        expected["wouldQueue"],
    )
    assert seen["samples"]
    if when == LONG:  # (the fields of DEEP are below the levels explanations show)
        assert seen["samples"][0]["values"]["play_count"] == "0"
    rule = create(client, when=when)
    assert rule["when"] == when
    movie = next(s for s in seen["samples"] if s["type"] == "movie")
    detail = client.get(f"/api/library/{movie['id']}")
    assert detail.status_code == 200
    (shown,) = [r for r in detail.json["data"]["rules"] if r["id"] == rule["id"]]
    assert shown["result"] == "match"
    if when == DEEP:  # explanations show the first 100 levels
        assert _depth(shown["explanation"]) == 100


def test_a_condition_nested_too_deep_is_400_with_e303_where_the_limit_is_passed(client):
    when = "not " * 2001 + "play_count == 0"
    for path in ("/api/rules", "/api/rules/preview"):
        result = client.post(path, json=body(when=when))
        assert result.status_code == 400, result.json
        (problem,) = result.json["details"]
        assert (problem["code"], problem["field"], problem["line"]) == ("E303", "when", 1)
        assert problem["column"] == len("not " * 2000) + 1  # the 2,001st `not`
        assert "2,000 levels" in problem["message"] and problem["hint"]


def _tree(count: int) -> dict:
    leaf = {"kind": "condition", "field": "play_count", "operator": "equals", "value": 0}
    return {"version": 2, "root": {"kind": "group", "logic": "AND", "children": [leaf] * count}}


def test_a_condition_tree_of_70_conditions_is_previewed_and_created(client):
    expected = preview(client)
    seen = client.post("/api/rules/preview", json={"mediaType": "movie", **_tree(70)})
    assert seen.status_code == 200, seen.json
    assert seen.json["data"]["totalMatches"] == expected["totalMatches"]
    rule = create(client, when=None, conditions=_tree(70))
    assert rule["when"].count("\nand play_count == 0") == 69


def test_a_condition_tree_of_too_many_conditions_is_400_naming_the_first_too_many(client):
    result = client.post("/api/rules", json=body(when=None, conditions=_tree(10_001)))
    assert result.status_code == 400
    (problem,) = result.json["details"]
    assert problem["field"] == "conditions.root.children[10000]"
    assert "more than 10,000 conditions" in problem["message"]


def _completed_shows() -> Rule:
    (template,) = [t for t in TEMPLATES if t.id == "completed-shows"]
    text = rule_file({"name": template.name, "media": "show", "when": template.when})
    return parse_rule(text, "<completed-shows>", "completed-shows").rules[0]


@pytest.mark.parametrize(
    ("status", "last_watched", "suggested"),
    [
        ("ended", 100, True),
        ("ended", None, False),  # nobody ever watched it
        ("ended", 10, False),  # still being watched
        ("continuing", 100, False),  # more will air
        ("upcoming", 100, False),
    ],
)
def test_the_completed_shows_suggestion_is_ended_series_that_were_watched(
    status, last_watched, suggested
):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    watched = None if last_watched is None else now.timestamp() - last_watched * 86400
    show = {"type": "show", "series_status": status, "last_watched": watched, "added": 0}
    assert (_completed_shows().evaluate(show, EvalContext(now)) is True) is suggested


def test_the_completed_shows_suggestion_counts_ended_watched_shows(client):
    suggestions = client.get("/api/rules/suggestions").json["data"]["suggestions"]
    (suggestion,) = [s for s in suggestions if s["id"] == "completed-shows"]
    assert "ended" in suggestion["description"] and "watched" in suggestion["description"]
    seen = preview(client, mediaType="show", when=suggestion["when"])
    assert seen["totalMatches"] == suggestion["matchCount"] > 0
    for shown in seen["samples"]:
        assert shown["values"]["series_status"] == '"ended"'
        assert shown["values"]["last_watched"] not in ("null", "unknown")
