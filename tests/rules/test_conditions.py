from datetime import UTC, datetime

import pytest

from prunerr.compat.conditions import _FIELDS, _OPERATORS, ConditionError, to_dsl
from prunerr.dsl import CORE, UNKNOWN, EvalContext
from prunerr.dsl.items import load_item
from prunerr.dsl.program import compile_condition

NOW = EvalContext(datetime(2025, 6, 15, 12, tzinfo=UTC))
COLLECTIONS = {7: "Carpenter Collection", 8: "Pixar"}

# Every field known, so each case reads only what its condition asks about.
ITEM = {
    "title": "The Thing",
    "type": "movie",
    "year": 1982,
    "added": "2025-03-01",  # 106.5 days before NOW
    "size": "12 GiB",
    "resolution": "1080p",
    "resolution_height": 1080,
    "video_codec": "h264",
    "audio_codec": "aac",
    "hdr": "none",
    "bitrate": 8000,
    "runtime": "109 min",
    "play_count": 2,
    "last_watched": "2025-05-01",  # 45.5 days before NOW
    "watched_by": ["alice", "bob"],
    "watches": {
        "alice": {"plays": 1, "last_watched": "2025-05-01"},
        "bob": {"plays": 1, "last_watched": "2024-01-01"},
    },
    "genres": ["Horror", "Sci-Fi"],
    "tags": ["keep"],
    "labels": [],
    "collections": ["Carpenter Collection"],
    "studio": "Universal",
    "content_rating": "R",
    "original_language": "English",
    "rating.imdb": 8.2,
    "rating.tmdb": 7.9,
    "rating.rt": 84,
    "season_count": 3,
    "episode_count": 30,
    "series_status": "ended",
    "requested_by": "carol",
}


def leaf(field: str, operator: str, value: object = None, **extra: object) -> dict:
    return {"kind": "condition", "field": field, "operator": operator, "value": value, **extra}


def group(logic: str, *children: dict) -> dict:
    return {"kind": "group", "logic": logic, "children": list(children)}


def user(name: str, days: int | None = None) -> dict:
    return {"params": {"username": name, "days": days}}


def evaluate(conditions: object, **changes: object) -> object:
    """The converted rule's outcome on ITEM with `changes`; a change to `...` drops the field,
    which makes it unknown."""
    text = to_dsl(conditions, collections=COLLECTIONS)
    compilation = compile_condition(text)
    assert compilation.ok and not compilation.diagnostics, (text, compilation.diagnostics)
    raw = {**ITEM, **changes}
    item, problems = load_item({k: v for k, v in raw.items() if v is not ...}, CORE)
    assert not problems
    return compilation.program.evaluate(item, NOW)


