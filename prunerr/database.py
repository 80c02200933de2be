"""Opening the database: SQLite (a file in the data directory, WAL) or PostgreSQL, the schema's
ordered migrations, and the Pony entities bound to it.

The schema is defined by the migrations (plain SQL, written once for both dialects); the entities in
`prunerr.models` map onto it and Pony checks at start-up that every mapped column exists.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from pony.orm import Database, db_session
from pony.orm.dbapiprovider import DBException

from prunerr.models import define_entities

log = logging.getLogger(__name__)

# connections a forked process inherited: never used nor closed there (closing one in the child
# would drop locks and files that belong to the parent's connection), only kept from the
# garbage collector, as Pony keeps its own (`Pool.forked_connections`)
_INHERITED: list[sqlite3.Connection] = []


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

_V1 = [
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE item (
        id {pk},
        type TEXT NOT NULL,
        title TEXT NOT NULL,
        parent INTEGER REFERENCES item(id),
        show INTEGER REFERENCES item(id),
        server TEXT NOT NULL,
        server_key TEXT NOT NULL,
        library_key TEXT NOT NULL,
        library TEXT NOT NULL,
        tmdb_id INTEGER,
        tvdb_id INTEGER,
        imdb_id TEXT,
        year INTEGER,
        added {real} NOT NULL,
        size {bigint} NOT NULL,
        file_path TEXT,
        resolution TEXT,
        resolution_height INTEGER,
        video_codec TEXT,
        audio_codec TEXT,
        hdr TEXT,
        bitrate INTEGER,
        runtime INTEGER,
        genres TEXT NOT NULL,
        labels TEXT NOT NULL,
        collections TEXT NOT NULL,
        studio TEXT,
        content_rating TEXT,
        original_language TEXT,
        audience_rating {real},
        season_number INTEGER,
        episode_number INTEGER,
        arr_instance TEXT,
        arr_id INTEGER,
        monitored BOOLEAN,
        tags TEXT,
        rating_imdb {real},
        rating_tmdb {real},
        rating_rt {real},
        series_status TEXT,
        protected BOOLEAN NOT NULL DEFAULT FALSE,
        protection_reason TEXT,
        first_seen {real} NOT NULL,
        updated_at {real} NOT NULL,
        tombstoned_at {real}
    )""",
    "CREATE UNIQUE INDEX item_server_key ON item (server, server_key)",
    "CREATE INDEX item_tmdb ON item (type, tmdb_id)",
    "CREATE INDEX item_tvdb ON item (type, tvdb_id)",
    "CREATE INDEX item_parent ON item (parent)",
    """CREATE TABLE item_key (
        server TEXT NOT NULL,
        key TEXT NOT NULL,
        item INTEGER NOT NULL REFERENCES item(id),
        PRIMARY KEY (server, key)
    )""",
    "CREATE INDEX item_key_key ON item_key (key)",
    """CREATE TABLE account (
        id {pk},
        source TEXT NOT NULL,
        external_id TEXT NOT NULL,
        username TEXT NOT NULL,
        email TEXT,
        UNIQUE (source, external_id)
    )""",
    """CREATE TABLE play (
        id {pk},
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        username TEXT NOT NULL,
        key TEXT NOT NULL,
        parent_key TEXT,
        grandparent_key TEXT,
        viewed_at {real} NOT NULL,
        watched BOOLEAN NOT NULL,
        UNIQUE (source, source_id)
    )""",
    "CREATE INDEX play_key ON play (key)",
    """CREATE TABLE media_request (
        id {pk},
        source TEXT NOT NULL,
        request_id INTEGER NOT NULL,
        media_id INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        tmdb_id INTEGER,
        tvdb_id INTEGER,
        imdb_id TEXT,
        requested_by TEXT NOT NULL,
        requested_at {real} NOT NULL,
        status TEXT NOT NULL,
        UNIQUE (source, request_id)
    )""",
]

_V2 = [
    """CREATE TABLE sync_state (
        source TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT,
        cursor TEXT,
        started_at {real},
        finished_at {real},
        last_success_at {real},
        records INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE sync_run (
        id {pk},
        started_at {real} NOT NULL,
        finished_at {real},
        status TEXT NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        summary TEXT NOT NULL DEFAULT '{}'
    )""",
]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: list[str]


