"""`prunerr protect|unprotect` and `prunerr rules explain --title` against a synced emulated
library, on SQLite and PostgreSQL: protection follows show → season → episode, ends the entries
it shields, and an explanation of a synced item sees it as a real run does."""

from __future__ import annotations

import json

import pytest
from pony.orm import db_session

from prunerr.cli import main
from prunerr.queue import Queue, QueueOptions
from prunerr.store.activity import USER

pytestmark = pytest.mark.slow


BY_HAND = QueueOptions("delete_files_only", grace_days=3)


def own_titled(app, kind: str):
    """Items of a type whose title is no part of another movie's or show's, with a season and
    episodes when shows."""
    items = app.library.snapshot().items
    named = [i for i in items if i.fields["type"] in ("movie", "show")]
    for item in sorted((i for i in items if i.fields["type"] == kind), key=lambda i: i.id):
        title = item.title.casefold()
        if kind == "show" and not any(item.id in i.ancestors for i in items):
            continue
        if title and not any(title in o.title.casefold() for o in named if o is not item):
            return item
    raise AssertionError(f"no {kind} with a title of its own")


def under(app, show) -> list:
    return [i for i in app.library.snapshot().items if show.id in i.ancestors]


def row(app, item_id: int) -> tuple:
    with db_session:
        return app.store.read(
            "SELECT protected, protection_reason FROM item WHERE id=?", (item_id,)
        )[0]


def shielded(app, item_ids) -> set[int]:
    with db_session:
        return Queue(app.store).protected_items(list(item_ids))


def test_protecting_a_show_by_title_covers_its_seasons_and_ends_their_entries(synced, capsys):
    app = synced
    show = own_titled(app, "show")
    children = under(app, show)
    season = next(i for i in children if i.fields["type"] == "season")
    episode = next(i for i in children if i.fields["type"] == "episode")
    queued = app.evaluator.queue_by_hand([season.id, episode.id], BY_HAND, USER).queued

    assert main(["protect", show.title.lower(), "--reason", "the family watches it"]) == 0
    out = capsys.readouterr().out
    assert f"protected show {show.id}: {show.display_title}" in out
    seasons = sum(i.fields["type"] == "season" for i in children)
    assert f"{seasons} season" in out and "episode" in out
    assert all(f"queue entry {e} ended as protected" in out for e in queued)
    assert row(app, show.id) == (True, "the family watches it")
    assert shielded(app, [show.id, *(i.id for i in children)]) == {
        show.id,
        *(i.id for i in children),
    }
    with db_session:
        states = {Queue(app.store).entry(e).state for e in queued}
    assert states == {"protected"}


def test_unprotecting_says_when_protection_still_comes_from_above(synced, capsys):
    app = synced
    show = own_titled(app, "show")
    episode = next(i for i in under(app, show) if i.fields["type"] == "episode")
    assert main(["protect", str(show.id)]) == 0
    assert row(app, show.id) == (True, "protected by a user")
    assert main(["protect", str(episode.id)]) == 0
    capsys.readouterr()

    assert main(["unprotect", str(episode.id)]) == 0
    assert "still protected" in capsys.readouterr().out
    assert not row(app, episode.id)[0] and shielded(app, [episode.id]) == {episode.id}

    assert main(["unprotect", show.title]) == 0
    assert "rules may queue it again" in capsys.readouterr().out
    assert row(app, show.id) == (False, None) and not shielded(app, [show.id, episode.id])


def test_a_title_that_names_several_items_lists_them_with_type_and_year(synced, capsys):
    app = synced
    named = [i for i in app.library.snapshot().items if i.fields["type"] in ("movie", "show")]
    word, sharing = next(
        (w, s)
        for w in sorted({w.casefold() for i in named for w in i.title.split()})
        if len(s := [i for i in named if w in i.title.casefold()]) >= 2
        and all(i.title.casefold() != w for i in s)
    )
    assert main(["protect", word]) == 1
    err = capsys.readouterr().err
    assert "name the one you mean as #ID" in err
    for item in sharing:
        assert f"{item.id:>6}  {item.fields['type']:<7}  {item.display_title}" in err
    assert not any(row(app, i.id)[0] for i in sharing)

    assert main(["unprotect", "no such title anywhere"]) == 1
    assert "nothing matches" in capsys.readouterr().err


def test_a_number_that_is_an_id_and_in_a_title_names_neither_until_said_with_a_hash(synced, capsys):
    """`prunerr unprotect 9` must not act on item 9 when the user meant "Atlas 9"."""
    app = synced
    items = {i.id: i for i in app.library.snapshot().items}
    named = [i for i in items.values() if i.fields["type"] in ("movie", "show")]
    number, titled = next(
        (n, i) for i in named for n in i.title.split() if n.isdigit() and int(n) in items
    )
    assert main(["protect", number]) == 1
    err = capsys.readouterr().err
    assert f"{number!r} is an id and is in titles too; name the one you mean as #ID" in err
    assert items[int(number)].display_title in err and titled.display_title in err
    assert not row(app, int(number))[0] and not row(app, titled.id)[0]

    assert main(["protect", f"#{number}"]) == 0
    assert row(app, int(number))[0] and not row(app, titled.id)[0]
    assert main(["protect", "#99999999"]) == 1
    assert "has the id 99999999" in capsys.readouterr().err


MATCH_ALL_MOVIES = "name: Every movie\nmedia: movie\nwhen: size >= 0 GB\n"
KEEP_ONE = "name: Keep one\nkind: protect\nmedia: movie\nwhen: title == {title}\n"


def test_explain_by_title_gives_the_verdict_a_run_would(synced, capsys):
    app = synced
    movie = own_titled(app, "movie")
    (app.rules_dir / "every-movie.yaml").write_text(MATCH_ALL_MOVIES)
    assert main(["rules", "explain", "every-movie", "--title", movie.title]) == 0
    first, item, verdict, scope, *tree = capsys.readouterr().out.splitlines()
    assert first.split() == ["match", "every-movie", "(Every", "movie)"]
    assert item == f"item: {movie.display_title} (movie {movie.id})"
    assert verdict == "verdict: matches: a run would queue it"
    assert scope == "scope: movie -> true" and "size >= 0 GB" in tree[0]

    # a protect rule shields it: the same match, and the verdict says it is not queued
    (app.rules_dir / "keep-one.yaml").write_text(KEEP_ONE.format(title=json.dumps(movie.title)))
    assert main(["rules", "explain", "every-movie", "--title", f"#{movie.id}"]) == 0
    assert "verdict: matches, but it is protected: not queued" in capsys.readouterr().out


def test_explain_by_title_sees_a_protected_show_from_its_season(synced, capsys):
    app = synced
    show = own_titled(app, "show")
    season = next(i for i in under(app, show) if i.fields["type"] == "season")
    (app.rules_dir / "every-season.yaml").write_text(
        "name: Every season\nmedia: season\nwhen: size >= 0 GB\n"
    )
    assert main(["protect", str(show.id)]) == 0
    capsys.readouterr()
    assert main(["rules", "explain", "every-season", "--title", str(season.id)]) == 0
    out = capsys.readouterr().out
    assert f"item: {season.display_title} (season {season.id})" in out
    assert "verdict: matches, but it is protected: not queued" in out

    # by its show's title, the show's seasons are the candidates
    seasons = [i for i in under(app, show) if i.fields["type"] == "season"]
    code = main(["rules", "explain", "every-season", "--title", show.title])
    err = capsys.readouterr().err
    if len(seasons) > 1:
        assert code == 1 and all(f"{s.id:>6}  season " in err for s in seasons)
    else:
        assert code == 0
