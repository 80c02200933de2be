"""The composition root: plugins, configuration, database and services, built once per process
from the environment and handed to the CLI, the API and the jobs."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from prunerr.config import Config
from prunerr.database import Store, open_store
from prunerr.dsl import Catalog
from prunerr.plugins import PluginHost
from prunerr.rules import LoadResult, load_rules
from prunerr.sdk import ServiceList


class Prunerr:
    def __init__(self, host: PluginHost, config: Config):
        self.host = host
        self.config = config

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Prunerr:
        host = PluginHost.create()
        return cls(host, host.load_config(env))

    @cached_property
    def catalog(self) -> Catalog:
        return self.host.catalog()

    @cached_property
    def store(self) -> Store:
        return open_store(self.config["database_url"], self.config.data_dir)

    @cached_property
    def services(self) -> ServiceList:
        return self.host.services(self.config)

    @property
    def rules_dir(self) -> Path:
        return Path(str(self.config["rules_dir"]))

    def load_rules(self) -> LoadResult:
        return load_rules([self.rules_dir], self.catalog)
