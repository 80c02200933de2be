"""The schema, as ordered migrations: plain SQL written once for both dialects, `{pk}`, `{real}`,
`{bigint}` and `{greatest}` filled in by `database.Dialect.sql`. A database's version is the last
migration it had applied (`meta.schema_version`); `entities` maps onto the result."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: list[str]


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

_V9 = [
    # GET /api/stats: the live queue's count and bytes from the index alone, the bytes deleted
    # in a week and the syncs of the last two weeks without reading whole tables
    "CREATE INDEX queue_entry_totals ON queue_entry (state, size)",
    "CREATE INDEX deletion_time ON deletion (deleted_at, freed)",
    "CREATE INDEX sync_run_started ON sync_run (started_at)",
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
    Migration(9, "indexes for the stats' queue, deletion and sync figures", _V9),
]
LATEST = MIGRATIONS[-1].version