_V3 = [
    "ALTER TABLE item ADD COLUMN server_updated_at {real}",
    "ALTER TABLE sync_state ADD COLUMN full_sync_at {real}",
]

_V4 = [
    """CREATE TABLE watch_summary (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        username TEXT NOT NULL,
        plays INTEGER NOT NULL,
        last_viewed {real} NOT NULL,
        PRIMARY KEY (source, key, username)
    )""",
    "INSERT INTO watch_summary (source, key, username, plays, last_viewed) "
    "SELECT source, key, username, COUNT(*), MAX(viewed_at) FROM play WHERE watched "
    "GROUP BY source, key, username",
]

_V5 = [
    # rules: those of rules.d (source 'file', path = the rule's id) and those created through the
    # API (source 'api', definition = the rule's keys as JSON); rows outlive their rule (deleted_at)
    # so queue entries and history keep pointing at them
    """CREATE TABLE rule (
        id {pk},
        source TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        definition TEXT,
        created_at {real} NOT NULL,
        updated_at {real} NOT NULL,
        deleted_at {real}
    )""",
    # the deletion queue: one row per decision to delete an item, moving through
    # queued -> processing -> deleted | failed | cancelled (see prunerr.queue)
    """CREATE TABLE queue_entry (
        id {pk},
        item INTEGER NOT NULL REFERENCES item(id),
        rule INTEGER REFERENCES rule(id),
        state TEXT NOT NULL,
        action TEXT NOT NULL,
        reset_requests BOOLEAN NOT NULL,
        import_exclusion BOOLEAN NOT NULL,
        title TEXT NOT NULL,
        size {bigint} NOT NULL,
        queued_at {real} NOT NULL,
        delete_after {real} NOT NULL,
        actor_type TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        attempt_id TEXT,
        claimed_at {real},
        next_attempt_at {real},
        reminded_at {real},
        steps TEXT NOT NULL DEFAULT '[]',
        finished_at {real},
        reason TEXT
    )""",
    "CREATE INDEX queue_entry_item ON queue_entry (item)",
    "CREATE INDEX queue_entry_state ON queue_entry (state, delete_after)",
    # at most one live entry per item, whatever the number of workers
    "CREATE UNIQUE INDEX queue_entry_live ON queue_entry (item) "
    "WHERE state IN ('queued', 'processing')",
    """CREATE TABLE activity (
        id {pk},
        created_at {real} NOT NULL,
        event_type TEXT NOT NULL,
        action TEXT NOT NULL,
        actor_type TEXT NOT NULL,
        actor_id TEXT,
        actor_name TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id INTEGER,
        target_title TEXT,
        metadata TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX activity_target ON activity (target_type, target_id)",
    "CREATE INDEX activity_created ON activity (created_at)",
    # what was deleted, kept after the item is gone
    """CREATE TABLE deletion (
        id {pk},
        entry INTEGER NOT NULL UNIQUE REFERENCES queue_entry(id),
        item INTEGER NOT NULL,
        title TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size {bigint} NOT NULL,
        freed {bigint} NOT NULL,
        rule INTEGER,
        rule_name TEXT,
        action TEXT NOT NULL,
        actor_type TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        deleted_at {real} NOT NULL,
        calls TEXT NOT NULL,
        requests_reset TEXT
    )""",
    """CREATE TABLE collection (
        id {pk},
        title TEXT NOT NULL UNIQUE,
        item_count INTEGER NOT NULL DEFAULT 0,
        protected BOOLEAN NOT NULL DEFAULT FALSE,
        protection_reason TEXT,
        protected_at {real},
        synced_at {real} NOT NULL,
        created_at {real} NOT NULL
    )""",
    # background jobs: one row per run; a lease per job kind keeps runs from overlapping and
    # expires when its holder dies
    """CREATE TABLE job_run (
        id {pk},
        job TEXT NOT NULL,
        state TEXT NOT NULL,
        actor TEXT NOT NULL,
        started_at {real} NOT NULL,
        heartbeat_at {real} NOT NULL,
        finished_at {real},
        progress TEXT,
        result TEXT,
        error TEXT
    )""",
    "CREATE INDEX job_run_job ON job_run (job, started_at)",
    """CREATE TABLE lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at {real} NOT NULL
    )""",
    """CREATE TABLE storage_snapshot (
        id {pk},
        captured_at {real} NOT NULL,
        total_size {bigint} NOT NULL,
        movie_size {bigint} NOT NULL,
        show_size {bigint} NOT NULL,
        item_count INTEGER NOT NULL,
        movie_count INTEGER NOT NULL,
        show_count INTEGER NOT NULL,
        reclaimed {bigint} NOT NULL
    )""",
]

# completed plays per user: by the key played (a movie, or an episode when the play names a
# season or show) and by the season and show keys the play names, so rules of one media type
# read only their own rows and nothing is rolled up when rules are evaluated
_SUMMARY_LEVELS = (
    (
        "key",
        "MAX(CASE WHEN parent_key IS NULL AND grandparent_key IS NULL "
        "THEN 'movie' ELSE 'episode' END)",
    ),
    ("parent_key", "'season'"),
    ("grandparent_key", "'show'"),
)


def summarize_plays(where: str) -> list[str]:
    """Statements adding the completed plays that match `where` to watch_summary."""
    return [
        "INSERT INTO watch_summary (source, key, type, username, plays, last_viewed) "
        f"SELECT source, {key}, {type_}, username, COUNT(*), MAX(viewed_at) FROM play "
        f"WHERE watched AND {key} IS NOT NULL AND {where} GROUP BY source, {key}, username "
        "ON CONFLICT (source, key, type, username) DO UPDATE SET "
        "plays = watch_summary.plays + excluded.plays, "
        "last_viewed = {greatest}(watch_summary.last_viewed, excluded.last_viewed)"
        for key, type_ in _SUMMARY_LEVELS
    ]


_V6 = [
    "DROP TABLE watch_summary",
    """CREATE TABLE watch_summary (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        type TEXT NOT NULL,
        username TEXT NOT NULL,
        plays INTEGER NOT NULL,
        last_viewed {real} NOT NULL,
        PRIMARY KEY (source, key, type, username)
    )""",
    *summarize_plays("1 = 1"),
]

_V7 = [
    # the catalog fields a sync did not read of an item (a JSON list; NULL: none): unknown
    "ALTER TABLE item ADD COLUMN unread TEXT",
    # every file of an item (a JSON list of paths); file_path stays the main one
    "ALTER TABLE item ADD COLUMN file_paths TEXT",
    # the media server's ratings by their source (audience_rating, of any source, is unused)
    "ALTER TABLE item ADD COLUMN server_rating_imdb {real}",
    "ALTER TABLE item ADD COLUMN server_rating_tmdb {real}",
    "ALTER TABLE item ADD COLUMN server_rating_rt {real}",
    "ALTER TABLE item ADD COLUMN server_rating_rt_audience {real}",
    # the next sync lists every media server in full, to fill the columns above
    "UPDATE sync_state SET full_sync_at=NULL WHERE role='media_server'",
]

_V8 = [
    # when the media server was last asked for an item's details (the stream-level fields its
    # listings lack), and the item's change time in that answer: asked again only on a change
    "ALTER TABLE item ADD COLUMN details_fetched_at {real}",
    "ALTER TABLE item ADD COLUMN details_updated_at {real}",
]

MIGRATIONS = [
    Migration(1, "library, keys, accounts, plays and requests", _V1),
    Migration(2, "per-source sync state and sync runs", _V2),
    Migration(3, "server change times, for incremental listings", _V3),
    Migration(4, "completed plays per item key and user, kept up to date by the sync", _V4),
    Migration(5, "rules, the deletion queue, activity, deletions, collections and jobs", _V5),
    Migration(6, "completed plays also per season and show key, by the keys of each play", _V6),
    Migration(7, "fields not read per item, every file's path, ratings by source", _V7),
    Migration(8, "when each item's details were last fetched from its media server", _V8),
]
LATEST = MIGRATIONS[-1].version


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
# parameters of one multi-row INSERT at most (SQLite's own limit is lower before 3.32)
INSERT_ROWS_PARAMS = 32_000


class Store:
    """The bound database: Pony `db` with its entities, the dialect, and the schema version.

    A connection belongs to the thread and the process that opened it: each thread opens its
    own (Pony's pool and the readers are per thread), and a process never uses or closes one
    it inherited through a fork. A SQLite connection that crosses a fork breaks the file's
    locking for both processes: the child believes it holds the parent's locks, so another
    process can checkpoint and delete the WAL under it (lost writes, then `disk I/O error`).
    So a process that forks closes its connections first (`disconnect`), and `prunerr serve`
    starts its job workers as fresh processes, never as forks."""

    def __init__(self, db: Database, dialect: Dialect, sqlite_path: str | None = None):
        self.db = db
        self.dialect = dialect
        self.sqlite_path = sqlite_path  # a file: reads may use connections of their own
        self._readers = threading.local()  # connection, and the process that opened it

    @property
    def entities(self):
        return self.db.entities

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read-only connection to the SQLite file, when a read may use it.

        Pony opens every SQLite transaction it is handed raw SQL in with BEGIN IMMEDIATE, the
        write lock: a read would wait for (and time out behind) a sync writing in another
        process. Reads made before the session writes anything go through a plain connection
        instead, which in WAL mode never waits for writers; once the session has written, its
        reads stay on its own connection, so they see its changes."""
        if self.sqlite_path is None or self.db._get_cache().in_transaction:
            return None
        reader = getattr(self._readers, "connection", None)
        if reader is not None and self._readers.pid != os.getpid():
            _INHERITED.append(reader)
            reader = None
        if reader is None:
            reader = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None)
            reader.execute("PRAGMA query_only=ON")
            self._readers.connection, self._readers.pid = reader, os.getpid()
        return reader

    def execute(self, sql: str, params=()) -> list[tuple]:
        """Run one statement written with `?` placeholders inside the caller's db_session."""
        reader = self._reader() if sql.lstrip()[:6].upper() == "SELECT" else None
        if reader is not None:
            return reader.execute(sql, params).fetchall()
        connection = self.db.get_connection()
        cursor = connection.cursor()
        cursor.execute(self.dialect.sql(sql), params)
        if not cursor.description:
            return []
        if self.dialect is not SQLITE:
            return cursor.fetchall()
        # Pony decodes every SQLite string through a Python function; our text is always valid
        # UTF-8 (we wrote it), and plain decoding makes large reads several times faster.
        pony_factory, connection.text_factory = connection.text_factory, str
        try:
            return cursor.fetchall()
        finally:
            connection.text_factory = pony_factory

    def update(self, sql: str, params=()) -> int:
        """Run one INSERT, UPDATE or DELETE; the number of rows it changed."""
        cursor = self.db.get_connection().cursor()
        cursor.execute(self.dialect.sql(sql), params)
        return cursor.rowcount

    def insert(self, sql: str, params=()) -> int:
        """Run one INSERT into a table with an `id` key; the new row's id."""
        if self.dialect is SQLITE:
            cursor = self.db.get_connection().cursor()
            cursor.execute(self.dialect.sql(sql), params)
            return cursor.lastrowid
        return self.execute(f"{sql} RETURNING id", params)[0][0]

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        """Run one statement per row. An `INSERT ... VALUES (?, ...)` is sent as few statements
        of many rows each (INSERT_ROWS_PARAMS parameters): a statement is one step, the only
        time the sqlite3 module lets other threads run, and taking the GIL back from a thread
        that parses an upstream's answer costs up to a switch interval (5 ms) a step, so a
        200,000-row insert beside such a thread would take minutes, not a second."""
        connection = self.db.get_connection()
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

    def disconnect(self) -> None:
        """Close the connections this thread opened (before a fork, say). SQLite connections
        must be closed, never left to the garbage collector: one is in a reference cycle (its
        statement cache), so it would stay open, and cross the next fork."""
        reader = getattr(self._readers, "connection", None)
        if reader is not None:
            if self._readers.pid == os.getpid():
                reader.close()
            else:
                _INHERITED.append(reader)
            self._readers.connection = None
        pool = getattr(self.db.provider, "pool", None)
        if getattr(pool, "con", None) is not None and getattr(pool, "pid", None) != os.getpid():
            pool.forked_connections.append((pool.con, pool.pid))  # as Pony does on its next use
            pool.con = pool.pid = None
        self.db.disconnect()


def _current_version(store: Store) -> int:
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
            current = _current_version(store)
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
                current = _current_version(store)
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
