"""The library the API and previews read: items held compactly, and a reload that shares what
did not change with the snapshot it replaces."""

from __future__ import annotations

import pytest
from pony.orm import db_session

from prunerr.app import Prunerr
from prunerr.dsl import UNKNOWN, compile_condition
from prunerr.plugins import PluginHost
from prunerr.store.items import ItemFields
from prunerr.sync import SyncService
from tests.support import LIBRARY, emulated


def test_item_fields_read_like_a_dict_and_an_absent_field_is_unknown():
    fields = ItemFields({"type": "movie", "size": 10, "requested_by": None})
    assert fields == {"type": "movie", "size": 10, "requested_by": None}
    assert "requested_by" in fields  # known to be null
    assert "year" not in fields and fields.get("year", "unknown") == "unknown"
    with pytest.raises(KeyError):
        fields["year"]
    fields["year"] = 1999
    fields["a.plugin_field"] = "new"  # a name no item had before
    del fields["size"]
    assert dict(fields) == {
        "type": "movie",
        "requested_by": None,
        "year": 1999,
        "a.plugin_field": "new",
    }
    assert ItemFields({"type": "movie"}) != ItemFields({"type": "movie", "size": None})
    program = compile_condition("size > 5 GB", media="movie").program
    assert program.evaluate(ItemFields({"type": "movie"})) is UNKNOWN
    assert program.evaluate(ItemFields({"type": "movie", "size": 6 * 10**9})) is True


def test_a_reload_shares_the_unchanged_items_and_reads_the_changed_ones(store, tmp_path):
    host = PluginHost.create()
    with emulated(LIBRARY) as (env, _):
        config = host.load_config({**env, "PRUNERR_DATA_DIR": str(tmp_path)})
        services = host.services(config)
        assert SyncService(store, services).run().ok
    library = Prunerr(host, config, store=store, services=services).library
    before = library.snapshot()
    with db_session:
        (changed,) = store.read("SELECT id FROM item WHERE type='movie' ORDER BY id LIMIT 1")[0]
        store.update("UPDATE item SET title='Retitled' WHERE id=?", (changed,))
    library.invalidate()
    after = library.snapshot(fresh=True)

    assert after is not before and after.by_id.keys() == before.by_id.keys()
    assert after.by_id[changed].fields["title"] == "Retitled"
    assert before.by_id[changed].fields["title"] != "Retitled"
    shared = [i for i in after.items if before.by_id[i.id] is i]
    assert len(shared) == len(after.items) - 1  # all but the retitled movie
    assert all(after.identity[i] is before.identity[i] for i in after.identity)
