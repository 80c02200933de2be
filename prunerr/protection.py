"""How protection follows the library's hierarchy.

An item is protected *directly* when a user protected it or a collection it is in, or when an
enabled protect rule is not known *not* to match it (an unknown protect decision protects).
Protection then spreads both ways along show → season → episode:

- down: a protected show covers its seasons and episodes, a protected season its episodes;
- up: a show or season that holds a protected season or episode is protected as well, since
  deleting it would delete that season or episode too.

Siblings are not covered: protecting one episode keeps its season and show, not the other
episodes. Queueing, planning and the check right before deleting all go through `spread`.

`protect` is how a user protects an item, from the API or the command line.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from pony.orm import db_session

from prunerr.database import Store

if TYPE_CHECKING:  # they build on this module
    from prunerr.activity import Actor
    from prunerr.library import LibraryIndex
    from prunerr.queue import Entry, Queue

CHUNK = 500  # ids per `IN (...)` list
FAMILY = frozenset({"show", "season", "episode"})  # the media types protection spreads over


def spread(direct: Collection[int], ancestors: Mapping[int, Iterable[int]]) -> set[int]:
    """Every item protected once `direct` protection follows the hierarchy. `ancestors` maps each
    item to consider to its season and show (none for movies and shows)."""
    protected = set(direct)
    for item_id, up in ancestors.items():
        up = tuple(up)
        if item_id in direct:
            protected.update(up)
        elif any(a in direct for a in up):
            protected.add(item_id)
    return protected


def chunks(ids: list[int]) -> Iterable[list[int]]:
    """`ids` in parts short enough for one `IN (...)` list."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def family(store: Store, item_ids: Collection[int]) -> set[int]:
    """The live items whose protection decides the given items': them, their season and show, and
    every season and episode under them (inside the caller's db_session)."""
    found = set(item_ids)
    ids = sorted(found)
    for part in chunks(ids):
        marks = ", ".join("?" for _ in part)
        for parent, show in store.execute(
            f"SELECT parent, show FROM item WHERE id IN ({marks})", tuple(part)
        ):
            found.update(a for a in (parent, show) if a is not None)
    # down two levels by `parent` (indexed): show → seasons → episodes
    level = ids
    for _ in range(2):
        children: list[int] = []
        for part in chunks(level):
            marks = ", ".join("?" for _ in part)
            children += [
                r[0]
                for r in store.execute(
                    f"SELECT id FROM item WHERE parent IN ({marks}) AND tombstoned_at IS NULL",
                    tuple(part),
                )
            ]
        found.update(children)
        level = children
    return found


def protect(
    library: LibraryIndex, queue: Queue, item_id: int, reason: str, actor: Actor
) -> list[Entry] | None:
    """Protect a live item, recorded, and end as `protected` the queued entries it now shields
    (its own, those of the seasons and episodes under it and of its season and show). None
    when no live item has that id, else the entries ended."""
    if not library.set_protection(item_id, True, reason, actor):
        return None
    with db_session:
        return queue.shield([item_id], actor, reason)