# (field, operator, value, extra, outcome on ITEM): the original's intended result.
CASES = [
    ("title", "equals", "the thing", {}, True),  # case-insensitive here
    ("title", "not_equals", "Alien", {}, True),
    ("title", "contains", "THING", {}, True),
    ("title", "not_contains", "thing", {}, False),
    ("title", "in", "Alien, The Thing", {}, True),
    ("title", "not_in", ["Alien"], {}, True),
    ("title", "regex_match", "^the\\s", {}, True),
    ("title", "starts_with", "The", {}, True),
    ("title", "ends_with", "thing", {}, True),
    ("title", "is_null", None, {}, False),
    ("type", "equals", "movie", {}, True),
    ("type", "not_equals", "tv", {}, True),
    ("type", "in", '["tv"]', {}, False),
    ("type", "not_in", ["show"], {}, True),
    ("year", "equals", 1982, {}, True),
    ("year", "not_equals", 1982, {}, False),
    ("year", "greater_than", 1980, {}, True),
    ("year", "less_than", "1980", {}, False),  # numeric strings, as the original coerced them
    ("year", "greater_than_or_equal", 1982, {}, True),
    ("year", "less_than_or_equal", 1981, {}, False),
    ("year", "between", [1980, 1989], {}, True),
    ("year", "is_null", None, {}, False),
    ("year", "is_empty", None, {}, False),
    ("year", "is_not_null", None, {}, True),
    ("year", "is_not_empty", None, {}, True),
    ("days_since_added", "greater_than", 100, {}, True),
    ("days_since_added", "less_than", 100, {}, False),
    ("days_since_added", "greater_than_or_equal", 106, {}, True),
    ("days_since_added", "less_than_or_equal", 106, {}, False),
    ("days_since_added", "equals", 106, {}, True),
    ("days_since_added", "not_equals", 106, {}, False),
    ("days_since_added", "between", [100, 106], {}, True),
    ("days_since_added", "between", [100, 105], {}, False),
    ("days_since_watched", "greater_than", 90, {}, False),
    ("days_since_watched", "greater_than", 30, {}, True),
    ("days_since_watched", "equals", 45, {}, True),
    ("days_since_watched", "is_not_null", None, {}, True),
    ("play_count", "equals", 2, {}, True),
    ("play_count", "less_than", 3, {}, True),
    ("size_gb", "greater_than", 10, {}, True),
    ("size_gb", "between", [11.5, 12], {}, True),
    ("resolution", "equals", "1080p", {}, True),
    ("resolution", "equals", "4K", {}, False),
    ("resolution", "not_equals", "1080P", {}, False),
    ("resolution", "in", ["720p", "1080p"], {}, True),
    ("resolution", "not_in", ["4K"], {}, True),
    ("resolution", "is_null", None, {}, False),
    ("resolution_number", "less_than", 1080, {}, False),
    ("resolution_number", "greater_than_or_equal", 1080, {}, True),
    ("video_codec", "contains", "264", {}, True),
    ("codec", "equals", "H264", {}, True),
    ("audio_codec", "in", ["aac", "ac3"], {}, True),
    ("hdr", "equals", "None", {}, True),
    ("hdr", "equals", "HDR10", {}, False),
    ("hdr", "not_in", ["Dolby Vision", "HDR10+"], {}, True),
    ("bitrate", "greater_than", 5000, {}, True),  # kbps
    ("rating_imdb", "greater_than_or_equal", 8.2, {}, True),
    ("rating_tmdb", "less_than", 8, {}, True),
    ("rating_rt", "between", [80, 90], {}, True),
    ("content_rating", "equals", "R", {}, True),
    ("content_rating", "in", ["PG", "PG-13"], {}, False),
    ("watched_by_user", "ever_watched", None, user("Alice"), True),
    ("watched_by_user", "never_watched", None, user("carol"), True),
    ("watched_by_user", "watched_since", None, user("alice", 60), True),
    ("watched_by_user", "watched_since", None, user("bob", 60), False),
    ("watched_by_user", "not_watched_since", None, user("bob", 365), True),
    ("watched_by_user", "not_watched_since", None, user("carol", 30), True),
    ("watched_by", "equals", "Alice", {}, True),
    ("watched_by", "not_equals", "carol", {}, True),
    ("watched_by", "in", ["carol", "bob"], {}, True),
    ("watched_by", "not_in", ["carol"], {}, True),
    ("watched_by", "contains", "lic", {}, True),
    ("watched_by", "not_contains", "lic", {}, False),
    ("watched_by", "starts_with", "bo", {}, True),
    ("watched_by", "ends_with", "ce", {}, True),
    ("watched_by", "regex_match", "^b.b$", {}, True),
    ("watched_by", "is_null", None, {}, False),
    ("watched_by", "is_not_empty", None, {}, True),
    ("watched_by_count", "less_than", 2, {}, False),
    ("watched_by_count", "equals", 2, {}, True),
    ("never_watched", "equals", True, {}, False),
    ("never_watched", "equals", False, {}, True),
    ("never_watched", "not_equals", True, {}, True),
    ("last_watched_at", "equals", "2025-05-01", {}, True),
    ("last_watched_at", "equals", "2025-05-01T00:00:00Z", {}, True),
    ("last_watched_at", "not_equals", "2025-05-01", {}, False),
    ("last_watched_at", "greater_than", "2025-04-30", {}, True),
    ("last_watched_at", "greater_than", "2025-05-01", {}, False),  # after that whole day
    ("last_watched_at", "less_than", "2025-05-01T00:00:00Z", {}, False),
    ("last_watched_at", "less_than_or_equal", "2025-05-01T02:00+02:00", {}, True),
    ("last_watched_at", "greater_than_or_equal", "2025-05-01", {}, True),
    ("last_watched_at", "between", ["2025-04-01", "2025-05-01"], {}, True),
    ("last_watched_at", "is_null", None, {}, False),
    ("collection_membership", "in_collection_id", 7, {}, True),
    ("collection_membership", "in_collection_id", "8", {}, False),
    ("genres", "contains_any", ["horror", "Drama"], {}, True),
    ("genres", "contains_all", ["Horror", "Drama"], {}, False),
    ("genres", "not_contains", "Horror", {}, False),
    ("genres", "matches_any", "Drama", {}, False),
    ("genres", "matches_all", ["horror", "sci-fi"], {}, True),
    ("genres", "is_empty", None, {}, False),
    ("tags", "contains_any", "keep", {}, True),
    ("tags", "contains_all", ["keep", "4k"], {}, False),
    ("tags", "not_contains", ["keep"], {}, False),
    ("tags", "is_null", None, {}, False),
    ("tags", "is_not_null", None, {}, True),
    ("studio", "starts_with", "Uni", {}, True),
    ("runtime_minutes", "greater_than", 100, {}, True),
    ("runtime_minutes", "less_than", 100.5, {}, False),
    ("season_count", "greater_than", 2, {}, True),
    ("episode_count", "between", [10, 30], {}, True),
    ("series_status", "equals", "Ended", {}, True),
    ("series_status", "in", ["continuing", "upcoming"], {}, False),
    ("original_language", "equals", "english", {}, True),
    ("requested_by", "equals", "Carol", {}, True),
    ("requested_by", "is_null", None, {}, False),
]


