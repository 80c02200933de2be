"""The users of each source (a media server or a watch history), as it last listed them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prunerr.sdk import Account
from prunerr.store.database import Store


def replace(store: Store, source: str, accounts: Iterable[Account]) -> None:
    """Replace a source's accounts with these, inside the caller's db_session."""
    store.execute("DELETE FROM account WHERE source=?", (source,))
    store.executemany(
        "INSERT INTO account (source, external_id, username, email) VALUES (?, ?, ?, ?)",
        [(source, a.id, a.username, a.email) for a in accounts],
    )


@dataclass(frozen=True)
class KnownAccount:
    id: int
    source: str
    external_id: str  # the source's own id of the user
    username: str
    email: str | None


def listed(store: Store) -> list[KnownAccount]:
    """Every source's users, by username then source."""
    Account = store.entities["Account"]
    return [
        KnownAccount(a.id, a.source, a.external_id, a.username, a.email)
        for a in Account.select().order_by(Account.username, Account.source)
    ]
