"""The REST API: a Falcon app built from injected services (`create_app`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import falcon

from prunerr.config import Config
from prunerr.database import Store
from prunerr.deletion import Processor
from prunerr.evaluation import Evaluator
from prunerr.library import LibraryIndex
from prunerr.rulebook import RuleBook
from prunerr.sdk import ServiceList

from . import errors, library, openapi, resources
from .auth import ApiKeys, AuthMiddleware, api_key_authenticator


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
    clock: Callable[[], float] = time.time
    started: float = field(default_factory=time.monotonic)

    def rules(self) -> list:
        return self.book.rules()


def create_app(api: Api) -> falcon.App:
    app = falcon.App(middleware=[AuthMiddleware([api_key_authenticator(api.keys)])])
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    app.add_route("/api/health", resources.Health(api))
    app.add_route("/api/settings", resources.Settings(api))
    app.add_route("/api/settings/api-key", resources.ApiKey(api))
    app.add_route("/api/settings/api-key/regenerate", resources.ApiKeyRegenerate(api))
    app.add_route("/api/openapi.json", resources.OpenApiDocument(openapi.document()))
    app.add_route("/api/stats", library.Stats(api))
    app.add_route("/api/library", library.LibraryList(api))
    app.add_route("/api/library/{item_id}", library.LibraryEntry(api))
    app.add_route("/api/library/{item_id}/protect", library.Protection(api))
    return app