@pytest.mark.parametrize(("field", "operator", "value", "extra", "expected"), CASES)
def test_each_field_and_operator_converts_to_a_clean_rule_with_the_intended_result(
    field, operator, value, extra, expected
):
    assert evaluate([leaf(field, operator, value, **extra)]) is expected


def test_the_cases_cover_every_field_and_every_operator_of_its_kind():
    assert {field for field, *_ in CASES} == set(_FIELDS)
    covered = {(_FIELDS[field].kind, operator) for field, operator, *_ in CASES}
    unsupported = {"in_any_protected", "not_in_any_protected"}  # rejected, tested below
    # The null checks share one converter per shape (scalar, list), covered above.
    null_checks = {"is_null", "is_empty", "is_not_null", "is_not_empty"}
    operators = {
        (kind, op) for kind, ops in _OPERATORS.items() for op in ops if op not in null_checks
    }
    assert operators - covered == {("collection", op) for op in unsupported}


@pytest.mark.parametrize(
    ("conditions", "changes", "expected"),
    [
        # A null value never makes a rule match, negated or not.
        ([leaf("studio", "not_in", ["A24"])], {"studio": None}, False),
        ([leaf("studio", "not_equals", "A24")], {"studio": None}, False),
        ([leaf("studio", "not_contains", "A24")], {"studio": None}, UNKNOWN),
        ({"root": group("NOT", leaf("studio", "in", ["A24"]))}, {"studio": None}, False),
        ([leaf("rating_imdb", "less_than", 5)], {"rating.imdb": None}, False),
        (
            {"root": group("NOT", leaf("rating_imdb", "greater_than", 7))},
            {"rating.imdb": None},
            False,
        ),
        # days_since_watched is null for never-watched items, as in the original.
        ([leaf("days_since_watched", "greater_than", 90)], {"last_watched": None}, False),
        (
            {"root": group("NOT", leaf("days_since_watched", "less_than", 9))},
            {"last_watched": None},
            False,
        ),
        ([leaf("days_since_watched", "is_null")], {"last_watched": None}, True),
        # The original read an unknown resolution as 0, so `< 1080` matched it.
        ([leaf("resolution_number", "less_than", 1080)], {"resolution_height": None}, False),
        # Unknown watch data (source down) is never taken for "never watched".
        ([leaf("play_count", "equals", 0)], {"play_count": ...}, UNKNOWN),
        ([leaf("watched_by_user", "never_watched", **user("carol"))], {"watches": ...}, UNKNOWN),
    ],
)
def test_null_and_unknown_values_never_make_a_converted_rule_match(conditions, changes, expected):
    assert evaluate(conditions, **changes) is expected


