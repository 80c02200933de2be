"""Storage snapshots (`storage_snapshot`): the library's size over time, and what deletions
reclaimed between two snapshots. Inside the caller's db_session."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pony.orm import max as pony_max

from prunerr.store.database import Store


@dataclass(frozen=True)
class StorageSnapshot:
    captured_at: float
    movie_size: int
    show_size: int
    movie_count: int
    show_count: int
    reclaimed: int  # bytes freed by deletions since the snapshot before

    @property
    def total_size(self) -> int:
        return self.movie_size + self.show_size


def last_captured(store: Store) -> float | None:
    """When the newest snapshot was taken (None before the first)."""
    return pony_max(s.captured_at for s in store.entities["StorageSnapshot"])


def add(store: Store, snapshot: StorageSnapshot) -> None:
    store.entities["StorageSnapshot"](
        **asdict(snapshot),
        total_size=snapshot.total_size,
        item_count=snapshot.movie_count + snapshot.show_count,
    )


def since(store: Store, moment: float) -> list[StorageSnapshot]:
    """The snapshots taken at `moment` or later, oldest first."""
    Snapshot = store.entities["StorageSnapshot"]
    return [
        StorageSnapshot(
            s.captured_at, s.movie_size, s.show_size, s.movie_count, s.show_count, s.reclaimed
        )
        for s in Snapshot.select(lambda s: s.captured_at >= moment).order_by(Snapshot.captured_at)
    ]
