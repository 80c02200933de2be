"""The REST API: a Falcon app built from injected services (`create_app`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import falcon
import falcon.media

from prunerr import wire
from prunerr.config import Config
from prunerr.planning.evaluation import Evaluator
from prunerr.planning.library_index import LibraryIndex
from prunerr.queue.processing import Processor
from prunerr.rules.rulebook import RuleBook
from prunerr.sdk import ServiceList
from prunerr.store.database import Store

if TYPE_CHECKING:
    from prunerr.jobs.tasks import Tasks

from . import (
    activity,
    collections,
    errors,
    jobs,
    library,
    openapi,
    params,
    queue,
    rules,
    system,
)
from .auth import ApiKeys, AuthMiddleware, api_key_authenticator
from .session import RequestSession


@dataclass
class Api:
    """What the resources need, injected so tests can build an app around anything."""

    store: Store
    config: Config
    services: ServiceList
    keys: ApiKeys
    library: LibraryIndex
    book: RuleBook
    evaluator: Evaluator
    processor: Processor
    tasks: Tasks | None = None  # background jobs; None: the API cannot start any
    clock: Callable[[], float] = time.time
    refresh_config: Callable[[], None] = lambda: None  # apply settings saved since
    started: float = field(default_factory=time.monotonic)

    def rules(self) -> list:
        return self.book.rules()


def create_app(api: Api) -> falcon.App:
    app = falcon.App(
        middleware=[
            AuthMiddleware([api_key_authenticator(api.keys)]),
            params.BodyLimit(lambda: int(api.config["max_request_body"])),
            RequestSession(),
        ]
    )
    app.router_options.converters["id"] = params.IdConverter
    app.req_options.strip_url_path_trailing_slash = True
    # answers (shapes and plain values) encoded straight to bytes
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(dumps=wire.encode)
    errors.install(app)
    health = system.Health(api)
    app.add_route("/api/health", health)
    app.add_route("/api/health/status", system.HealthStatus(api, health))
    app.add_route("/api/health/version", system.HealthVersion())
    for probe in ("ping", "live", "ready"):
        app.add_route(f"/api/health/{probe}", system.HealthProbe(api, probe))
    app.add_route("/api/unraid/stats", system.UnraidStats())
    app.add_route("/api/settings", system.Settings(api))
    app.add_route("/api/settings/api-key", system.ApiKey(api))
    app.add_route("/api/settings/test/{service}", system.ServiceTest(api, health))
    app.add_route("/api/settings/api-key/regenerate", system.ApiKeyRegenerate(api))
    app.add_route("/api/openapi.json", system.OpenApiDocument(openapi.document()))
    app.add_route("/api/stats", library.Stats(api))
    app.add_route("/api/stats/storage-history", library.StorageHistory(api))
    app.add_route("/api/stats/recommendations", rules.Recommendations(api))
    app.add_route("/api/library/bulk/protect", library.BulkProtection(api))
    app.add_route("/api/library/summary", library.LibrarySummary(api))
    app.add_route("/api/library/plex-libraries", library.LibrarySections(api))
    app.add_route("/api/scan/trigger", jobs.StartJob(api, "evaluate"))
    app.add_route("/api/scan/cadence", jobs.ScanCadence(api))
    scans = jobs.Scans(api)
    for suffix in ("history", "latest", "status"):
        app.add_route(f"/api/scan/{suffix}", scans, suffix=suffix)
    app.add_route("/api/library", library.LibraryList(api))
    app.add_route("/api/library/{item_id:id}", library.LibraryEntry(api))
    app.add_route("/api/library/{item_id:id}/protect", library.Protection(api))
    app.add_route("/api/library/sync", jobs.StartJob(api, "sync"))
    app.add_route("/api/library/sync/stream", jobs.SyncStream(api))
    app.add_route("/api/library/{item_id:id}/mark-deletion", queue.MarkDeletion(api))
    app.add_route("/api/library/bulk/mark-deletion", queue.BulkMarkDeletion(api))
    app.add_route("/api/queue", queue.QueueList(api))
    app.add_route("/api/queue/process", queue.QueueProcess(api))
    app.add_route("/api/queue/upcoming", queue.QueueList(api, default_limit=50))
    app.add_route("/api/queue/{entry_id:id}", queue.QueueEntry(api))
    app.add_route("/api/activity", activity.Activity(api))
    app.add_route("/api/activity/recent", activity.RecentActivity(api))
    app.add_route("/api/history", activity.History(api))
    app.add_route("/api/history/export", activity.HistoryExport(api))
    app.add_route("/api/activity/item/{item_id:id}", activity.ItemActivity(api))
    app.add_route("/api/users", library.Users(api))
    app.add_route("/api/users/sync", jobs.StartJob(api, "users"))
    app.add_route("/api/jobs", jobs.Jobs(api))
    app.add_route("/api/jobs/{name}", jobs.StartJob(api))
    app.add_route("/api/collections", collections.CollectionList(api))
    app.add_route("/api/collections/sync", collections.CollectionsSync(api))
    app.add_route("/api/collections/{collection_id:id}", collections.CollectionEntry(api))
    app.add_route("/api/collections/{collection_id:id}/items", collections.CollectionItems(api))
    app.add_route(
        "/api/collections/{collection_id:id}/protection", collections.CollectionProtection(api)
    )
    app.add_route("/api/collections/{collection_id:id}/queue", collections.CollectionQueue(api))
    app.add_route("/api/rules", rules.RuleList(api))
    app.add_route("/api/rules/preview", rules.RulePreview(api))
    app.add_route("/api/rules/enabled", rules.RuleList(api, enabled_only=True))
    app.add_route("/api/rules/suggestions", rules.RuleSuggestions(api))
    app.add_route("/api/rules/reload", rules.RuleReload(api))
    app.add_route("/api/rules/{rule_id:id}", rules.RuleEntry(api))
    app.add_route("/api/rules/{rule_id:id}/run", rules.RunRule(api))
    app.add_route("/api/rules/{rule_id:id}/export", rules.RuleExport(api))
    app.add_route("/api/rules/{rule_id:id}/toggle", rules.RuleToggle(api))
    return app