def test_tags_also_search_media_server_labels_as_the_original_merged_them():
    assert evaluate([leaf("tags", "not_contains", "keep")], tags=[], labels=["Keep"]) is False
    assert evaluate([leaf("tags", "contains_all", ["a", "b"])], tags=["a"], labels=["B"]) is True
    assert evaluate([leaf("tags", "is_empty")], tags=[], labels=["x"]) is False


OLD_SMALL = [leaf("play_count", "equals", 0), leaf("size_gb", "less_than", 1)]


@pytest.mark.parametrize(
    "conditions",
    [
        OLD_SMALL,
        {"conditions": OLD_SMALL},
        {"version": 1, "conditions": OLD_SMALL, "logic": "AND"},
        {"root": group("AND", *OLD_SMALL)},
        {"version": 2, "root": group("AND", *OLD_SMALL)},
    ],
)
def test_v1_and_v2_shapes_convert_alike(conditions):
    assert to_dsl(conditions) == "play_count == 0\nand size < 1 GiB"


def test_v1_or_logic_and_one_clause_per_line():
    conditions = {"conditions": [*OLD_SMALL, leaf("year", "less_than", 2015)], "logic": "OR"}
    assert to_dsl(conditions) == (
        "play_count == 0\nor size < 1 GiB\nor (year is not null and year < 2015)"
    )


def test_not_negates_the_and_of_its_children_and_groups_nest():
    tree = group(
        "OR",
        group("NOT", leaf("genres", "contains_any", ["Horror"]), leaf("year", "equals", 1982)),
        group("AND", leaf("play_count", "equals", 0), group("NOT", leaf("type", "equals", "tv"))),
    )
    assert to_dsl({"root": tree}) == (
        'not (genres contains "Horror" and (year is null or year == 1982))\n'
        'or (play_count == 0 and not (type == "show"))'
    )
    assert evaluate({"root": tree}) is False
    assert evaluate({"root": tree}, year=1983) is True
    assert evaluate({"root": tree}, play_count=0) is True


def test_the_original_templates_convert_to_clean_rules():
    # GET /api/rules/suggestions and the Easy Setup sentence builder.
    templates = [
        [leaf("play_count", "equals", 0), leaf("days_since_added", "greater_than", 30)],
        [leaf("size_gb", "greater_than", 10), leaf("days_since_watched", "greater_than", 30)],
        [leaf("resolution_number", "less_than", 1080)],
        [leaf("codec", "contains", "h264")],
        [leaf("year", "less_than", 2015), leaf("days_since_watched", "greater_than", 180)],
        [leaf("resolution_number", "greater_than", 2000), leaf("play_count", "equals", 1)],
        [leaf("watched_by_count", "less_than", 2)],
    ]
    for conditions in templates:
        assert evaluate(conditions) in (True, False)


@pytest.mark.parametrize(
    "title",
    [
        'Say "Hi"',
        "Schindler's List",
        "back\\slash \\d \\u00e9",
        "tab\tnew\nline\r\0",
        "Amélie 😀",
        "\x07",
    ],
)
def test_string_values_round_trip_through_dsl_literals(title):
    assert evaluate([leaf("title", "equals", title)], title=title) is True
    assert evaluate([leaf("title", "starts_with", title)], title=title + "!") is True


def test_regex_values_keep_their_backslashes():
    assert evaluate([leaf("title", "regex_match", r"\d{4}$")], title="Blade Runner 2049") is True
    assert evaluate([leaf("title", "regex_match", r"\d{4}$")], title="Blade Runner") is False


