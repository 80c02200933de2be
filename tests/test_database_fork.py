"""No SQLite connection crosses a fork. A connection open in a process when it forks makes the
child's own connections believe they hold the parent's locks, so they take none: when the
parent's last connection closes, SQLite finds no other user, checkpoints and deletes the WAL
under the child, whose later writes are lost (issue 11: jobs failing with `disk I/O error`)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.store.database import open_store

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")


@pytest.fixture
def no_garbage_collection():
    """A connection left to the garbage collector stays open until its next run (a SQLite
    connection is in a reference cycle): without one, it stays open for the whole test."""
    gc.disable()
    yield
    gc.enable()


def open_files(directory: Path) -> list[str]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(directory)) and "prunerr.db" in target:
            found.append(target)
    return found


def opened(directory: Path):
    """A store on an existing database, as a process opens it at start."""
    open_store(None, directory).disconnect()
    return open_store(None, directory)


def use(store) -> None:
    with db_session:
        store.read("SELECT COUNT(*) FROM item")
        store.update("INSERT INTO meta (key, value) VALUES ('used', 'yes')")
        store.read("SELECT value FROM meta WHERE key='used'")


def test_a_disconnected_store_leaves_no_file_open(tmp_path, no_garbage_collection):
    store = opened(tmp_path)
    use(store)
    store.disconnect()
    assert open_files(tmp_path) == []


def test_a_process_forked_from_a_disconnected_store_loses_no_write(tmp_path, no_garbage_collection):
    store = opened(tmp_path)
    use(store)
    store.disconnect()
    halfway, go_on = os.pipe(), os.pipe()
    child = os.fork()
    if child == 0:  # writes 40 rows, each in its own transaction, on connections of its own
        code = 1
        try:
            for i in range(40):
                with db_session:
                    store.update("INSERT INTO meta (key, value) VALUES (?, 'child')", (f"k{i}",))
                if i == 19:
                    os.write(halfway[1], b".")
                    os.read(go_on[0], 1)
            store.disconnect()
            code = 0
        finally:
            os._exit(code)
    os.read(halfway[0], 1)
    # meanwhile the parent closes whatever it still has open (as its garbage collector would,
    # at any moment), and another connection opens the database and closes it again
    gc.collect()
    other = open_store(None, tmp_path)
    with db_session:
        other.read("SELECT COUNT(*) FROM meta")
    other.disconnect()
    os.write(go_on[1], b".")
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    check = open_store(None, tmp_path)
    with db_session:
        (written,) = check.read("SELECT COUNT(*) FROM meta WHERE value='child'")[0]
    check.disconnect()
    assert written == 40
