import ctypes
import ctypes.util
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pony.orm import db_session, select

from prunerr.store import database
from prunerr.store.database import open_store, parse_url
from prunerr.store.schema import LATEST, MIGRATIONS

ITEM = (
    "INSERT INTO item (type, title, server, server_key, library_key, library, added, size, "
    "genres, labels, collections, first_seen, updated_at) "
    "VALUES ('movie', 'Alien', 'plex', '42', '1', 'Movies', 1.0, 10, '[]', '[]', '[]', 1.0, 1.0)"
)


def test_a_new_database_is_created_at_the_latest_schema(store):
    with db_session:
        assert store.read("SELECT value FROM meta WHERE key='schema_version'") == [(str(LATEST),)]
        store.execute(ITEM)
        item = select(i for i in store.entities["Item"]).first()
        assert (item.title, item.protected, item.tombstoned_at) == ("Alien", False, None)


def test_a_read_never_waits_for_a_writer_in_another_process_and_a_session_reads_its_writes(
    tmp_path: Path,
):
    store = open_store(None, tmp_path)
    writer = sqlite3.connect(store.sqlite_path, timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a sync, say, in the middle of its transaction
        writer.execute("INSERT INTO meta (key, value) VALUES ('other', 'uncommitted')")
        started = time.monotonic()
        with db_session:
            assert store.read("SELECT value FROM meta WHERE key='other'") == []
        assert time.monotonic() - started < 5  # a wait would last the 30 s busy timeout
        writer.execute("COMMIT")
        with db_session:
            store.execute("INSERT INTO meta (key, value) VALUES ('mine', 'written')")
            mine = "SELECT value FROM meta WHERE key IN ('mine', 'other') ORDER BY value"
            assert store.read(mine) == [("uncommitted",), ("written",)]
    finally:
        writer.close()
        store.disconnect()


def test_every_table_and_column_of_the_schema_has_an_entity(store):
    """Repositories query through the entities: a column left unmapped could not be read so,
    and one whose nullability differs could not be written so (Pony refuses None for a string
    column not declared nullable)."""
    with db_session:
        if store.dialect.name == "sqlite":
            tables = [r[0] for r in store.read("SELECT name FROM sqlite_master WHERE type='table'")]
            columns = {
                t: {r[1]: not r[3] for r in store.execute(f"PRAGMA table_info({t})") if not r[5]}
                for t in tables
            }
        else:
            columns = {}
            for table, column, nullable, primary in store.read(
                "SELECT c.table_name, c.column_name, c.is_nullable = 'YES', k.column_name "
                "IS NOT NULL FROM information_schema.columns c LEFT JOIN "
                "information_schema.key_column_usage k ON k.table_name = c.table_name AND "
                "k.column_name = c.column_name AND k.constraint_name LIKE ? "
                "WHERE c.table_schema = current_schema()",
                ("%pkey",),
            ):
                if not primary:
                    columns.setdefault(table, {})[column] = nullable
    columns.pop("sqlite_sequence", None)
    mapped = {
        entity._table_: {
            column: bool(attr.nullable)
            for attr in entity._attrs_
            if attr not in entity._pk_attrs_
            for column in attr.columns
        }
        for entity in store.entities.values()
    }
    assert mapped == columns


def test_migrations_upgrade_an_older_database_and_keep_its_rows(database_url, tmp_path: Path):
    old = open_store(database_url, tmp_path, migrate_to=1)
    with db_session:
        old.execute(ITEM)
    old.disconnect()

    upgraded = open_store(database_url, tmp_path)
    with db_session:
        assert upgraded.read("SELECT title FROM item") == [("Alien",)]
        assert upgraded.read("SELECT value FROM meta WHERE key='schema_version'") == [
            (str(LATEST),)
        ]
        upgraded.execute(
            "INSERT INTO sync_state (source, role, status) VALUES ('plex:media_server', "
            "'media_server', 'ok')"
        )
    upgraded.disconnect()


def test_a_database_newer_than_the_code_is_refused(database_url, tmp_path: Path):
    store = open_store(database_url, tmp_path)
    with db_session:
        store.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(LATEST + 1),))
    store.disconnect()
    with pytest.raises(RuntimeError, match="newer than this Prunerr"):
        open_store(database_url, tmp_path)