def chain(depth: int) -> dict:
    """`depth` nested groups around one condition (the root is level 1)."""
    node = leaf("year", "equals", 1982)
    for _ in range(depth):
        node = group("AND", node)
    return {"version": 2, "root": node}


def test_nesting_is_limited_to_40_levels():
    assert to_dsl(chain(39)) == "year == 1982"
    with pytest.raises(ConditionError) as error:
        to_dsl(chain(40))
    assert error.value.path == "conditions.root" + ".children[0]" * 40
    assert "more than 40 levels" in error.value.message


YEAR = leaf("year", "equals", 1982)


@pytest.mark.parametrize(
    ("conditions", "path", "message"),
    [
        (None, "conditions", "expected a condition tree"),
        ("year > 1", "conditions", "expected a condition tree"),
        ({}, "conditions", "expected `root`"),
        ([], "conditions", "the group is empty"),
        ({"conditions": [], "logic": "AND"}, "conditions.conditions", "the group is empty"),
        ({"root": group("AND")}, "conditions.root.children", "matched the whole library"),
        (
            {"root": group("OR", YEAR, group("NOT"))},
            "conditions.root.children[1].children",
            "empty",
        ),
        ({"version": 3, "root": YEAR}, "conditions.version", "unsupported version 3"),
        ({"conditions": [YEAR], "logic": "XOR"}, "conditions.logic", '"AND" or "OR"'),
        ({"root": {"logic": "AND", "children": [YEAR]}}, "conditions.root.kind", '"group"'),
        ({"root": group("XOR", YEAR)}, "conditions.root.logic", '"NOT"'),
        (
            {"root": {"kind": "group", "logic": "AND", "children": {}}},
            "conditions.root.children",
            "list",
        ),
        ({"root": group("AND", YEAR, 5)}, "conditions.root.children[1]", "expected a group"),
        ([YEAR, "year > 1"], "conditions[1]", "expected a condition object"),
        (
            [YEAR, leaf("days_since_aded", "greater_than", 3)],
            "conditions[1].field",
            "did you mean `days_since_added`?",
        ),
        (
            [leaf("file_size", "greater_than", 3)],
            "conditions[0].field",
            "unknown field `file_size`",
        ),
        ([leaf(None, "equals", 3)], "conditions[0].field", "expected field name, got null"),
        ([leaf("year", "greater")], "conditions[0].operator", "did you mean `greater_than`?"),
        (
            [leaf("year", "contains", "19")],
            "conditions[0].operator",
            "unknown operator `contains` for `year`",
        ),
        ([leaf("genres", "equals", "Horror")], "conditions[0].operator", "for `genres`"),
        (
            {"conditions": [leaf("year", "equals", "ten")]},
            "conditions.conditions[0].value",
            "expected a number",
        ),
        ([leaf("year", "equals", True)], "conditions[0].value", "expected a number, got true"),
        ([leaf("size_gb", "between", [1])], "conditions[0].value", "[min, max]"),
        ([leaf("size_gb", "between", [1, "big"])], "conditions[0].value[1]", "expected a number"),
        ([leaf("size_gb", "between", [5, 1])], "conditions[0].value", "min <= max"),
        (
            [leaf("days_since_added", "greater_than", -1)],
            "conditions[0].value",
            "cannot be negative",
        ),
        ([leaf("studio", "in", [])], "conditions[0].value", "the list is empty"),
        ([leaf("studio", "in", ["A24", 3])], "conditions[0].value[1]", "expected a string"),
        ([leaf("title", "contains", "")], "conditions[0].value", "would match every item"),
        ([leaf("title", "equals", 2001)], "conditions[0].value", "expected a string"),
        ([leaf("resolution", "equals", "8K")], "conditions[0].value", "is not one of 480p"),
        (
            [leaf("hdr", "in", ["HDR10", "HDR11"])],
            "conditions[0].value[1]",
            'did you mean "hdr10"?',
        ),
        ([leaf("last_watched_at", "less_than", "last week")], "conditions[0].value", "ISO-8601"),
        ([leaf("never_watched", "equals", "yes")], "conditions[0].value", "true or false"),
        ([leaf("watched_by_user", "ever_watched")], "conditions[0].params", "{username, days}"),
        (
            [leaf("watched_by_user", "ever_watched", **user(""))],
            "conditions[0].params.username",
            "name",
        ),
        (
            [leaf("watched_by_user", "watched_since", **user("al"))],
            "conditions[0].params.days",
            "number",
        ),
        (
            [leaf("collection_membership", "in_collection_id", 99)],
            "conditions[0].value",
            "no collection with id 99",
        ),
        (
            [leaf("collection_membership", "not_in_any_protected")],
            "conditions[0].operator",
            "`protected`",
        ),
        (
            [leaf("collection_membership", "in_any_protected")],
            "conditions[0].operator",
            "not supported",
        ),
    ],
)
def test_bad_input_is_rejected_with_the_exact_place(conditions, path, message):
    with pytest.raises(ConditionError) as error:
        to_dsl(conditions, collections=COLLECTIONS)
    assert error.value.path == path
    assert message in error.value.message
    assert str(error.value) == f"{path}: {error.value.message}"


