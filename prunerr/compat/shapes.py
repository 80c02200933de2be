"""The original's answers, as JSON Schemas of what its web client reads: for each operation
(`"GET /api/queue"`, OpenAPI path templates), the envelope with the fields the original sends in
`data` and beside it, with their JSON types. This API may send more (an extension never
replaces a field); where it deliberately differs, the schema says both (`id` is a number here
and a string there). The OpenAPI document carries each as `x-original-shape`, and the contract
tests check every answer against it."""

from __future__ import annotations

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
OBJECT = {"type": "object"}
ID = {"type": ["integer", "string"]}  # the original's listings send ids as strings


def maybe(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def record(**fields: dict) -> dict:
    """An object with these fields, all given; more are allowed."""
    return {"type": "object", "required": list(fields), "properties": fields}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def envelope(data: dict, **beside: dict) -> dict:
    return {
        "type": "object",
        "required": ["success", "data", *beside],
        "properties": {"success": {"const": True}, "data": data, **beside},
    }


LIBRARY_ITEM = record(
    id=ID,
    title=maybe(STRING),
    type={"enum": ["movie", "tv", "season", "episode"]},
    year=maybe(INTEGER),
    size=maybe(INTEGER),
    watched=maybe(BOOLEAN),
    lastWatched=maybe(TIME),
    addedAt=maybe(TIME),
    status=STRING,
    isProtected=BOOLEAN,
    plexId=maybe(STRING),
    sonarrId=maybe(INTEGER),
    radarrId=maybe(INTEGER),
    tvdbId=maybe(INTEGER),
    tmdbId=maybe(INTEGER),
    imdbId=maybe(STRING),
    playCount=maybe(INTEGER),
    watchedBy=maybe(array(STRING)),
    resolution=maybe(STRING),
    codec=maybe(STRING),
    posterUrl=maybe(STRING),
)
ITEM_RECORD = record(
    id=INTEGER,
    type={"enum": ["movie", "show", "season", "episode"]},
    title=maybe(STRING),
    plex_id=maybe(STRING),
    sonarr_id=maybe(INTEGER),
    radarr_id=maybe(INTEGER),
    tmdb_id=maybe(INTEGER),
    tvdb_id=maybe(INTEGER),
    imdb_id=maybe(STRING),
    year=maybe(INTEGER),
    poster_url=maybe(STRING),
    file_path=maybe(STRING),
    file_size=maybe(INTEGER),
    resolution=maybe(STRING),
    codec=maybe(STRING),
    added_at=maybe(TIME),
    last_watched_at=maybe(TIME),
    play_count=maybe(INTEGER),
    watched_by=maybe({"type": ["array", "string"]}),  # its JSON text there
    status={"enum": ["monitored", "flagged", "pending_deletion", "deleted", "protected"]},
    marked_at=maybe(TIME),
    delete_after=maybe(TIME),
    deleted_at=maybe(TIME),
    is_protected=BOOLEAN,
    protection_reason=maybe(STRING),
    deletion_action=maybe(STRING),
    reset_overseerr={"type": ["boolean", "integer"]},  # 0/1 there
    matched_rule_id=maybe(INTEGER),
    overseerr_reset_at=maybe(TIME),
    library_key=maybe(STRING),
    requested_by=maybe(STRING),
    genres=maybe(array(STRING)),
    tags=maybe(array(STRING)),
    created_at=TIME,
    updated_at=TIME,
    protected_by_collection=maybe(record(id=INTEGER, title=STRING)),
)
QUEUE_ENTRY = record(
    id=ID,
    mediaItemId=ID,
    title=STRING,
    type=maybe(STRING),
    size=INTEGER,
    queuedAt=maybe(TIME),
    deleteAt=maybe(TIME),
    daysRemaining=INTEGER,
    matchedRule=maybe(STRING),  # its client shows it as text
    deletionAction=STRING,
    deletionActionLabel=STRING,
    resetOverseerr=BOOLEAN,
)
QUEUE_SUMMARY = record(
    totalItems=INTEGER, totalSize=INTEGER, readyForDeletion=INTEGER, willResetOverseerr=INTEGER
)
SCAN = record(
    id=INTEGER,
    started_at=TIME,
    completed_at=maybe(TIME),
    items_scanned=INTEGER,
    items_flagged=INTEGER,
    status={"enum": ["running", "completed", "failed"]},
)
CONDITION_NODE = record(kind={"enum": ["group", "condition"]})
RULE = record(
    id=INTEGER,
    name=STRING,
    type={"enum": ["age", "watch_status", "size", "quality", "custom"]},
    mediaType=STRING,
    libraryKeys=array(STRING),
    conditions=maybe({"type": ["string", "array", "object"]}),
    conditionsV2=maybe(record(version={"const": 2}, root=CONDITION_NODE)),
    action=STRING,
    enabled=BOOLEAN,
    gracePeriodDays=NUMBER,
    deletionAction=STRING,
    resetOverseerr=BOOLEAN,
    priority=INTEGER,
    createdAt=maybe(TIME),
    updatedAt=maybe(TIME),
)
COLLECTION = record(
    id=INTEGER,
    tmdbId=maybe(INTEGER),
    title=STRING,
    overview=maybe(STRING),
    posterUrl=maybe(STRING),
    itemCount=INTEGER,
    isProtected=BOOLEAN,
    protectionReason=maybe(STRING),
    protectedAt=maybe(TIME),
    lastSyncedAt=maybe(TIME),
    createdAt=maybe(TIME),
)
ACTIVITY_ENTRY = record(
    id=INTEGER,
    eventType=STRING,
    action=STRING,
    actorType=STRING,
    actorId=maybe(STRING),
    actorName=maybe(STRING),
    targetType=maybe(STRING),
    targetId=maybe(INTEGER),
    targetTitle=maybe(STRING),
    metadata=maybe(OBJECT),
    createdAt=TIME,
)
_SERVICE = {"type": "object", "properties": {"url": STRING, "token": STRING, "apiKey": STRING}}

ORIGINAL: dict[str, dict] = {
    "GET /api/stats": envelope(
        record(
            totalStorage=maybe(INTEGER),
            usedStorage=maybe(INTEGER),
            reclaimableSpace=INTEGER,
            movieCount=INTEGER,
            tvShowCount=INTEGER,
            tvEpisodeCount=INTEGER,
            unwatchedMovies=maybe(INTEGER),
            unwatchedShows=maybe(INTEGER),
            itemsMarkedForDeletion=INTEGER,
            scannedToday=INTEGER,
            scanTrend=NUMBER,
            reclaimedThisWeek=INTEGER,
            reclaimedTrend=NUMBER,
            activeRules=INTEGER,
            collectionCount=INTEGER,
            protectedCollections=INTEGER,
        )
    ),
    "GET /api/stats/storage-history": envelope(
        array(
            record(
                totalSize=INTEGER,
                movieSize=INTEGER,
                showSize=INTEGER,
                itemCount=INTEGER,
                movieCount=INTEGER,
                showCount=INTEGER,
                spaceReclaimed=INTEGER,
                capturedAt=STRING,
            )
        )
    ),
    "GET /api/stats/recommendations": envelope(
        record(
            items=array(
                record(
                    id=ID,
                    title=STRING,
                    type=STRING,
                    size=INTEGER,
                    posterUrl=maybe(STRING),
                    lastWatched=maybe(TIME),
                    daysSinceWatched=maybe(INTEGER),
                    neverWatched=BOOLEAN,
                    addedAt=maybe(TIME),
                    playCount=INTEGER,
                    reason=STRING,
                )
            ),
            total=INTEGER,
            totalReclaimableSpace=INTEGER,
            criteria=record(unwatchedDays=INTEGER),
        )
    ),
    "GET /api/health/status": envelope(
        record(
            services=array(
                record(service=STRING, configured=BOOLEAN, connected=BOOLEAN, lastChecked=TIME)
            ),
            scheduler=record(
                isRunning=BOOLEAN,
                lastScan=maybe(TIME),
                nextRun=maybe(TIME),
                scanSchedule=maybe(STRING),
                lastSync=maybe(TIME),
                lastSyncAt=maybe(TIME),
                lastSyncSuccess=maybe(BOOLEAN),
                nextSync=maybe(TIME),
                syncSchedule=maybe(STRING),
            ),
            overall={"enum": ["healthy", "degraded", "unhealthy"]},
        )
    ),
    "GET /api/health/version": record(version=STRING),
    "GET /api/library": envelope(
        record(items=array(LIBRARY_ITEM), total=INTEGER, page=INTEGER, totalPages=INTEGER)
    ),
    "GET /api/library/{item_id}": envelope(ITEM_RECORD),
    "GET /api/library/summary": envelope(
        record(
            total=INTEGER,
            byType=OBJECT,
            byStatus=OBJECT,
            totalSize=maybe(INTEGER),
            totalSizeFormatted=maybe(STRING),
        )
    ),
    "GET /api/library/plex-libraries": envelope(
        array(record(key=STRING, title=STRING, type=STRING, excluded=BOOLEAN))
    ),
    "POST /api/library/bulk/protect": envelope(
        record(
            success=array(record(id=INTEGER, title=STRING)),
            failed=array(record(id=INTEGER, error=STRING)),
            skipped=array(record(id=INTEGER, title=STRING, reason=STRING)),
        )
    ),
    "GET /api/queue": envelope(array(QUEUE_ENTRY), summary=QUEUE_SUMMARY),
    "GET /api/queue/upcoming": envelope(array(QUEUE_ENTRY), summary=QUEUE_SUMMARY),
    "GET /api/rules": envelope(array(RULE), total=INTEGER),
    "GET /api/rules/enabled": envelope(array(RULE), total=INTEGER),
    "GET /api/rules/{rule_id}": envelope(RULE),
    "POST /api/rules": envelope(RULE),
    "PATCH /api/rules/{rule_id}/toggle": envelope(RULE),
    "POST /api/rules/preview": envelope(
        record(
            totalMatches=INTEGER,
            wouldQueue=INTEGER,
            wouldSkipProtected=INTEGER,
            alreadyPending=INTEGER,
            storageFreedGB=NUMBER,
            totalSize=INTEGER,
            totalSizeFormatted=STRING,
            samples=array(
                record(
                    id=INTEGER,
                    title=STRING,
                    size=INTEGER,
                    rating=maybe(NUMBER),
                    posterUrl=maybe(STRING),
                )
            ),
        )
    ),
    "GET /api/rules/suggestions": envelope(
        record(
            suggestions=array(
                record(
                    id=STRING,
                    name=STRING,
                    description=STRING,
                    icon=STRING,
                    matchCount=INTEGER,
                    totalSize=INTEGER,
                    totalSizeFormatted=STRING,
                    conditions=array(record(field=STRING, operator=STRING)),
                    mediaType=STRING,
                )
            ),
            libraryStats=record(
                totalItems=INTEGER, movies=INTEGER, shows=INTEGER, totalSize=maybe(INTEGER)
            ),
        )
    ),
    "GET /api/collections": envelope(array(COLLECTION)),
    "GET /api/collections/{collection_id}": envelope(COLLECTION),
    "POST /api/collections/sync": envelope(record(collectionsSynced=INTEGER, itemsMatched=INTEGER)),
    "GET /api/scan/cadence": envelope(
        array(
            record(
                date=STRING,
                status={"enum": ["ok", "skipped", "failed"]},
                files=INTEGER,
                gb=NUMBER,
                dur=INTEGER,
                flagged=INTEGER,
                timed=BOOLEAN,
            )
        )
    ),
    "GET /api/scan/history": envelope(array(SCAN), total=INTEGER),
    "GET /api/scan/latest": envelope(SCAN),
    "GET /api/scan/status": envelope(record(isRunning=BOOLEAN, currentScan=maybe(SCAN))),
    "GET /api/activity/recent": envelope(array(ACTIVITY_ENTRY), total=INTEGER),
    "GET /api/history": envelope(
        record(
            items=array(
                record(
                    id=INTEGER,
                    mediaId=maybe(INTEGER),
                    title=STRING,
                    type={"enum": ["movie", "tv", "season", "episode"]},
                    size=maybe(INTEGER),
                    deletedAt=TIME,
                    deletionReason={"enum": ["rule", "manual"]},
                )
            ),
            total=INTEGER,
            page=INTEGER,
            limit=INTEGER,
            stats=record(totalDeleted=INTEGER, totalSpaceReclaimed=INTEGER),
        )
    ),
    "GET /api/settings": envelope(
        record(
            services=record(
                **{
                    name: _SERVICE
                    for name in ("plex", "tautulli", "tracearr", "sonarr", "radarr", "overseerr")
                }
            ),
            notifications=OBJECT,
            schedule=OBJECT,
            plexSync=OBJECT,
            display=OBJECT,
            watchHistory=OBJECT,
            diskPressure=OBJECT,
            exclusionPatterns=array(OBJECT),
            excludedLibraryKeys=array(STRING),
            webhooks=array(OBJECT),
        )
    ),
    "GET /api/unraid/stats": envelope(record(configured=BOOLEAN)),
}
