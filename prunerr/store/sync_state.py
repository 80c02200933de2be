"""The sync's bookkeeping: per source (a service in one role), how its last sync went, when it
last listed in full and where its history cursor is (`sync_state`); per run, a summary
(`sync_run`). Every function runs inside the caller's db_session."""

from __future__ import annotations

import json

from pony.orm import max as pony_max

from prunerr.store.database import Store


def source_name(service_name: str, role: str) -> str:
    """A source: one service in one role (Plex is a media server and a watch history)."""
    return f"{service_name}:{role}"


def ensure(store: Store, source: str, role: str) -> None:
    """Give a source its row (status `never`) unless it has one."""
    SyncState = store.entities["SyncState"]
    if not SyncState.exists(source=source):
        SyncState(source=source, role=role, status="never")


def record_success(
    store: Store, source: str, started: float, finished: float, records: int
) -> None:
    store.entities["SyncState"][source].set(
        status="ok",
        message=None,
        started_at=started,
        finished_at=finished,
        last_success_at=finished,
        records=records,
    )


def record_failure(
    store: Store, source: str, started: float, finished: float, message: str
) -> None:
    """Mark a source failed; its rows from earlier syncs stay."""
    store.entities["SyncState"][source].set(
        status="failed", message=message[:1000], started_at=started, finished_at=finished
    )


def last_full_listing(store: Store, source: str) -> float | None:
    """When a media server was last listed in full (None: never)."""
    return store.entities["SyncState"][source].full_sync_at


def record_full_listing(store: Store, source: str, at: float) -> None:
    store.entities["SyncState"][source].full_sync_at = at


def history_cursor(store: Store, source: str) -> float | None:
    """The time of the newest play a watch history has given (None: none yet)."""
    state = store.entities["SyncState"].get(source=source)
    return float(state.cursor) if state and state.cursor else None


def advance_history_cursor(store: Store, source: str, newest: float) -> None:
    store.entities["SyncState"][source].cursor = repr(newest)


def record_run(store: Store, started: float, finished: float, status: str, summary: dict) -> None:
    store.entities["SyncRun"](
        started_at=started, finished_at=finished, status=status, summary=json.dumps(summary)
    )


def last_run_id(store: Store) -> int | None:
    """The newest sync run's id: it changes whenever a sync ran (None: never)."""
    return pony_max(run.id for run in store.entities["SyncRun"])


def last_complete_sync(store: Store) -> float | None:
    """When the last sync that read every source finished (None: never)."""
    SyncRun = store.entities["SyncRun"]
    return pony_max(run.finished_at for run in SyncRun if run.status == "ok")


def records_since(store: Store, since: float, role: str) -> list[tuple[float, int]]:
    """(start, records) of each sync run that started at `since` or later: the records its
    sources of that role read."""
    suffix = source_name("", role)
    return [
        (
            run.started_at,
            sum(
                s["records"]
                for s in json.loads(run.summary).get("sources", ())
                if s["source"].endswith(suffix)
            ),
        )
        for run in store.entities["SyncRun"].select(lambda r: r.started_at >= since)
    ]