def test_a_failed_transaction_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError), db_session:
        store.execute(ITEM)
        raise RuntimeError("crash mid-write")
    with db_session:
        assert store.read("SELECT COUNT(*) FROM item") == [(0,)]


def test_a_bulk_insert_over_many_statements_stores_every_row_once(store, monkeypatch):
    """executemany sends an INSERT as statements of several rows: every row arrives, in order,
    and ON CONFLICT holds within a statement and across them."""
    monkeypatch.setattr(database, "INSERT_ROWS_PARAMS", 3 * 8)  # 3 plays a statement
    plays = [(n % 7, float(n)) for n in range(20)]  # source ids 0-6 repeat, within and across
    with db_session:
        store.executemany(
            "INSERT INTO play (source, source_id, username, key, parent_key, grandparent_key, "
            "viewed_at, watched) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source, source_id) DO NOTHING",
            (("tautulli", str(i), "ann", "1", None, None, at, True) for i, at in plays),
        )
        store.executemany("UPDATE play SET username=? WHERE source_id=?", [("bob", "3")])
        rows = store.read("SELECT source_id, viewed_at, username FROM play ORDER BY id")
    assert rows == [(str(i), float(i), "bob" if i == 3 else "ann") for i in range(7)]


def test_migrations_are_numbered_in_order():
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))


def test_database_urls():
    assert parse_url("", Path("/data"))[1] == {"provider": "sqlite", "filename": "/data/prunerr.db"}
    assert parse_url("sqlite:////var/lib/p.db", Path("/d"))[1]["filename"] == "/var/lib/p.db"
    relative = parse_url("sqlite:///here/p.db", Path("/d"))[1]["filename"]
    assert relative == str(Path.cwd() / "here" / "p.db")
    dialect, args = parse_url("postgres://app:s%40cret@db:5433/prunerr?sslmode=require", Path("/"))
    assert dialect.name == "postgres"
    assert args == {
        "provider": "postgres",
        "host": "db",
        "port": 5433,
        "database": "prunerr",
        "user": "app",
        "password": "s@cret",
        "sslmode": "require",
    }
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        parse_url("mysql://x/y", Path("/"))


def test_sqlite_runs_in_wal_mode(tmp_path: Path):
    store = open_store(None, tmp_path)
    with db_session:
        assert store.execute("PRAGMA journal_mode") == [("wal",)]
    store.disconnect()


def _sqlite_memory_used():
    """sqlite3_memory_used() of the SQLite library this Python's sqlite3 module runs on."""
    found = ctypes.util.find_library("sqlite3")
    if found is None:
        pytest.skip("no shared SQLite library to ask how much memory it holds")
    used = ctypes.CDLL(found).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return used


def _memory_after_reads_by(store, threads: int, used) -> int:
    """SQLite's memory once `threads` threads (kept alive, each with its connection, as the
    API's are) have each scanned the `pad` table."""
    done, finish = threading.Barrier(threads + 1), threading.Event()

    def scan():
        with db_session:
            store.read("SELECT sum(length(x)) FROM pad")
        done.wait()
        finish.wait()
        store.disconnect()

    workers = [threading.Thread(target=scan) for _ in range(threads)]
    for worker in workers:
        worker.start()
    done.wait()
    measured = used()
    finish.set()
    for worker in workers:
        worker.join()
    return measured


def test_threads_reading_share_one_bound_on_sqlite_memory(tmp_path: Path):
    """`share_sqlite_memory` (what `prunerr serve` sets): however many of the API's threads
    read, SQLite's caches together stay near the bound, where each thread's connection would
    otherwise keep 2 MB of its own."""
    used = _sqlite_memory_used()
    store = open_store(None, tmp_path)
    with sqlite3.connect(store.sqlite_path) as fill:  # 8 MB: more than one cache holds
        fill.execute("CREATE TABLE pad (x TEXT)")
        fill.executemany("INSERT INTO pad VALUES (?)", [("x" * 1000,)] * 8000)
    fill.close()
    try:
        before = used()
        unbounded = _memory_after_reads_by(store, 6, used) - before
        store.share_sqlite_memory(2**20)
        before = used()
        bounded = _memory_after_reads_by(store, 6, used) - before
    finally:
        store.share_sqlite_memory(0)  # the process's: no bound for the other tests
        store.disconnect()
    assert unbounded > 6 * 2**20  # the default: a cache each
    assert bounded < 2 * 2**20


