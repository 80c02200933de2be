"""Opening the database: SQLite (a file in the data directory, WAL) or PostgreSQL, migrated to
the latest schema (`schema`), with the Pony entities (`entities`) bound to it; Pony checks at
start-up that every mapped column exists."""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from pony.orm import Database, db_session
from pony.orm.dbapiprovider import DBException

from prunerr.store.entities import define_entities
from prunerr.store.schema import LATEST, MIGRATIONS, Migration

log = logging.getLogger(__name__)


def database_error(exc: BaseException | None) -> bool:
    """Whether an exception, or one it was raised from, came from the database."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, DBException)
    if "psycopg2" in sys.modules:  # imported once a PostgreSQL database is bound
        errors += (sys.modules["psycopg2"].Error,)
    while exc is not None:
        if isinstance(exc, errors):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass(frozen=True)
class Dialect:
    name: str  # sqlite | postgres
    placeholder: str  # DB-API parameter marker

    def sql(self, text: str) -> str:
        """Fill the dialect-specific parts of a statement written once for both."""
        pk = (
            "INTEGER PRIMARY KEY AUTOINCREMENT"
            if self.name == "sqlite"
            else "BIGSERIAL PRIMARY KEY"
        )
        real = "REAL" if self.name == "sqlite" else "DOUBLE PRECISION"
        greatest = "MAX" if self.name == "sqlite" else "GREATEST"  # of two values
        return (
            text.replace("{greatest}", greatest)
            .replace("{pk}", pk)
            .replace("{real}", real)
            .replace("{bigint}", "BIGINT")
            .replace("?", self.placeholder)
        )


SQLITE = Dialect("sqlite", "?")
POSTGRES = Dialect("postgres", "%s")


def parse_url(url: str, data_dir: Path) -> tuple[Dialect, dict]:
    """Pony bind arguments for a database URL; None means SQLite in the data directory."""
    # Pony resolves a relative SQLite path against the calling module's directory, not the
    # working directory: always hand it an absolute one
    if not url:
        return SQLITE, {"provider": "sqlite", "filename": str((data_dir / "prunerr.db").resolve())}
    parts = urlparse(url)
    if parts.scheme == "sqlite":  # sqlite:///relative/path, sqlite:////absolute/path
        path = unquote(url.split(":", 1)[1].removeprefix("///"))
        if path in ("", ":memory:"):
            return SQLITE, {"provider": "sqlite", "filename": ":memory:"}
        return SQLITE, {"provider": "sqlite", "filename": str(Path(path).resolve())}
    if parts.scheme in ("postgres", "postgresql"):
        # query parameters are libpq connection parameters (sslmode, options, ...)
        args = {
            "provider": "postgres",
            "host": parts.hostname or "localhost",
            "database": unquote(parts.path.lstrip("/")) or "prunerr",
            **dict(parse_qsl(parts.query)),
        }
        if parts.port:
            args["port"] = parts.port
        if parts.username:
            args["user"] = unquote(parts.username)
        if parts.password:
            args["password"] = unquote(parts.password)
        return POSTGRES, args
    raise ValueError(
        f"unsupported database URL scheme {parts.scheme!r} "
        "(use sqlite:///PATH or postgres://USER@HOST/DB)"
    )


# `INSERT INTO t (a, b) VALUES (?, ?) [ON CONFLICT ...]`: (head, the row's tuple, tail)
_SINGLE_ROW_INSERT = re.compile(r"(\s*INSERT\s.*?\bVALUES\s*)(\([?,\s]*\))(.*)", re.S | re.I)
IN_LIST = 500  # values of one `IN (...)` list
_STREAMS = itertools.count(1)  # names of PostgreSQL's server-side cursors
# parameters of one multi-row INSERT at most (SQLite's own limit is lower before 3.32)
INSERT_ROWS_PARAMS = 32_000


class Store:
    """The bound database: Pony `db` with its entities, the dialect, and the schema version.

    A connection belongs to the thread and the process that opened it: each thread opens its
    own (Pony's pool is per thread), and a process never uses or closes one
    it inherited through a fork. A SQLite connection that crosses a fork breaks the file's
    locking for both processes: the child believes it holds the parent's locks, so another
    process can checkpoint and delete the WAL under it (lost writes, then `disk I/O error`).
    So a process that forks closes its connections first (`disconnect`), and `prunerr serve`
    starts its job workers as fresh processes, never as forks."""

    def __init__(self, db: Database, dialect: Dialect, sqlite_path: str | None = None):
        self.db = db
        self.dialect = dialect
        self.sqlite_path = sqlite_path  # the SQLite file, locked while it is migrated

    @property
    def entities(self):
        return self.db.entities

    def answers(self) -> bool:
        """Whether the database answers a query now (a readiness probe), in a session of its
        own."""
        try:
            with db_session:
                self.read("SELECT 1")
        except Exception:  # whatever the driver raises (sqlite3, psycopg2, Pony): not ready
            return False
        return True

    def read(self, sql: str, params=()) -> list[tuple]:
        """Run one SELECT inside the caller's db_session. On SQLite, a read made before the
        session writes runs in Pony's autocommit mode, which in WAL never waits for a writer in
        another process; once the session has written, its reads run in its transaction and see
        its changes. PostgreSQL's reads never wait for writers: they run in the transaction."""
        return self._fetch(self._connection(write=self.dialect is not SQLITE), sql, params)

    def read_in(self, sql: str, ids: Collection, params: tuple = ()) -> list[tuple]:
        """`read` of `sql` in which `{ids}` stands for a list of values, in parts of IN_LIST
        values (after `params`, repeated at each `{ids}`)."""
        values, rows = list(ids), []
        for start in range(0, len(values), IN_LIST):
            part = values[start : start + IN_LIST]
            marks = ", ".join("?" for _ in part)
            rows += self.read(sql.replace("{ids}", marks), (*params, *(part * sql.count("{ids}"))))
        return rows

    def execute(self, sql: str, params=()) -> list[tuple]:
        """Run one statement in the session's transaction (on SQLite, BEGIN IMMEDIATE: the
        write lock); the rows it returns, if any."""
        return self._fetch(self._connection(write=True), sql, params)

    def _connection(self, *, write: bool):
        """The session's connection, as Pony's own raw SQL gets it: the entities' pending
        changes are flushed first, and a write opens the session's transaction."""
        cache = self.db._get_cache()
        if write:
            cache.immediate = True
        connection = cache.prepare_connection_for_query_execution()
        if write:
            cache.in_transaction = True
        return connection

    def stream(self, sql: str, params=(), size: int = 5_000) -> Iterator[tuple]:
        """`read`, row by row, `size` rows fetched at a time: a result too large to hold at
        once (the whole library) costs only a part's memory. The rows must be consumed inside
        the caller's db_session; on PostgreSQL a server-side cursor keeps the rest there."""
        connection = self._connection(write=self.dialect is not SQLITE)
        if self.dialect is SQLITE:
            cursor = connection.cursor()
        else:
            cursor = connection.cursor(name=f"stream_{next(_STREAMS)}")
        with closing(cursor):
            cursor.execute(self.dialect.sql(sql), params)
            while rows := self._rows(connection, cursor, size):
                yield from rows

    def _fetch(self, connection, sql: str, params) -> list[tuple]:
        cursor = connection.cursor()
        cursor.execute(self.dialect.sql(sql), params)
        return self._rows(connection, cursor) if cursor.description else []

    def _rows(self, connection, cursor, size: int | None = None) -> list[tuple]:
        """The cursor's next `size` rows, or all that are left."""
        fetch = cursor.fetchall if size is None else lambda: cursor.fetchmany(size)
        if self.dialect is not SQLITE:
            return fetch()
        # Pony decodes every SQLite string through a Python function; our text is always valid
        # UTF-8 (we wrote it), and plain decoding makes large reads several times faster.
        pony_factory, connection.text_factory = connection.text_factory, str
        try:
            return fetch()
        finally:
            connection.text_factory = pony_factory

    def update(self, sql: str, params=()) -> int:
        """Run one INSERT, UPDATE or DELETE; the number of rows it changed."""
        cursor = self._connection(write=True).cursor()
        cursor.execute(self.dialect.sql(sql), params)
        return cursor.rowcount

    def insert(self, sql: str, params=()) -> int:
        """Run one INSERT into a table with an `id` key; the new row's id."""
        if self.dialect is SQLITE:
            cursor = self._connection(write=True).cursor()
            cursor.execute(self.dialect.sql(sql), params)
            return cursor.lastrowid
        return self.execute(f"{sql} RETURNING id", params)[0][0]

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        """Run one statement per row. An `INSERT ... VALUES (?, ...)` is sent as few statements
        of many rows each (INSERT_ROWS_PARAMS parameters): a statement is one step, the only
        time the sqlite3 module lets other threads run, and taking the GIL back from a thread
        that parses an upstream's answer costs up to a switch interval (5 ms) a step, so a
        200,000-row insert beside such a thread would take minutes, not a second."""
        connection = self._connection(write=True)
        cursor = connection.cursor()
        insert = _SINGLE_ROW_INSERT.fullmatch(sql)
        if insert is None:
            cursor.executemany(self.dialect.sql(sql), rows)
            return
        head, values, tail = insert.groups()
        limit = INSERT_ROWS_PARAMS
        if self.dialect is SQLITE:  # 999 before SQLite 3.32
            limit = min(limit, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        per_statement = max(1, limit // values.count("?"))
        rows = iter(rows)
        while chunk := list(itertools.islice(rows, per_statement)):
            statement = f"{head}{', '.join([values] * len(chunk))}{tail}"
            cursor.execute(self.dialect.sql(statement), [v for row in chunk for v in row])

    def share_sqlite_memory(self, limit: int) -> None:
        """Keep SQLite's memory in this process near `limit` bytes (its soft heap limit, which
        is the process's): past it, SQLite reuses the least recently used cache pages of any
        connection instead of letting every thread's connection keep a cache of its own (2 MB
        each by default; the API serves from a dozen threads). Nothing on PostgreSQL."""
        if self.dialect is SQLITE:
            with db_session:
                self.read(f"PRAGMA soft_heap_limit={int(limit)}")

    def disconnect(self) -> None:
        """Close the connection this thread opened (before a fork, say), never one inherited
        through a fork: that one is set aside, as Pony does on its next use."""
        pool = getattr(self.db.provider, "pool", None)
        if getattr(pool, "con", None) is not None and getattr(pool, "pid", None) != os.getpid():
            pool.forked_connections.append((pool.con, pool.pid))
            pool.con = pool.pid = None
        self.db.disconnect()


def schema_version(store: Store) -> int:
    """The schema version the database was migrated to (0: not yet created)."""
    if store.dialect.name == "sqlite":
        rows = store.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'")
    else:
        rows = store.execute(
            "SELECT tablename FROM pg_tables WHERE tablename='meta' AND schemaname=current_schema()"
        )
    if not rows:
        return 0
    version = store.execute("SELECT value FROM meta WHERE key='schema_version'")
    return int(version[0][0]) if version else 0


def read_sqlite_file(path: Path) -> None:
    """Read a SQLite file's schema without writing to it (the jobs' Huey queue, say); raises
    sqlite3.Error when the file cannot be read as a database."""
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)) as db:
        db.execute("SELECT count(*) FROM sqlite_master").fetchall()


def sqlite_file_schema_version(path: Path) -> int:
    """`schema_version` of a SQLite file, read without writing to it (no store is opened, so
    nothing is created or migrated); raises sqlite3.Error when the file cannot be read."""
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)) as db:
        try:
            rows = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            rows = []
    return int(rows[0][0]) if rows else 0


