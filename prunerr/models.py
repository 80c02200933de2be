"""Pony entities, declared inside a function so each test (and each process) binds its own
database. The schema itself is created by the migrations in `prunerr.database`; these map onto it.
Times are POSIX seconds (UTC) as floats; list columns hold JSON text."""

from __future__ import annotations

from pony.orm import Database, Optional, PrimaryKey, Required, Set


def define_entities(db: Database) -> None:
    class Meta(db.Entity):
        _table_ = "meta"
        key = PrimaryKey(str)
        value = Required(str)

    class Setting(db.Entity):
        _table_ = "setting"
        key = PrimaryKey(str)
        value = Required(str)  # JSON

    class Item(db.Entity):
        """A movie, show, season or episode; kept (tombstoned) after it leaves the server."""

        _table_ = "item"
        id = PrimaryKey(int, auto=True)
        type = Required(str)
        title = Required(str)
        parent = Optional("Item", column="parent", reverse="children")
        children = Set("Item", reverse="parent")
        show = Optional("Item", column="show", reverse="episodes")
        episodes = Set("Item", reverse="show")
        server = Required(str)
        server_key = Required(str)
        library_key = Required(str)
        library = Required(str)
        tmdb_id = Optional(int)
        tvdb_id = Optional(int)
        imdb_id = Optional(str)
        year = Optional(int)
        added = Required(float)
        size = Required(int, size=64)
        file_path = Optional(str)
        resolution = Optional(str)
        resolution_height = Optional(int)
        video_codec = Optional(str)
        audio_codec = Optional(str)
        hdr = Optional(str)
        bitrate = Optional(int)
        runtime = Optional(int)
        genres = Required(str)
        labels = Required(str)
        collections = Required(str)
        studio = Optional(str)
        content_rating = Optional(str)
        original_language = Optional(str)
        audience_rating = Optional(float)
        season_number = Optional(int)
        episode_number = Optional(int)
        arr_instance = Optional(str)
        arr_id = Optional(int)
        monitored = Optional(bool)
        tags = Optional(str)
        rating_imdb = Optional(float)
        rating_tmdb = Optional(float)
        rating_rt = Optional(float)
        series_status = Optional(str)
        protected = Required(bool, default=False)
        protection_reason = Optional(str)
        first_seen = Required(float)
        updated_at = Required(float)
        tombstoned_at = Optional(float)
        server_updated_at = Optional(float)
        keys = Set("ItemKey")

    class ItemKey(db.Entity):
        """Every server key an item has had, so history keeps pointing at it after an upgrade."""

        _table_ = "item_key"
        server = Required(str)
        key = Required(str)
        item = Required(Item, column="item")
        PrimaryKey(server, key)

    class Account(db.Entity):
        _table_ = "account"
        id = PrimaryKey(int, auto=True)
        source = Required(str)
        external_id = Required(str)
        username = Required(str)
        email = Optional(str)

    class Play(db.Entity):
        _table_ = "play"
        id = PrimaryKey(int, auto=True)
        source = Required(str)
        source_id = Required(str)
        username = Required(str)
        key = Required(str)
        parent_key = Optional(str)
        grandparent_key = Optional(str)
        viewed_at = Required(float)
        watched = Required(bool)

    class MediaRequest(db.Entity):
        _table_ = "media_request"
        id = PrimaryKey(int, auto=True)
        source = Required(str)
        request_id = Required(int)
        media_id = Required(int)
        media_type = Required(str)
        tmdb_id = Optional(int)
        tvdb_id = Optional(int)
        imdb_id = Optional(str)
        requested_by = Required(str)
        requested_at = Required(float)
        status = Required(str)

    class WatchSummary(db.Entity):
        """Completed plays per user and key: of a movie or an episode, and of the season and
        show each episode play names (type movie, episode, season, show); kept by the sync."""

        _table_ = "watch_summary"
        source = Required(str)
        key = Required(str)
        type = Required(str)
        username = Required(str)
        plays = Required(int)
        last_viewed = Required(float)
        PrimaryKey(source, key, type, username)

    class SyncState(db.Entity):
        """The outcome of the last sync of one source (a service in one role)."""

        _table_ = "sync_state"
        source = PrimaryKey(str)
        role = Required(str)
        status = Required(str)  # ok | failed | never
        message = Optional(str)
        cursor = Optional(str)
        started_at = Optional(float)
        finished_at = Optional(float)
        last_success_at = Optional(float)
        full_sync_at = Optional(float)
        records = Required(int, default=0)

    class SyncRun(db.Entity):
        _table_ = "sync_run"
        id = PrimaryKey(int, auto=True)
        started_at = Required(float)
        finished_at = Optional(float)
        status = Required(str)  # running | ok | partial | failed
        requests = Required(int, default=0)
        summary = Required(str, default="{}")
