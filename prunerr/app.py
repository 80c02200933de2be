"""The composition root: plugins, configuration, database and services, built once per process
from the environment and handed to the CLI, the API and the jobs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pony.orm import db_session

from prunerr.config import Config, ConfigError, settings
from prunerr.dsl import Catalog
from prunerr.planning.evaluation import Evaluator
from prunerr.planning.library_index import LibraryIndex
from prunerr.plugins import PluginHost
from prunerr.queue.notify import Notifications
from prunerr.queue.processing import Processor
from prunerr.rules import LoadResult, load_rules
from prunerr.rules.rulebook import RuleBook
from prunerr.sdk import ServiceList
from prunerr.store.database import Store, open_store

if TYPE_CHECKING:
    from prunerr.api import Api
    from prunerr.api.auth import ApiKeys
    from prunerr.jobs.tasks import Tasks


log = logging.getLogger(__name__)


class Prunerr:
    def __init__(
        self,
        host: PluginHost,
        config: Config,
        *,
        store: Store | None = None,
        services: ServiceList | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.host = host
        self.config = config
        self.clock = clock
        if store is not None:
            self.store = store
        if services is not None:
            self.services = services

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Prunerr:
        host = PluginHost.create()
        return cls(host, host.load_config(env))

    @cached_property
    def catalog(self) -> Catalog:
        return self.host.catalog()

    @cached_property
    def store(self) -> Store:
        store = open_store(self.config["database_url"], self.config.data_dir)
        self._apply_saved_settings(store)
        return store

    def refresh_config(self) -> None:
        """Apply the settings saved in the database since (the environment still wins)."""
        self._apply_saved_settings(self.store)

    def _apply_saved_settings(self, store: Store) -> None:
        with db_session:
            saved = settings.stored(store)
        settings.apply(self.config, saved)

    @cached_property
    def services(self) -> ServiceList:
        return self.host.services(self.config)

    @property
    def rules_dir(self) -> Path:
        return Path(str(self.config["rules_dir"]))

    def check_rules_dir(self) -> None:
        """A rules directory that was configured must exist: a typo would quietly drop every
        file rule. The default one may be absent (only rules created through the API)."""
        if self.rules_dir.is_dir():
            return
        source = self.config.sources["rules_dir"]
        if source != "default":
            raise ConfigError(f"rules_dir (from {source}): {self.rules_dir} is not a directory")
        log.warning(
            "no rules directory at %s: only rules created through the API apply",
            self.rules_dir.resolve(),
        )

    def load_rules(self) -> LoadResult:
        return load_rules([self.rules_dir], self.catalog)

    @cached_property
    def library(self) -> LibraryIndex:
        return LibraryIndex(self.store, self.services, self.catalog, self.config["watch_history"])

    @cached_property
    def book(self) -> RuleBook:
        return RuleBook(self.store, self.rules_dir, self.catalog, self.clock)

    @cached_property
    def notifications(self) -> Notifications:
        return Notifications.of(self.services, lambda: bool(self.config["dry_run"]))

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(
            self.store,
            self.book,
            self.library,
            self.config,
            notifications=self.notifications,
            clock=self.clock,
        )

    @cached_property
    def processor(self) -> Processor:
        return Processor(
            self.store,
            self.services,
            self.evaluator,
            notifications=self.notifications,
            clock=self.clock,
        )

    def api(self, keys: ApiKeys | None = None, tasks: Tasks | None = None) -> Api:
        """What the HTTP API serves; the key is generated and stored on first use."""
        # here, not at the top: the commands that serve no API start without its imports
        from prunerr.api import Api
        from prunerr.api.auth import ApiKeys

        keys = keys or ApiKeys(self.store, self.config["api_key"])
        return Api(
            self.store,
            self.config,
            self.services,
            keys,
            self.library,
            self.book,
            self.evaluator,
            self.processor,
            tasks,
            self.clock,
            self.refresh_config,
        )