def test_the_watch_summary_is_backfilled_from_existing_plays(database_url, tmp_path: Path):
    """Upgrading from before the summary (v3) builds it from the stored plays, episode plays
    counted for their season and show keys too."""
    old = open_store(database_url, tmp_path, migrate_to=3)
    plays = [  # user, key, season key, show key, watched
        ("ann", "1", None, None, True),
        ("ann", "1", None, None, True),
        ("bob", "1", None, None, False),
        ("bob", "2", None, None, True),
        ("ann", "11", "10", "9", True),
        ("ann", "12", "10", "9", True),
        ("bob", "12", "10", "9", False),
    ]
    with db_session:
        old.executemany(
            "INSERT INTO play (source, source_id, username, key, parent_key, grandparent_key,"
            " viewed_at, watched) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [("tautulli", str(i), *play[:4], 100.0 * i, play[4]) for i, play in enumerate(plays)],
        )
    old.disconnect()
    store = open_store(database_url, tmp_path)
    with db_session:
        summary = store.read(
            "SELECT key, type, username, plays, last_viewed FROM watch_summary "
            "ORDER BY key, type, username"
        )
    store.disconnect()
    assert summary == [
        ("1", "movie", "ann", 2, 100.0),
        ("10", "season", "ann", 2, 500.0),
        ("11", "episode", "ann", 1, 400.0),
        ("12", "episode", "ann", 1, 500.0),
        ("2", "movie", "bob", 1, 300.0),
        ("9", "show", "ann", 2, 500.0),
    ]


def test_processes_starting_together_on_a_new_database_migrate_it_once(database_url, tmp_path):
    """An API and its workers start at the same moment: one migrates, the others wait for it."""
    script = (
        "import sys; from pathlib import Path; from prunerr.store.database import open_store; "
        "open_store(sys.argv[1], Path(sys.argv[2])).disconnect()"
    )
    starting = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url, str(tmp_path)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in starting:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    store = open_store(database_url, tmp_path)
    with db_session:
        assert store.read("SELECT value FROM meta") == [(str(LATEST),)]
    store.disconnect()


def test_a_relative_data_directory_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = open_store(None, Path("data"))
    store.disconnect()
    assert (tmp_path / "data" / "prunerr.db").exists()


def test_the_fields_not_read_are_a_column_that_a_v6_database_gains_empty(database_url, tmp_path):
    """v7: `unread` (what a sync did not read of an item), every file's path, ratings by their
    source; the next sync lists the media servers in full to fill them."""
    old = open_store(database_url, tmp_path, migrate_to=6)
    with db_session:
        old.execute(ITEM)
        old.execute(
            "INSERT INTO sync_state (source, role, status, full_sync_at) VALUES "
            "('plex:media_server', 'media_server', 'ok', 5.0), "
            "('radarr:library_manager', 'library_manager', 'ok', 5.0)"
        )
    old.disconnect()
    store = open_store(database_url, tmp_path)
    with db_session:
        rows = store.read(
            "SELECT title, unread, file_paths, server_rating_imdb, server_rating_tmdb, "
            "server_rating_rt, server_rating_rt_audience FROM item"
        )
        full = store.read("SELECT source, full_sync_at FROM sync_state ORDER BY source")
        store.execute("UPDATE item SET unread=?, file_paths=?", ('["size"]', '["/a", "/b"]'))
        assert store.read("SELECT unread, file_paths FROM item") == [('["size"]', '["/a", "/b"]')]
    store.disconnect()
    assert rows == [("Alien", None, None, None, None, None, None)]
    assert full == [("plex:media_server", None), ("radarr:library_manager", 5.0)]
