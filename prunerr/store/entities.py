"""Pony entities, one for every table, declared inside a function so each test (and each process)
binds its own database. The schema itself is created by the migrations in `schema`; these map onto
it. Times are POSIX seconds (UTC) as floats; list columns hold JSON text."""

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
        imdb_id = Optional(str, nullable=True)
        year = Optional(int)
        added = Required(float)
        size = Required(int, size=64)
        file_path = Optional(str, nullable=True)
        resolution = Optional(str, nullable=True)
        resolution_height = Optional(int)
        video_codec = Optional(str, nullable=True)
        audio_codec = Optional(str, nullable=True)
        hdr = Optional(str, nullable=True)
        bitrate = Optional(int)
        runtime = Optional(int)
        genres = Required(str)
        labels = Required(str)
        collections = Required(str)
        studio = Optional(str, nullable=True)
        content_rating = Optional(str, nullable=True)
        original_language = Optional(str, nullable=True)
        audience_rating = Optional(float)
        season_number = Optional(int)
        episode_number = Optional(int)
        arr_instance = Optional(str, nullable=True)
        arr_id = Optional(int)
        monitored = Optional(bool)
        tags = Optional(str, nullable=True)
        rating_imdb = Optional(float)
        rating_tmdb = Optional(float)
        rating_rt = Optional(float)
        series_status = Optional(str, nullable=True)
        protected = Required(bool, default=False)
        protection_reason = Optional(str, nullable=True)
        first_seen = Required(float)
        updated_at = Required(float)
        tombstoned_at = Optional(float)
        server_updated_at = Optional(float)
        unread = Optional(
            str, nullable=True
        )  # JSON list of the catalog fields the sync did not read
        file_paths = Optional(str, nullable=True)  # JSON list
        server_rating_imdb = Optional(float)
        server_rating_tmdb = Optional(float)
        server_rating_rt = Optional(float)
        server_rating_rt_audience = Optional(float)
        details_fetched_at = Optional(float)
        details_updated_at = Optional(float)
        keys = Set("ItemKey")
        entries = Set("QueueEntry")

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
        email = Optional(str, nullable=True)

    class Play(db.Entity):
        _table_ = "play"
        id = PrimaryKey(int, auto=True)
        source = Required(str)
        source_id = Required(str)
        username = Required(str)
        key = Required(str)
        parent_key = Optional(str, nullable=True)
        grandparent_key = Optional(str, nullable=True)
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
        imdb_id = Optional(str, nullable=True)
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
        message = Optional(str, nullable=True)
        cursor = Optional(str, nullable=True)
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

    class Rule(db.Entity):
        """A rule of rules.d (source file) or created through the API (source api); the row
        outlives its rule (deleted_at) so the queue and history keep pointing at it."""

        _table_ = "rule"
        id = PrimaryKey(int, auto=True)
        source = Required(str)
        path = Required(str, unique=True)
        name = Required(str)
        definition = Optional(str, nullable=True)  # JSON, of a rule created through the API
        created_at = Required(float)
        updated_at = Required(float)
        deleted_at = Optional(float)
        entries = Set("QueueEntry")

    class QueueEntry(db.Entity):
        """One decision to delete an item, through the states of `prunerr.queue`."""

        _table_ = "queue_entry"
        id = PrimaryKey(int, auto=True)
        item = Required(Item, column="item")
        rule = Optional(Rule, column="rule")
        state = Required(str)
        action = Required(str)
        reset_requests = Required(bool)
        import_exclusion = Required(bool)
        title = Required(str)
        size = Required(int, size=64)
        queued_at = Required(float)
        delete_after = Required(float)
        actor_type = Required(str)
        actor_name = Required(str)
        attempts = Required(int, default=0)
        attempt_id = Optional(str, nullable=True)
        claimed_at = Optional(float)
        next_attempt_at = Optional(float)
        reminded_at = Optional(float)
        steps = Required(str, default="[]")  # JSON list
        finished_at = Optional(float)
        reason = Optional(str, nullable=True)
        deletion = Optional("Deletion")

    class Deletion(db.Entity):
        """What was deleted, kept after the item is gone."""

        _table_ = "deletion"
        id = PrimaryKey(int, auto=True)
        entry = Required(QueueEntry, column="entry", unique=True)
        item = Required(int)
        title = Required(str)
        media_type = Required(str)
        size = Required(int, size=64)
        freed = Required(int, size=64)
        rule = Optional(int)
        rule_name = Optional(str, nullable=True)
        action = Required(str)
        actor_type = Required(str)
        actor_name = Required(str)
        deleted_at = Required(float)
        calls = Required(str)  # JSON
        requests_reset = Optional(str, nullable=True)  # JSON

    class Activity(db.Entity):
        """One state change, with who made it and why."""

        _table_ = "activity"
        id = PrimaryKey(int, auto=True)
        created_at = Required(float)
        event_type = Required(str)
        action = Required(str)
        actor_type = Required(str)
        actor_id = Optional(str, nullable=True)
        actor_name = Required(str)
        target_type = Required(str)
        target_id = Optional(int)
        target_title = Optional(str, nullable=True)
        metadata = Required(str, default="{}")  # JSON

    class Collection(db.Entity):
        _table_ = "collection"
        id = PrimaryKey(int, auto=True)
        title = Required(str, unique=True)
        item_count = Required(int, default=0)
        protected = Required(bool, default=False)
        protection_reason = Optional(str, nullable=True)
        protected_at = Optional(float)
        synced_at = Required(float)
        created_at = Required(float)

    class JobRun(db.Entity):
        _table_ = "job_run"
        id = PrimaryKey(int, auto=True)
        job = Required(str)
        state = Required(str)
        actor = Required(str)
        started_at = Required(float)
        heartbeat_at = Required(float)
        finished_at = Optional(float)
        progress = Optional(str, nullable=True)
        result = Optional(str, nullable=True)  # JSON
        error = Optional(str, nullable=True)

    class Lease(db.Entity):
        """Keeps runs of one job group from overlapping; expires when its holder dies."""

        _table_ = "lease"
        name = PrimaryKey(str)
        holder = Required(str)
        expires_at = Required(float)

    class StorageSnapshot(db.Entity):
        _table_ = "storage_snapshot"
        id = PrimaryKey(int, auto=True)
        captured_at = Required(float)
        total_size = Required(int, size=64)
        movie_size = Required(int, size=64)
        show_size = Required(int, size=64)
        item_count = Required(int)
        movie_count = Required(int)
        show_count = Required(int)
        reclaimed = Required(int, size=64)
