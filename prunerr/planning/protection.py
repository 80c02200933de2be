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

if TYPE_CHECKING:  # they build on this module
    from prunerr.planning.library_index import LibraryIndex
    from prunerr.queue import Queue
    from prunerr.store.activity import Actor
    from prunerr.store.queue_entries import Entry

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
