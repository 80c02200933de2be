import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.support import POSTGRES_URL, choose_deletions

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """An empty rules.d for a test to write into."""
    path = tmp_path / "rules.d"
    path.mkdir()
    return path


# Database and queue backends. CI sets PRUNERR_REQUIRE_SERVICES=1 so an unreachable PostgreSQL or
# Redis fails the run instead of silently skipping backend tests.
REQUIRE_SERVICES = os.environ.get("PRUNERR_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, error: Exception):
    message = f"{what} is not reachable: {error}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin():
    """A connection to the test PostgreSQL server, for creating per-test schemas."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        connection = psycopg2.connect(
            POSTGRES_URL.replace("postgres://", "postgresql://"), connect_timeout=3
        )
    except psycopg2.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    connection.autocommit = True
    yield connection
    connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path: Path):
    """A fresh, empty database on each backend: a SQLite file, or a PostgreSQL schema of its own
    (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'prunerr.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(database_url: str, tmp_path: Path):
    """A new installation's database whose user has turned dry run off."""
    from prunerr.store.database import open_store

    opened = open_store(database_url, tmp_path)
    choose_deletions(opened)
    yield opened
    for thread in threading.enumerate():  # a snapshot a request asked for, still loading
        if thread.name == "library-reload":
            thread.join(timeout=60)
    opened.disconnect()


# Each pytest-xdist worker flushes a Redis database of its own: gw0 uses 15, gw1 14, and so on.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
REDIS_URL = os.environ.get("PRUNERR_TEST_REDIS", f"redis://127.0.0.1:6379/{15 - _WORKER % 16}")


@pytest.fixture
def queue_url(database_url):
    """The job queue beside each database backend: SQLite's (None) with SQLite, Redis with
    PostgreSQL (flushed before and after)."""
    if database_url.startswith("sqlite"):
        yield None
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        _unavailable("Redis", exc)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
