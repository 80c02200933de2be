"""The JSON Prunerr speaks: every answer's shape as a msgspec Struct. The API encodes these
(`encode`) and publishes the JSON schemas msgspec derives from the same classes in its OpenAPI
document, so an answer cannot drift from its documented schema; the jobs' recorded results use
them, and `prunerr rules plan` and `prunerr queue process` print them with `--format json`.
Names are snake_case here and camelCase on the wire, as in the original Prunerr API; a field
that is sometimes left out defaults to UNSET, and null is a value the answer holds (unknown, or
none)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from prunerr.dsl.types import MEDIA_TYPE
from prunerr.dsl.units import format_size
from prunerr.rules.model import DELETION_ACTIONS, KINDS, MAX_GRACE_DAYS
from prunerr.store.items import listing_title

if TYPE_CHECKING:
    from prunerr import planning
    from prunerr.planning import evaluation
    from prunerr.queue import processing


class Shape(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """An answer's shape: camelCase on the wire, no field beyond those declared."""


class Record(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An answer the original sends as its database row: snake_case on the wire."""


def described(kind: Any, description: str) -> Any:
    """`kind`, with the description the OpenAPI document gives it."""
    return Annotated[kind, Meta(description=description)]


Count = Annotated[int, Meta(ge=0)]
PageNumber = Annotated[int, Meta(ge=1)]
Time = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
Media = Literal[MEDIA_TYPE.values]  # type: ignore[valid-type]
Action = Literal[DELETION_ACTIONS]  # type: ignore[valid-type]
Listed = Literal["movie", "tv", "season", "episode"]  # the original's name of a show: tv

TITLE = (
    "A movie's or a show's own title (null when unknown); a season's or an episode's display "
    "title, as in displayTitle"
)
DISPLAY_TITLE = (
    "The name people know the item by: movie or show “Title (Year)”, season “Show — Season 2” "
    "(“Show — Specials”), episode “Show — S02E05 — Title”; what is unknown is left out"
)


class Paged(Shape):
    """The original's paginated shape: the page's `items` beside these."""

    total: Count
    page: PageNumber
    total_pages: PageNumber


# --- health, settings ---------------------------------------------------------------------------


class ServiceCheck(Shape):
    service: str
    configured: bool
    connected: bool
    error: str | None
    response_time_ms: described(int | None, "whole milliseconds")


class BrokenRule(Shape):
    rule: str
    message: str
    stops_deletion: described(bool, "a protect rule, or one that may be: nothing is deleted")


class JobsHealth(Shape):
    """Whether jobs can run (with a key, when this process starts jobs)"""

    workers: described(int | None, "job worker processes this server keeps running; null: none")
    ready: described(int | None, "how many are ready")
    problems: described(list[str], "what keeps jobs from running; any makes the status degraded")


BROKEN_RULES = "rules that do not load (with a key); any makes the status degraded"


class Health(Shape):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    uptime: float
    services: list[ServiceCheck] | UnsetType = UNSET
    broken_rules: described(list[BrokenRule], BROKEN_RULES) | UnsetType = UNSET
    jobs: JobsHealth | UnsetType = UNSET


class ServiceStatus(Shape):
    """A service of the original's list, as its health page shows it."""

    service: described(str, "the original's name: plex, radarr, sonarr, tautulli, ...")
    configured: bool
    connected: bool
    response_time_ms: described(int | None, "whole milliseconds")
    error: str | None
    last_checked: Time


class Scheduler(Shape):
    """The original's scheduler: its scan is the rule evaluation, its sync the library sync."""

    is_running: described(
        bool,
        "rules are evaluated on a schedule and the jobs can run (the original: its scheduler "
        "is started); false when the schedule is off or this server's workers are all down",
    )
    job_running: described(bool, "a job runs now")
    last_scan: Time | None
    next_run: Time | None
    scan_schedule: described(str | None, "cron")
    last_sync: Time | None
    last_sync_at: Time | None
    last_sync_success: bool | None
    next_sync: Time | None
    sync_schedule: described(str | None, "cron")


class ServiceTested(Shape):
    """A connection test that succeeded (one that failed is a 400 saying why)."""

    service: described(str, "the original's name: plex, radarr, sonarr, tautulli, ...")
    connected: bool
    response_time_ms: described(int | None, "whole milliseconds")


class HealthStatus(Shape):
    services: list[ServiceStatus]
    scheduler: Scheduler
    overall: Literal["healthy", "degraded", "unhealthy"]


class ApiKey(Shape):
    api_key: str
    from_environment: bool | UnsetType = UNSET


# --- library, stats, users ----------------------------------------------------------------------


class LibraryItem(Shape):
    """An item as the original's library listing shows it; null is unknown, and the fields whose
    source is unavailable are listed in `unknownFields`."""

    id: int
    title: described(str | None, TITLE)
    display_title: described(str, DISPLAY_TITLE)
    type: Listed
    year: int | None
    size: int | None
    watched: bool | None
    last_watched: Time | None
    added_at: Time | None
    status: Literal["monitored", "queued", "protected"]
    is_protected: bool
    plex_id: str | None
    radarr_id: int | None
    sonarr_id: int | None
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    play_count: int | None
    watched_by: list[str] | None
    resolution: str | None
    codec: str | None
    poster_url: described(None, "Always null: Prunerr keeps no poster addresses")
    unknown_fields: described(list[str], "Fields whose source is unavailable (null = unknown)")


class RuleVerdict(Shape):
    id: int
    path: described(str, "The rule's id in rules.d")
    name: str
    kind: Literal[KINDS]  # type: ignore[valid-type]
    result: Literal["match", "no_match", "unknown"]
    explanation: dict[str, Any]


class CollectionRef(Shape):
    id: int
    title: str


class ItemDetail(Record):
    """One item as the original's detail page reads it: its database record, snake_case as
    there, null where unknown; then what Prunerr adds (`display_title`, `unknown_fields`,
    `fields`, `rules`)."""

    id: int
    type: Media
    title: described(str | None, "The item's own title (a season's is “Season 1”)")
    plex_id: described(str | None, "The item's key on its media server")
    radarr_id: int | None
    sonarr_id: described(int | None, "The series' id in Sonarr (for its seasons and episodes too)")
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    year: int | None
    library_key: described(str, "Its library's key on the media server")
    poster_url: described(None, "Always null: Prunerr keeps no poster addresses")
    file_path: described(str | None, "Its main file")
    file_size: described(int | None, "Bytes on disk")
    resolution: str | None
    codec: described(str | None, "Video codec, as video_codec")
    added_at: Time | None
    last_watched_at: Time | None
    play_count: int | None
    watched_by: list[str] | None
    status: described(
        Literal["monitored", "pending_deletion", "protected"],
        "protected by a user, else pending_deletion while a queue entry is live",
    )
    marked_at: described(Time | None, "When its live queue entry was queued")
    delete_after: described(Time | None, "When its live queue entry is due")
    deleted_at: described(None, "Always null: a deleted item is no longer in the library")
    is_protected: described(bool, "Protected by a user, itself or through a collection")
    protection_reason: str | None
    protected_by_collection: described(
        CollectionRef | None, "The first protected collection holding it, by title"
    )
    deletion_action: described(Action | None, "Its live queue entry's")
    reset_overseerr: described(bool, "Its live queue entry resets its Seerr requests")
    matched_rule_id: described(int | None, "The rule that queued its live queue entry")
    overseerr_reset_at: described(None, "Always null: requests are reset when it is deleted")
    requested_by: str | None
    genres: list[str] | None
    tags: list[str] | None
    studio: str | None
    audio_codec: str | None
    video_codec: str | None
    hdr: str | None
    bitrate: described(int | None, "Bits per second, as the original (the field `bitrate` is kbps)")
    runtime_minutes: int | None
    season_count: int | None
    episode_count: int | None
    series_status: str | None
    rating_imdb: float | None
    rating_tmdb: float | None
    rating_rt: float | None
    content_rating: str | None
    original_language: str | None
    created_at: described(Time, "When Prunerr first saw it")
    updated_at: described(Time, "When a sync last changed it")
    display_title: described(str, DISPLAY_TITLE)
    unknown_fields: described(list[str], "The rule fields whose source is unavailable")
    fields: described(dict[str, Any], "Every known rule field, by the name rules use")
    rules: list[RuleVerdict]


class LibraryPage(Paged):
    items: list[LibraryItem]


class Stats(Shape):
    movie_count: int
    tv_show_count: int
    tv_season_count: int
    tv_episode_count: int
    total_storage: described(int | None, "bytes of the live movies and episodes")
    used_storage: described(int | None, "totalStorage, as the original gives both")
    reclaimable_space: described(Count, "bytes of the live queue entries")
    items_marked_for_deletion: described(Count, "live queue entries")
    protected_items: int
    unwatched_movies: int | None
    unwatched_shows: int | None
    active_rules: described(int, "enabled delete rules")
    scanned_today: described(Count, "items the media servers listed since midnight (TZ)")
    scan_trend: described(int, "scanned in the last 7 days against the 7 before, in %; 0: none")
    reclaimed_this_week: described(Count, "bytes freed by deletions in the last 7 days")
    reclaimed_trend: described(int, "reclaimed in the last 7 days against the 7 before, in %")
    collection_count: Count
    protected_collections: Count


class LibrarySummary(Shape):
    """The original's summary of the movies and shows."""

    total: Count
    by_type: dict[str, Count]
    by_status: described(dict[str, Count], "monitored, queued, protected")
    total_size: described(Count | None, "bytes; null while the media server's data is unknown")
    total_size_formatted: str | None


class Protection(Shape):
    id: int
    is_protected: bool
    reason: str | None


class User(Shape):
    id: int
    source: str
    external_id: str
    plex_user_id: described(str, "externalId, as the original names it")
    username: str
    email: str | None


# --- rules ---------------------------------------------------------------------------------------


class Rule(Shape):
    id: int
    name: str
    description: str
    media_type: Media
    libraries: described(list[str], "all when empty")
    when: described(str, "The condition, in the Prunerr rule language")
    kind: Literal[KINDS]  # type: ignore[valid-type]
    deletion_action: Action
    grace_period_days: Annotated[float, Meta(ge=0, le=MAX_GRACE_DAYS)]
    reset_overseerr: bool
    import_exclusion: bool
    priority: Annotated[int, Meta(ge=0, le=100)]
    schedule: described(str | None, "cron expression")
    enabled: bool
    source: Literal["file", "api"]
    path: described(str, "The rule's id in rules.d (`api/<id>` if none)")
    file: described(str | None, "The file under rules.d")
    read_only: described(bool, "rules.d rules change in git")
    created_at: Time | None
    updated_at: Time | None
    # the original's fields, which its web client reads
    type: described(
        Literal["watch_status", "age", "size", "quality", "custom"],
        "What the condition is about, as the original's rule builder derives it",
    )
    action: described(Literal["delete", "protect"], "kind (the original's actions are delete)")
    library_keys: described(list[str], "The media-server keys of `libraries`")
    conditions: described(str | None, "conditionsV2 as JSON text, as the original sends it")
    conditions_v2: described(
        dict[str, Any] | None,
        "The condition as the original's v2 tree `{version, root}`; null when no tree says "
        "exactly what `when` says",
    ) = msgspec.field(name="conditionsV2")


class Diagnostic(Shape, kw_only=True):
    file: str | UnsetType = UNSET
    field: str | UnsetType = UNSET
    code: str
    severity: Literal["error", "warning"]
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    hint: str | None


class Sample(Shape):
    """A matched item with the field values that decided it."""

    id: int
    title: str
    display_title: str
    type: Media
    size: int
    rating: float | None
    poster_url: described(None, "Always null: Prunerr keeps no poster addresses")
    reason: str
    values: dict[str, str]
    explanation: dict[str, Any]


class RulePreview(Shape):
    total_matches: described(Count, "matches not already queued")
    would_queue: Count
    would_skip_protected: Count
    would_skip_deleted: described(
        Count, "deleted before by an entry, still listed until the next sync"
    )
    would_skip_gone: described(Count, "left the library since it was read")
    already_pending: Count
    unknown: described(Count, "undecided for missing data: never queued")
    candidates: described(Count, "items in the rule's scope")
    total_size: described(Count, "bytes of totalMatches")
    total_size_formatted: str
    queue_size: described(Count, "bytes of wouldQueue")
    storage_freed_gb: described(float, "queueSize in GB (10^9 bytes)") = msgspec.field(
        name="storageFreedGB"
    )
    samples: Annotated[list[Sample], Meta(max_length=10)]


class Suggestion(Shape):
    id: str
    name: str
    description: str
    icon: str
    match_count: Annotated[int, Meta(ge=1)]
    total_size: Count
    total_size_formatted: str
    media_type: Media
    when: str
    conditions: described(
        list[dict[str, Any]],
        "The original's flat list of conditions (`{field, operator, value}`, all to hold), "
        "which its rule builder starts from; empty when `when` is not such a list",
    )
    conditions_v2: described(
        dict[str, Any] | None, "`when` as the original's v2 tree; null when none says it"
    ) = msgspec.field(name="conditionsV2")


class LibraryTotals(Shape):
    total_items: Count
    movies: Count
    shows: Count
    total_size: int | None


class RuleSuggestions(Shape):
    suggestions: list[Suggestion]
    library_stats: LibraryTotals


class RunRule(Shape):
    id: int
    name: str
    action: Literal["delete"]


class RunSummary(Shape):
    total_scanned: Count
    matched: Count
    processed: Count
    failed: Count


class RuleEvaluation(Shape):
    """What one evaluation of a delete rule did (`planning.evaluation.RuleRun`)."""

    rule_id: int
    name: str
    candidates: Count
    matched: Count
    unknown: Count
    protected: Count
    queued: Count
    already_queued: Count
    held: Count
    deleted_before: Count
    gone: Count
    released: Count
    queued_bytes: Count
    circuit_breaker_tripped: bool
    circuit_breaker_confirmed: bool
    would_queue: Count


class RuleRun(RuleEvaluation):
    """A run of one rule through the API, with the original's `rule` and `summary`."""

    rule: RunRule
    summary: RunSummary


def rule_evaluation(run: evaluation.RuleRun) -> dict[str, object]:
    """The fields of `RuleEvaluation` for a run."""
    return dict(
        rule_id=run.rule,
        name=run.name,
        candidates=run.candidates,
        matched=run.matched,
        unknown=run.unknown,
        protected=run.protected,
        queued=run.queued,
        already_queued=run.already_queued,
        held=run.held,
        deleted_before=run.deleted_before,
        gone=run.gone,
        released=run.released,
        queued_bytes=run.queued_bytes,
        circuit_breaker_tripped=run.tripped,
        circuit_breaker_confirmed=run.confirmed,
        would_queue=run.would_queue,
    )


def evaluation_result(runs: Iterable[evaluation.RuleRun]) -> dict[str, object]:
    """What the evaluation job records of its runs."""
    return {"rules": [plain(RuleEvaluation(**rule_evaluation(r))) for r in runs]}


class PlannedItem(Shape):
    id: int
    title: str
    display_title: str
    size: int
    explanation: dict[str, Any]


class RulePlan(Shape):
    """What one rule would do now (`planning.RulePlan`), as `prunerr rules plan` prints it."""

    rule: str
    name: str
    kind: Literal[KINDS]  # type: ignore[valid-type]
    media: Media
    candidates: Count
    matched: Count
    unknown: Count
    protected: Count
    already_queued: Count
    deleted_before: Count
    gone: Count
    would_queue: Count
    matched_bytes: Count
    queue_bytes: Count
    explained: list[PlannedItem]


def rule_plan(p: planning.RulePlan) -> RulePlan:
    return RulePlan(
        rule=p.rule.id,
        name=p.rule.name,
        kind=p.rule.kind,
        media=p.rule.media,
        candidates=p.candidates,
        matched=p.matched,
        unknown=p.unknown,
        protected=p.protected,
        already_queued=p.already_queued,
        deleted_before=p.deleted_before,
        gone=p.gone,
        would_queue=p.would_queue,
        matched_bytes=p.matched_bytes,
        queue_bytes=p.queue_bytes,
        explained=[
            PlannedItem(
                id=item.id,
                title=listing_title(item.fields["type"], item.title, item.display_title),
                display_title=item.display_title,
                size=item.size,
                explanation=e.as_dict(),
            )
            for item, e in p.explained
        ],
    )


class RulesReload(Shape):
    total: Count
    files: Count
    api: Count
    errors: Count
    diagnostics: list[Diagnostic]


# --- queue, activity, collections, jobs ----------------------------------------------------------


class QueuedBy(Shape):
    type: str
    name: str


class QueueEntry(Shape):
    id: int
    media_item_id: int
    title: described(str, TITLE.replace(" (null when unknown)", ""))
    display_title: described(str, DISPLAY_TITLE)
    type: Listed | None
    size: Count
    state: Literal["queued", "processing"]
    queued_at: Time | None
    delete_at: Time | None
    days_remaining: Count
    matched_rule: described(str | None, "Name of the rule that queued it (null: by hand, or gone)")
    rule_id: described(int | None, "Id of the rule that queued it (null: by hand)")
    deletion_action: Action
    deletion_action_label: str
    reset_overseerr: bool
    import_exclusion: bool
    queued_by: QueuedBy
    attempts: Count
    reason: str | None
    tmdb_id: int | None


class QueueSummary(Shape):
    total_items: Count
    total_size: Count
    ready_for_deletion: Count
    will_reset_overseerr: Count
    dry_run: described(
        bool, "dry run is on: processing records what it would delete, and changes nothing"
    )


class Cancelled(Shape):
    id: int
    state: Literal["cancelled"]


class ProcessResults(Shape):
    deleted: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    skipped: list[dict[str, Any]]


class ProcessReport(Shape):
    """What processing the queue did (`queue.processing.ProcessReport`)."""

    processed: Count
    deleted: Count
    failed: Count
    skipped: Count
    deferred: Count
    freed_space: Count
    freed_space_formatted: str
    overseerr_resets: Count
    dry_run: bool
    results: ProcessResults


def process_report(report: processing.ProcessReport) -> ProcessReport:
    return ProcessReport(
        processed=len(report.deleted) + len(report.failed) + len(report.skipped),
        deleted=len(report.deleted),
        failed=len(report.failed),
        skipped=len(report.skipped),
        deferred=report.deferred,
        freed_space=report.freed,
        freed_space_formatted=format_size(report.freed),
        overseerr_resets=report.requests_reset,
        dry_run=report.dry_run,
        results=ProcessResults(
            deleted=report.deleted, failed=report.failed, skipped=report.skipped
        ),
    )


class SkippedItem(Shape):
    id: int
    reason: Literal["protected", "gone", "done"]


class MarkResult(Shape):
    success: list[int]
    already_queued: list[int]
    skipped: list[SkippedItem]
    queued_bytes: Count


class ActivityEntry(Shape):
    id: int
    event_type: str
    action: str
    actor_type: Literal["user", "rule", "scheduler"]
    actor_id: str | None
    actor_name: str
    target_type: str
    target_id: int | None
    target_title: str | None
    metadata: dict[str, Any]
    created_at: Time | None


class ActivityPage(Paged):
    items: list[ActivityEntry]


class HistoryEntry(Shape):
    id: int
    media_id: described(int, "the item's id (GET /api/library/:id while it is listed)")
    title: described(str, "its display title when it was deleted")
    type: Listed
    size: Count
    freed: described(Count, "bytes freed (0: only unmonitored)")
    deleted_at: Time
    deletion_reason: described(Literal["rule", "manual"], "queued by a rule, or by hand")
    matched_rule: str | None
    rule_id: int | None


class HistoryStats(Shape):
    total_deleted: Count
    total_space_reclaimed: Count


class HistoryPage(Shape):
    items: list[HistoryEntry]
    total: Count
    page: PageNumber
    limit: PageNumber
    stats: described(HistoryStats, "all time")


class ProtectedItem(Shape):
    id: int
    title: str


class ProtectFailure(Shape):
    id: int
    error: str


class ProtectSkipped(Shape):
    id: int
    title: str
    reason: str


class BulkProtection(Shape):
    success: list[ProtectedItem]
    failed: list[ProtectFailure]
    skipped: list[ProtectSkipped]


class LibrarySection(Shape):
    key: described(str, "its key on the media server")
    title: str
    type: Literal["movie", "show"]
    excluded: described(bool, "always false: Prunerr excludes no library")


class UnraidStats(Shape):
    configured: described(Literal[False], "Unraid is not supported")


class StoragePoint(Shape):
    total_size: Count
    movie_size: Count
    show_size: Count
    item_count: Count
    movie_count: Count
    show_count: Count
    space_reclaimed: described(Count, "bytes deleted since the snapshot before")
    captured_at: Time


class Recommendation(Shape):
    id: int
    title: str
    display_title: str
    type: Listed
    size: Count
    poster_url: described(None, "Always null: Prunerr keeps no poster addresses")
    last_watched: Time | None
    days_since_watched: int | None
    never_watched: bool
    added_at: Time | None
    play_count: int
    reason: str


class RecommendationCriteria(Shape):
    unwatched_days: int


class Recommendations(Shape):
    items: list[Recommendation]
    total: described(Count, "recommendations before `limit`")
    total_reclaimable_space: described(Count, "bytes of `items`")
    criteria: RecommendationCriteria


class Collection(Shape):
    id: int
    title: str
    tmdb_id: described(None, "Always null for now: collections are known by title")
    overview: described(None, "Always null for now: not read from Radarr yet")
    poster_url: described(None, "Always null: Prunerr keeps no poster addresses")
    item_count: Count
    is_protected: bool
    protection_reason: str | None
    protected_at: Time | None
    last_synced_at: Time | None
    created_at: Time | None


class CollectionsSynced(Shape):
    collections_synced: described(Count, "collections the library's items are in")
    items_matched: described(Count, "memberships: an item in two collections counts twice")
    run_id: described(int, "the run of the collections job this was (GET /api/jobs)")


class CollectionQueued(Shape):
    queued: Count
    skipped: Count
    skipped_reasons: dict[str, Count]
    total_size: Count


class JobRun(Shape):
    id: int
    state: Literal["running", "ok", "failed", "skipped", "crashed"]
    actor: str
    started_at: Time | None
    finished_at: Time | None
    duration_seconds: float
    progress: str | None
    result: Any
    error: str | None


class ScanRecord(Record):
    """A row of the original's scan history: here a rule evaluation."""

    id: int
    started_at: Time
    completed_at: Time | None
    items_scanned: described(Count, "the rules' candidates, summed")
    items_flagged: described(Count, "what the rules queued")
    status: Literal["running", "completed", "failed"]


class ScanStatus(Shape):
    is_running: described(bool, "a rule evaluation runs now")
    current_scan: ScanRecord | None


class CadenceDay(Shape):
    """A day of the original's schedule ribbon: what was deleted, and the rule evaluation
    (its scan) that ran that day."""

    date: described(
        str, "the day's last evaluation's start, else its last deletion, else local noon"
    )
    status: described(
        Literal["ok", "skipped", "failed"],
        "failed: the day's last evaluation failed; ok: something was deleted",
    )
    files: described(Count, "items deleted")
    gb: described(float, "GiB freed, to one decimal")
    dur: described(Count, "seconds the day's last evaluation took")
    flagged: described(Count, "items it queued")
    timed: described(bool, "false: `date` is local noon of a day with neither")


class Job(Shape):
    name: str
    title: str
    group: str
    schedule: str | None
    next_run: Time | None
    state: Literal["idle", "running"]
    last_run: JobRun | None


class JobStarted(Shape):
    job: str
    queued: Literal[True]


class Deleted(Shape):
    id: int


# --- request bodies ----------------------------------------------------------------------------


class Body(msgspec.Struct, rename="camel", kw_only=True):
    """A request body's shape: camelCase on the wire; fields beyond those declared are ignored
    (the original's clients send more). `prunerr.api.params.decoded` reads one."""


MAX_ID = 2**63 - 1  # the databases' keys are 64-bit
ItemId = Annotated[int, Meta(ge=0, le=MAX_ID)]
# text a client sends: PostgreSQL cannot store a NUL character, so the API refuses it
NO_NUL = "^[^\\u0000]*$"
Text = Annotated[str, Meta(pattern=NO_NUL)]
Reason = described(Text | None, "null or left out: a default reason")


class MarkItem(Body):
    """How items queued by hand are deleted; null or left out: the settings' defaults."""

    deletion_action: described(Action | None, "default: the default_deletion_action setting") = None
    grace_period_days: described(
        Annotated[float, Meta(ge=0, le=MAX_GRACE_DAYS)] | None,
        "default: the default_grace_days setting",
    ) = None
    reset_overseerr: bool = False
    import_exclusion: bool = False


class MarkItems(MarkItem, kw_only=True):
    ids: Annotated[list[ItemId], Meta(min_length=1)]


class QueueCollection(MarkItem, kw_only=True):
    deletion_action: Action


class ProtectItem(Body):
    reason: Reason = None


class ProtectItems(ProtectItem, kw_only=True):
    ids: Annotated[list[ItemId], Meta(min_length=1)]


class ToggleRule(Body):
    enabled: described(bool | None, "null or left out: the opposite of now") = None


class ProtectCollection(Body, kw_only=True):
    is_protected: bool
    reason: Reason = None


def iso(ts: float | None) -> str | None:
    """A time on the wire: ISO 8601 in UTC ("2026-12-07T18:00:00Z"); None stays null."""
    return (
        None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    )


MAX_JSON_DEPTH = 100  # JSON nesting levels; condition trees stop at 40 groups, about 85 levels


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""

    def __init__(self):
        super().__init__(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")


def loads(data: str | bytes) -> object:
    """Parse JSON, refusing (TooDeep) nesting deeper than MAX_JSON_DEPTH, which would otherwise
    exhaust the stack here or in whatever walks the value later. ValueError when invalid."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep() from None
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:  # iteratively: a recursive walk is what must not happen
        node, depth = stack.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth >= MAX_JSON_DEPTH:
                    raise TooDeep()
                stack.append((child, depth + 1))
    return value


def plain(value: object) -> object:
    """A shape as plain JSON values (dicts, lists...), e.g. for a job's recorded result."""
    return msgspec.to_builtins(value)


def encode(value: object) -> bytes:
    """JSON of an answer: Structs, and the plain values (dicts with any keys, lists) beside
    them."""
    return _ENCODER.encode(value)


_ENCODER = msgspec.json.Encoder()