def test_paths_start_where_the_caller_says():
    with pytest.raises(ConditionError, match=r"^body\.conditionsV2\.root\.kind: "):
        to_dsl({"root": {}}, where="body.conditionsV2")


def test_collection_ids_need_the_callers_titles():
    conditions = [leaf("collection_membership", "in_collection_id", 8)]
    assert to_dsl(conditions, collections=COLLECTIONS) == 'collections contains "Pixar"'
    with pytest.raises(ConditionError, match="no collection with id 8"):
        to_dsl(conditions)


# --- wide trees (issue 11): converted rules compile however many conditions a group holds ------


def test_a_group_of_70_conditions_converts_to_a_rule_that_compiles():
    """The compiler used to nest one level per clause: 67 clauses were a SyntaxError."""
    older = [leaf("year", "greater_than", 1900 + i) for i in range(70)]
    assert evaluate({"version": 2, "root": group("AND", *older)}) is True
    assert evaluate({"version": 2, "root": group("AND", *older)}, year=1950) is False
    assert evaluate({"conditions": older, "logic": "OR"}, year=1901) is True
    guarded = [leaf("rating_imdb", "greater_than", 1 + i / 100) for i in range(70)]
    tree = {"version": 2, "root": group("NOT", group("OR", *guarded))}
    assert evaluate(tree) is False
    assert evaluate(tree, **{"rating.imdb": 0.5}) is True
    assert evaluate(tree, **{"rating.imdb": None}) is False  # null never makes it match


@pytest.mark.slow
def test_a_tree_of_10000_conditions_converts_to_a_rule_that_compiles():
    titles = [leaf("title", "equals", f"Movie {i}") for i in range(9_999)]
    tree = {"version": 2, "root": group("OR", *titles, leaf("year", "equals", 1982))}
    assert to_dsl(tree).count("\nor ") == 9_999
    assert evaluate(tree) is True
    assert evaluate(tree, year=1983) is False


@pytest.mark.parametrize(
    ("conditions", "path"),
    [
        ({"root": group("OR", *[YEAR] * 10_001)}, "conditions.root.children[10000]"),
        (
            {"root": group("AND", group("OR", *[YEAR] * 6_000), group("OR", *[YEAR] * 6_000))},
            "conditions.root.children[1].children[4000]",
        ),
        ([YEAR] * 10_001, "conditions[10000]"),
    ],
    ids=["one group", "two groups", "v1"],
)
def test_more_than_10000_conditions_are_refused_at_the_first_one_too_many(conditions, path):
    with pytest.raises(ConditionError) as error:
        to_dsl(conditions)
    assert error.value.path == path
    assert "more than 10,000 conditions" in error.value.message


def test_a_value_nested_deeper_than_any_json_is_named_not_a_crash():
    value: object = "1982"
    for _ in range(5_000):
        value = [value]
    with pytest.raises(ConditionError) as error:
        to_dsl([leaf("year", "equals", value)])
    assert error.value.path == "conditions[0].value"
    assert error.value.message.startswith("expected a number, got [[[")
