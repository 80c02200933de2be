"""A rule's condition as the original's v2 tree (`prunerr.compat.trees.to_tree`), which the
original's web client edits: given only when it says exactly what the rule says."""

import pytest

from prunerr.compat.conditions import to_dsl
from prunerr.compat.trees import to_tree
from tests.rules.test_conditions import CASES, COLLECTIONS, evaluate, group, leaf, user

# what the original's rule builder writes most: each comes back as a tree
EVERYDAY = [
    leaf("play_count", "equals", 0),
    leaf("days_since_added", "greater_than", 30),
    leaf("days_since_watched", "greater_than", 90),
    leaf("size_gb", "greater_than", 20),
    leaf("resolution", "in", ["720p", "1080p"]),
    leaf("resolution_number", "less_than", 1080),
    leaf("codec", "equals", "h264"),
    leaf("genres", "contains_any", ["Horror", "Drama"]),
    leaf("title", "contains", "thing"),
    leaf("series_status", "equals", "ended"),
    leaf("year", "less_than", 2015),
    leaf("rating_imdb", "less_than", 6),
    leaf("watched_by_user", "ever_watched", None, **user("alice")),
    leaf("watched_by_user", "never_watched", None, **user("bob")),
]


@pytest.mark.parametrize(("field", "operator", "value", "extra", "expected"), CASES)
def test_a_tree_given_back_means_what_the_original_condition_meant(
    field, operator, value, extra, expected
):
    tree = to_tree(to_dsl([leaf(field, operator, value, **extra)], collections=COLLECTIONS))
    if tree is not None:
        assert evaluate(tree) is expected


@pytest.mark.parametrize("condition", EVERYDAY, ids=lambda c: f"{c['field']} {c['operator']}")
def test_what_the_originals_builder_writes_comes_back_as_the_same_tree(condition):
    sent = {"version": 2, "root": group("AND", condition, leaf("play_count", "less_than", 3))}
    back = to_tree(to_dsl(sent))
    assert back is not None
    (first, _) = back["root"]["children"]
    assert (first["field"], first["operator"]) in {
        (condition["field"], condition["operator"]),
        ("video_codec", "equals"),  # the original's `codec` is `video_codec` too
    }
    assert to_dsl(back) == to_dsl(sent)


def test_groups_nest_as_they_were_sent():
    sent = {
        "version": 2,
        "root": group(
            "OR",
            group("AND", leaf("play_count", "equals", 0), leaf("size_gb", "greater_than", 50)),
            group("NOT", leaf("genres", "contains_any", ["Kids"])),
        ),
    }
    assert to_tree(to_dsl(sent)) == sent


@pytest.mark.parametrize(
    ("when", "leaves"),
    [
        # the original's `tags` reads the *arr tags and the media server's labels
        ('tags contains "keep" or labels contains "keep"', [("tags", "contains_any", ["keep"])]),
        # a null guard next to `is null` changes nothing: the example rules write none
        (
            "last_watched is null or last_watched < 1 year ago",
            [("days_since_watched", "is_null", None), ("days_since_watched", "greater_than", 365)],
        ),
    ],
)
def test_conditions_as_people_write_them_have_trees(when, leaves):
    tree = to_tree(when)
    assert tree is not None
    children = tree["root"]["children"]
    assert [(c["field"], c["operator"], c["value"]) for c in children] == leaves


@pytest.mark.parametrize(
    "when",
    [
        "year < 2015",  # null is unknown here; the tree's condition is false for it
        'labels contains "keep"',  # half of the original's `tags`
        # unlike `x < ...`, `y > 3` may be true when x is unknown: the guard is not redundant
        "last_watched is null or (last_watched is not null and rating.imdb > 3)",
        "last_watched ?? added < 90 days ago",
        'size > 10 GiB and last_watched_by("alice") < 30 days ago',
        "not " * 1000 + "play_count == 0",
        'title == "x" and resolution < "1080p"',
    ],
)
def test_a_condition_no_tree_says_exactly_has_none(when):
    assert to_tree(when) is None
