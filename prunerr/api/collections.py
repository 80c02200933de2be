"""Collections: listing, members, protection and queueing a whole collection."""

from __future__ import annotations

import falcon
from pony.orm import commit, db_session

from prunerr import wire
from prunerr.jobs import JOBS, Busy, Runs
from prunerr.store import collections
from prunerr.store.activity import USER

from . import params
from .errors import ApiError, ok
from .library import summary_json
from .queue import queue_options


def collection_json(row: dict) -> wire.Collection:
    return wire.Collection(
        id=row["id"],
        title=row["title"],
        tmdb_id=None,
        overview=None,
        poster_url=None,
        item_count=row["item_count"],
        is_protected=bool(row["protected"]),
        protection_reason=row["protection_reason"],
        protected_at=wire.iso(row["protected_at"]),
        last_synced_at=wire.iso(row["synced_at"]),
        created_at=wire.iso(row["created_at"]),
    )


def _collection(api, collection_id: int) -> dict:
    found = collections.rows(api.store, collection_id)
    if not found:
        raise ApiError(404, f"Collection {collection_id} not found")
    return found[0]


class CollectionList:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        rows = collections.rows(self.api.store)
        ok(resp, [collection_json(r) for r in rows])


class CollectionEntry:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, collection_id: int) -> None:
        ok(resp, collection_json(_collection(self.api, collection_id)))


class CollectionItems:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, collection_id: int) -> None:
        row = _collection(self.api, collection_id)
        snapshot = self.api.library.snapshot()
        ids = collections.members(self.api.store, row["title"])
        catalog = self.api.library.catalog
        ok(
            resp,
            [
                summary_json(snapshot.by_id[i], snapshot, catalog)
                for i in ids
                if i in snapshot.by_id
            ],
        )


class CollectionsSync:
    """POST: sync the collections now and answer the original's counts, as it does: a pass over
    the synced library, run as the collections job (its run is listed by GET /api/jobs), so a
    409 while a library job holds their lease."""

    own_sessions = True  # the run's bookkeeping commits as it goes, as a job's does

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        def work(progress) -> dict[str, int]:
            with db_session:
                return collections.sync(self.api.store, self.api.clock())

        try:
            run = Runs(self.api.store, self.api.clock).run(JOBS["collections"], USER.name, work)
        except Busy as exc:
            raise ApiError(409, str(exc)) from None
        counts = run["result"]
        ok(
            resp,
            wire.CollectionsSynced(
                collections_synced=counts["collectionsSynced"],
                items_matched=counts["itemsMatched"],
                run_id=run["runId"],
            ),
        )


class CollectionProtection:
    """PATCH {isProtected, reason?}: protecting a collection shields its members everywhere
    (rule runs, manual queueing, processing) and ends their queued entries."""

    def __init__(self, api):
        self.api = api

    def on_patch(self, req: falcon.Request, resp: falcon.Response, collection_id: int) -> None:
        body = params.decoded(req, wire.ProtectCollection)
        protected = body.is_protected
        row = collections.set_protection(
            self.api.store,
            collection_id,
            protected,
            body.reason or "protected collection",
            USER,
            self.api.clock(),
        )
        if row is None:
            raise ApiError(404, f"Collection {collection_id} not found")
        if protected:
            members = collections.members(self.api.store, row["title"])
            self.api.evaluator.queue.shield(members, USER, f"collection “{row['title']}”")
        commit()  # before the snapshot reloads
        self.api.library.invalidate()
        ok(resp, collection_json(row))


class CollectionQueue:
    """POST {deletionAction, gracePeriodDays?, resetOverseerr?}: queue every member."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response, collection_id: int) -> None:
        row = _collection(self.api, collection_id)
        options = queue_options(self.api, params.decoded(req, wire.QueueCollection))
        if row["protected"]:
            raise ApiError(409, f"Collection {collection_id} is protected")
        ids = collections.members(self.api.store, row["title"])
        result = self.api.evaluator.queue_by_hand(ids, options, USER)
        reasons = list(result.skipped.values())
        ok(
            resp,
            wire.CollectionQueued(
                queued=len(result.queued),
                skipped=len(result.skipped) + len(result.already),
                skipped_reasons={
                    "already_queued": len(result.already),
                    "protected": reasons.count("protected"),
                    "gone": reasons.count("gone"),
                },
                total_size=result.queued_bytes,
            ),
            status=201 if result.queued else 200,
        )