class NewerSchemaError(RuntimeError):
    """The database was migrated by a newer Prunerr; this one must not touch it."""


MIGRATION_LOCK = 0x7072756E  # the PostgreSQL advisory lock migrations hold ("prun")


def migrate(
    store: Store, target: int = LATEST, progress: Callable[[Migration], None] | None = None
) -> int:
    """Apply the migrations after the database's version, each in its own transaction. One
    process migrates at a time (an API and its workers start together): the others wait for
    it, then find the work done. A database created here (from nothing to the latest version)
    is a new installation: it starts with the saved setting `dry_run: true`, in the same
    transaction as its first tables, so nothing is deleted before its user chooses."""
    with _sqlite_file_lock(store):
        with db_session:
            current = schema_version(store)
        if current > LATEST:
            raise NewerSchemaError(
                f"the database is at schema version {current}, newer than this "
                f"Prunerr ({LATEST}); upgrade Prunerr"
            )
        for migration in MIGRATIONS:
            if not current < migration.version <= target:
                continue
            with db_session:
                if store.dialect is POSTGRES:  # held until this transaction ends
                    store.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
                current = schema_version(store)
                if current >= migration.version:
                    continue  # another process applied it while this one waited
                log.info(
                    "migrating the database to version %d: %s",
                    migration.version,
                    migration.description,
                )
                for statement in migration.statements:
                    store.execute(statement)
                if migration.version == 1:
                    store.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
                    if target == LATEST:
                        # a new installation starts in dry run, until its user turns it off;
                        # an existing one (created by an earlier version) keeps deleting
                        store.execute("INSERT INTO setting (key, value) VALUES ('dry_run', 'true')")
                else:
                    store.execute(
                        "UPDATE meta SET value=? WHERE key='schema_version'",
                        (str(migration.version),),
                    )
            if progress:
                progress(migration)
            current = migration.version
    return current


@contextmanager
def _sqlite_file_lock(store: Store) -> Iterator[None]:
    """An exclusive lock on a file beside a SQLite database, held while it is migrated."""
    if store.sqlite_path is None:
        yield
        return
    with open(f"{store.sqlite_path}.migrating", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_store(url: str | None, data_dir: Path, *, migrate_to: int | None = LATEST) -> Store:
    """Bind, migrate to the latest schema and map the entities."""
    dialect, args = parse_url(url or "", data_dir)
    if dialect is SQLITE and args["filename"] != ":memory:":
        Path(args["filename"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL is persistent, set once per file; processes starting together wait for each other
        with closing(sqlite3.connect(args["filename"], timeout=30)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        args["create_db"] = True
    if dialect is SQLITE:
        args["timeout"] = 30  # a writer waits for another process's transaction
    db = Database()
    define_entities(db)
    db.bind(**args)
    path = args.get("filename") if dialect is SQLITE else None
    store = Store(db, dialect, None if path == ":memory:" else path)
    if migrate_to is not None:
        migrate(store, migrate_to)
    if migrate_to == LATEST:
        db.generate_mapping(create_tables=False, check_tables=True)
    return store
