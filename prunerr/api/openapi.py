"""The OpenAPI 3.1 document of the API, served at /api/openapi.json; tests validate every
response against it."""

from __future__ import annotations

from prunerr import __version__
from prunerr.config import ConfigSchema
from prunerr.config.settings import EDITABLE
from prunerr.dsl.types import MEDIA_TYPE
from prunerr.jobs import JOBS
from prunerr.rules.model import DELETION_ACTIONS, KINDS, MAX_GRACE_DAYS
from prunerr.rules.schema import rule_schema

from .params import MAX_ID, MAX_PAGE


def _envelope(data: dict) -> dict:
    return {
        "type": "object",
        "required": ["success", "data"],
        "properties": {"success": {"const": True}, "data": data, "message": {"type": "string"}},
        "additionalProperties": False,
    }


ERROR = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": False,
}

SERVICE_CHECK = {
    "type": "object",
    "required": ["service", "configured", "connected", "error", "responseTimeMs"],
    "properties": {
        "service": {"type": "string"},
        "configured": {"type": "boolean"},
        "connected": {"type": "boolean"},
        "error": {"type": ["string", "null"]},
        "responseTimeMs": {"type": ["number", "null"]},
    },
    "additionalProperties": False,
}

HEALTH = {
    "type": "object",
    "required": ["status", "version", "uptime"],
    "properties": {
        "status": {"enum": ["healthy", "degraded", "unhealthy"]},
        "version": {"type": "string"},
        "uptime": {"type": "number"},
        "services": {"type": "array", "items": {"$ref": "#/components/schemas/ServiceCheck"}},
        "brokenRules": {
            "type": "array",
            "description": "rules that do not load (with a key); any makes the status degraded",
            "items": {
                "type": "object",
                "required": ["rule", "message", "stopsDeletion"],
                "properties": {
                    "rule": {"type": "string"},
                    "message": {"type": "string"},
                    "stopsDeletion": {
                        "type": "boolean",
                        "description": "a protect rule, or one that may be: nothing is deleted",
                    },
                },
                "additionalProperties": False,
            },
        },
        "jobs": {
            "type": "object",
            "description": "Whether jobs can run (with a key, when this process starts jobs)",
            "required": ["workers", "ready", "problems"],
            "properties": {
                "workers": {
                    "type": ["integer", "null"],
                    "description": "job worker processes this server keeps running; null: none",
                },
                "ready": {"type": ["integer", "null"], "description": "how many are ready"},
                "problems": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "what keeps jobs from running; any makes the status degraded",
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

API_KEY = {
    "type": "object",
    "required": ["apiKey"],
    "properties": {"apiKey": {"type": "string"}, "fromEnvironment": {"type": "boolean"}},
    "additionalProperties": False,
}


def _nullable(kind: str) -> dict:
    return {"type": [kind, "null"]}


# text a client sends: PostgreSQL cannot store a NUL character, so the API refuses it (400)
_NO_NUL = "^[^\\u0000]*$"
_TEXT = {"type": "string", "pattern": _NO_NUL}
_REASON = {
    "type": ["string", "null"],
    "pattern": _NO_NUL,
    "description": "null or left out: a default reason",
}


_TITLE = (
    "A movie's or a show's own title (null when unknown); a season's or an episode's display "
    "title, as in displayTitle"
)
_DISPLAY_TITLE = (
    "The name people know the item by: movie or show “Title (Year)”, season “Show — Season 2” "
    "(“Show — Specials”), episode “Show — S02E05 — Title”; what is unknown is left out"
)
LIBRARY_ITEM = {
    "type": "object",
    "required": ["id", "title", "displayTitle", "type", "status", "isProtected", "unknownFields"],
    "properties": {
        "id": {"type": "integer"},
        "title": {**_nullable("string"), "description": _TITLE},
        "displayTitle": {"type": "string", "description": _DISPLAY_TITLE},
        "type": {"enum": ["movie", "tv", "season", "episode"]},
        "year": _nullable("integer"),
        "size": _nullable("integer"),
        "watched": _nullable("boolean"),
        "lastWatched": {"type": ["string", "null"], "format": "date-time"},
        "addedAt": {"type": ["string", "null"], "format": "date-time"},
        "status": {"enum": ["monitored", "queued", "protected"]},
        "isProtected": {"type": "boolean"},
        "plexId": _nullable("string"),
        "radarrId": _nullable("integer"),
        "sonarrId": _nullable("integer"),
        "tmdbId": _nullable("integer"),
        "tvdbId": _nullable("integer"),
        "imdbId": _nullable("string"),
        "playCount": _nullable("integer"),
        "watchedBy": {"type": ["array", "null"], "items": {"type": "string"}},
        "resolution": _nullable("string"),
        "codec": _nullable("string"),
        "unknownFields": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Fields whose source is unavailable (null = unknown)",
        },
    },
    "additionalProperties": False,
}

ITEM_DETAIL = {
    **LIBRARY_ITEM,
    "required": [*LIBRARY_ITEM["required"], "fields", "rules"],
    "properties": {
        **LIBRARY_ITEM["properties"],
        "fields": {"type": "object", "description": "Every known field, camelCase"},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "path", "name", "kind", "result", "explanation"],
                "properties": {
                    "id": {"type": "integer"},
                    "path": {"type": "string", "description": "The rule's id in rules.d"},
                    "name": {"type": "string"},
                    "kind": {"enum": ["delete", "protect"]},
                    "result": {"enum": ["match", "no_match", "unknown"]},
                    "explanation": {"type": "object"},
                },
            },
        },
    },
}


def _page(item_schema: str, **extra: dict) -> dict:
    """The original's paginated shape: {items, total, page, totalPages} (and `extra`)."""
    return {
        "type": "object",
        "required": ["items", "total", "page", "totalPages", *extra],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item_schema}"}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "totalPages": {"type": "integer", "minimum": 1},
            **extra,
        },
        "additionalProperties": False,
    }


PAGE = _page("LibraryItem")

STATS = {
    "type": "object",
    "required": [
        "movieCount",
        "tvShowCount",
        "tvSeasonCount",
        "tvEpisodeCount",
        "totalStorage",
        "protectedItems",
        "unwatchedMovies",
        "unwatchedShows",
        "activeRules",
    ],
    "properties": {
        **{
            name: {"type": "integer"}
            for name in (
                "movieCount",
                "tvShowCount",
                "tvSeasonCount",
                "tvEpisodeCount",
                "protectedItems",
                "activeRules",
            )
        },
        **{
            name: _nullable("integer")
            for name in ("totalStorage", "unwatchedMovies", "unwatchedShows")
        },
    },
    "additionalProperties": False,
}

PROTECTION = {
    "type": "object",
    "required": ["id", "isProtected", "reason"],
    "properties": {
        "id": {"type": "integer"},
        "isProtected": {"type": "boolean"},
        "reason": _nullable("string"),
    },
    "additionalProperties": False,
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        # `?name=` means the parameter is not given: its default applies (prunerr/api/params.py)
        "allowEmptyValue": True,
    }


# a path id: digits, within the databases' 64-bit keys (anything else is a 400)
ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
ID = {"name": "item_id", "in": "path", "required": True, "schema": ID_SCHEMA}


def _operation(summary: str, data: dict, *, public: bool = False, extra: dict | None = None):
    responses = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _envelope(data)}}},
        "401": {
            "description": "Missing or wrong API key",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        **(extra or {}),
    }
    operation = {"summary": summary, "responses": responses}
    if public:
        operation["security"] = [{}, {"apiKeyHeader": []}]
        del responses["401"]
    return operation


# --- rules (prunerr/api/rules.py) ---------------------------------------------------------------

_MEDIA = {"enum": list(MEDIA_TYPE.values)}
_COUNT = {"type": "integer", "minimum": 0}
_GRACE = {"type": "number", "minimum": 0, "maximum": MAX_GRACE_DAYS}
_RULE_FIELDS = {
    "name": {**_TEXT, "minLength": 1},
    "description": _TEXT,
    "mediaType": _MEDIA,
    "libraries": {"type": "array", "items": _TEXT, "description": "all when empty"},
    "when": {**_TEXT, "description": "The condition, in the Prunerr rule language"},
    "kind": {"enum": list(KINDS)},
    "deletionAction": {"enum": list(DELETION_ACTIONS)},
    "gracePeriodDays": _GRACE,
    "resetOverseerr": {"type": "boolean"},
    "importExclusion": {"type": "boolean"},
    "priority": {"type": "integer", "minimum": 0, "maximum": 100},
    "schedule": {"type": ["string", "null"], "pattern": _NO_NUL, "description": "cron expression"},
    "enabled": {"type": "boolean"},
}
RULE = {
    "type": "object",
    "required": [*_RULE_FIELDS, "id", "source", "path", "file", "readOnly"],
    "properties": {
        "id": {"type": "integer"},
        **_RULE_FIELDS,
        "source": {"enum": ["file", "api"]},
        "path": {"type": "string", "description": "The rule's id in rules.d (`api/<id>` if none)"},
        "file": {"type": ["string", "null"], "description": "The file under rules.d"},
        "readOnly": {"type": "boolean", "description": "rules.d rules change in git"},
        "createdAt": {"type": ["string", "null"], "format": "date-time"},
        "updatedAt": {"type": ["string", "null"], "format": "date-time"},
    },
    "additionalProperties": False,
}
RULE_INPUT = {
    "type": "object",
    "description": "A rule's fields; `when` or the original's `conditions` tree (v2 "
    "`{version, root}` or a v1 list); `media_type`, `libraryKeys` and `library_keys` are "
    "accepted too, `tv` means `show`. On update, fields left out keep their values.",
    "properties": {
        **_RULE_FIELDS,
        "mediaType": {"enum": [*MEDIA_TYPE.values, "tv"]},
        "conditions": {"type": ["object", "array", "string"]},
        "root": {"type": "object"},
    },
}
DIAGNOSTIC = {
    "type": "object",
    "required": ["code", "severity", "message", "line", "column", "hint"],
    "properties": {
        "file": {"type": "string"},
        "field": {"type": "string"},
        "code": {"type": "string"},
        "severity": {"enum": ["error", "warning"]},
        "message": {"type": "string"},
        "line": {"type": "integer"},
        "column": {"type": "integer"},
        "endLine": {"type": "integer"},
        "endColumn": {"type": "integer"},
        "hint": _nullable("string"),
    },
    "additionalProperties": False,
}
PREVIEW = {
    "type": "object",
    "required": [
        "totalMatches",
        "wouldQueue",
        "wouldSkipProtected",
        "wouldSkipDeleted",
        "wouldSkipGone",
        "alreadyPending",
        "unknown",
        "totalSize",
        "totalSizeFormatted",
        "storageFreedGB",
        "samples",
    ],
    "properties": {
        "totalMatches": {**_COUNT, "description": "matches not already queued"},
        "wouldQueue": _COUNT,
        "wouldSkipProtected": _COUNT,
        "wouldSkipDeleted": {
            **_COUNT,
            "description": "deleted before by an entry, still listed until the next sync",
        },
        "wouldSkipGone": {**_COUNT, "description": "left the library since it was read"},
        "alreadyPending": _COUNT,
        "unknown": {**_COUNT, "description": "undecided for missing data: never queued"},
        "candidates": {**_COUNT, "description": "items in the rule's scope"},
        "totalSize": {**_COUNT, "description": "bytes of totalMatches"},
        "totalSizeFormatted": {"type": "string"},
        "queueSize": {**_COUNT, "description": "bytes of wouldQueue"},
        "storageFreedGB": {"type": "number", "description": "queueSize in GB (10^9 bytes)"},
        "samples": {
            "type": "array",
            "maxItems": 10,
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "title",
                    "displayTitle",
                    "size",
                    "reason",
                    "values",
                    "explanation",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "displayTitle": {"type": "string"},
                    "type": _MEDIA,
                    "size": {"type": "integer"},
                    "rating": _nullable("number"),
                    "reason": {"type": "string"},
                    "values": {"type": "object", "additionalProperties": {"type": "string"}},
                    "explanation": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}
SUGGESTIONS = {
    "type": "object",
    "required": ["suggestions", "libraryStats"],
    "properties": {
        "suggestions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "name",
                    "description",
                    "icon",
                    "matchCount",
                    "totalSize",
                    "totalSizeFormatted",
                    "mediaType",
                    "when",
                ],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "icon": {"type": "string"},
                    "matchCount": {"type": "integer", "minimum": 1},
                    "totalSize": _COUNT,
                    "totalSizeFormatted": {"type": "string"},
                    "mediaType": _MEDIA,
                    "when": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "libraryStats": {
            "type": "object",
            "required": ["totalItems", "movies", "shows", "totalSize"],
            "properties": {
                "totalItems": _COUNT,
                "movies": _COUNT,
                "shows": _COUNT,
                "totalSize": _nullable("integer"),
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
_RUN_COUNTS = (
    "candidates",
    "matched",
    "unknown",
    "protected",
    "queued",
    "alreadyQueued",
    "held",
    "deletedBefore",
    "gone",
    "released",
    "queuedBytes",
    "wouldQueue",
)
RULE_RUN = {
    "type": "object",
    "required": [
        "ruleId",
        "name",
        "circuitBreakerTripped",
        "circuitBreakerConfirmed",
        *_RUN_COUNTS,
        "rule",
        "summary",
    ],
    "properties": {
        "ruleId": {"type": "integer"},
        "name": {"type": "string"},
        "circuitBreakerTripped": {"type": "boolean"},
        "circuitBreakerConfirmed": {"type": "boolean"},
        **{name: _COUNT for name in _RUN_COUNTS},
        "rule": {
            "type": "object",
            "required": ["id", "name", "action"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "action": {"const": "delete"},
            },
        },
        "summary": {
            "type": "object",
            "required": ["totalScanned", "matched", "processed", "failed"],
            "properties": {
                name: _COUNT for name in ("totalScanned", "matched", "processed", "failed")
            },
        },
    },
    "additionalProperties": False,
}
RULES_RELOAD = {
    "type": "object",
    "required": ["total", "files", "api", "errors", "diagnostics"],
    "properties": {
        **{name: _COUNT for name in ("total", "files", "api", "errors")},
        "diagnostics": {"type": "array", "items": {"$ref": "#/components/schemas/Diagnostic"}},
    },
    "additionalProperties": False,
}
RULE_SCHEMAS = {
    "Rule": RULE,
    "RuleInput": RULE_INPUT,
    # what GET /api/rules/{id}/export hands out, as YAML: a rules.d file
    "RuleFile": {k: v for k, v in rule_schema().items() if k not in ("$schema", "$id")},
    "Diagnostic": DIAGNOSTIC,
    "RulePreview": PREVIEW,
    "RuleSuggestions": SUGGESTIONS,
    "RuleRun": RULE_RUN,
    "RulesReload": RULES_RELOAD,
}


def _rules_paths() -> dict:
    rule = {"$ref": "#/components/schemas/Rule"}
    rule_id = {"name": "rule_id", "in": "path", "required": True, "schema": ID_SCHEMA}
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RuleInput"}}},
    }
    invalid = {"400": _error("Invalid body or rule: `details` holds the problems")}
    unknown = {"400": _error("Non-numeric id"), "404": _error("No such rule")}
    read_only = {"409": _error("A rules.d rule: read-only through the API (names its file)")}
    listing = _operation("Every rule: rules.d files and API rules", {})
    envelope = _envelope({"type": "array", "items": rule})
    envelope["properties"]["total"] = {"type": "integer"}
    listing["responses"]["200"]["content"]["application/json"]["schema"] = envelope
    created = _operation("Create an API rule", rule, extra=invalid)
    created["responses"]["201"] = {**created["responses"].pop("200"), "description": "Created"}
    export = _operation("The rule as a rules.d YAML file", {}, extra=unknown)
    export["responses"]["200"] = {
        "description": "The rule file (`prunerr rules check` accepts it)",
        "content": {"application/yaml": {"schema": {"$ref": "#/components/schemas/RuleFile"}}},
    }
    return {
        "/api/rules": {
            "get": listing,
            "post": {**created, "requestBody": body},
        },
        "/api/rules/preview": {
            "post": {
                **_operation(
                    "What a rule would do now, without saving it",
                    {"$ref": "#/components/schemas/RulePreview"},
                    extra=invalid,
                ),
                "requestBody": body,
            }
        },
        "/api/rules/suggestions": {
            "get": _operation(
                "Templates that match something in the library, with exact counts",
                {"$ref": "#/components/schemas/RuleSuggestions"},
            )
        },
        "/api/rules/reload": {
            "post": _operation("Re-read rules.d", {"$ref": "#/components/schemas/RulesReload"})
        },
        "/api/rules/{rule_id}": {
            "get": {**_operation("One rule", rule, extra=unknown), "parameters": [rule_id]},
            "put": {
                **_operation(
                    "Change an API rule's fields", rule, extra={**unknown, **read_only, **invalid}
                ),
                "parameters": [rule_id],
                "requestBody": body,
            },
            "delete": {
                **_operation(
                    "Delete an API rule",
                    {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "integer"}},
                    },
                    extra={**unknown, **read_only},
                ),
                "parameters": [rule_id],
            },
        },
        "/api/rules/{rule_id}/run": {
            "post": {
                **_operation(
                    "Evaluate a delete rule now and queue its matches (confirm=true passes the "
                    "circuit breaker)",
                    {"$ref": "#/components/schemas/RuleRun"},
                    extra={
                        **unknown,
                        "400": _error("Non-numeric id or invalid `confirm`"),
                        "409": _error("A protect rule: nothing to run; or deletion is stopped"),
                    },
                ),
                "parameters": [
                    rule_id,
                    _query("confirm", {"enum": ["true", "false"]}, "queue past the breaker"),
                ],
            }
        },
        "/api/rules/{rule_id}/export": {"get": {**export, "parameters": [rule_id]}},
    }


# --- queue, activity, collections, users and jobs (prunerr/api/queue.py, collections.py) ------

_TIME = {"type": ["string", "null"], "format": "date-time"}
QUEUE_ENTRY = {
    "type": "object",
    "required": [
        "id",
        "mediaItemId",
        "title",
        "displayTitle",
        "state",
        "deleteAt",
        "daysRemaining",
    ],
    "properties": {
        "id": {"type": "integer"},
        "mediaItemId": {"type": "integer"},
        "title": {"type": "string", "description": _TITLE.replace(" (null when unknown)", "")},
        "displayTitle": {"type": "string", "description": _DISPLAY_TITLE},
        "type": {"enum": ["movie", "tv", "season", "episode", None]},
        "size": _COUNT,
        "state": {"enum": ["queued", "processing"]},
        "queuedAt": _TIME,
        "deleteAt": _TIME,
        "daysRemaining": _COUNT,
        "matchedRule": {
            "type": ["object", "null"],
            "properties": {"id": {"type": "integer"}, "name": _nullable("string")},
        },
        "deletionAction": {"enum": list(DELETION_ACTIONS)},
        "deletionActionLabel": {"type": "string"},
        "resetOverseerr": {"type": "boolean"},
        "importExclusion": {"type": "boolean"},
        "queuedBy": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "name": {"type": "string"}},
        },
        "attempts": _COUNT,
        "reason": _nullable("string"),
        "tmdbId": _nullable("integer"),
    },
    "additionalProperties": False,
}
QUEUE_PAGE = _page(
    "QueueEntry",
    summary={
        "type": "object",
        "properties": {
            **{
                n: _COUNT
                for n in ("totalItems", "totalSize", "readyForDeletion", "willResetOverseerr")
            },
            "dryRun": {
                "type": "boolean",
                "description": "dry run is on: processing records what it would delete, and "
                "changes nothing",
            },
        },
    },
)
PROCESS_REPORT = {
    "type": "object",
    "required": ["processed", "deleted", "failed", "freedSpace", "dryRun", "results"],
    "properties": {
        **{
            n: _COUNT
            for n in ("processed", "deleted", "failed", "skipped", "deferred", "freedSpace")
        },
        "overseerrResets": _COUNT,
        "freedSpaceFormatted": {"type": "string"},
        "dryRun": {"type": "boolean"},
        "results": {
            "type": "object",
            "properties": {
                n: {"type": "array", "items": {"type": "object"}}
                for n in ("deleted", "failed", "skipped")
            },
        },
    },
    "additionalProperties": False,
}
MARK_RESULT = {
    "type": "object",
    "required": ["success", "alreadyQueued", "skipped", "queuedBytes"],
    "properties": {
        "success": {"type": "array", "items": {"type": "integer"}},
        "alreadyQueued": {"type": "array", "items": {"type": "integer"}},
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "reason": {"enum": ["protected", "gone", "done"]},
                },
            },
        },
        "queuedBytes": _COUNT,
    },
    "additionalProperties": False,
}
ACTIVITY_ENTRY = {
    "type": "object",
    "required": ["id", "eventType", "action", "actorType", "actorName", "createdAt"],
    "properties": {
        "id": {"type": "integer"},
        "eventType": {"type": "string"},
        "action": {"type": "string"},
        "actorType": {"enum": ["user", "rule", "scheduler"]},
        "actorId": _nullable("string"),
        "actorName": {"type": "string"},
        "targetType": {"type": "string"},
        "targetId": _nullable("integer"),
        "targetTitle": _nullable("string"),
        "metadata": {"type": "object"},
        "createdAt": _TIME,
    },
    "additionalProperties": False,
}
ACTIVITY_PAGE = _page("ActivityEntry")
COLLECTION = {
    "type": "object",
    "required": ["id", "title", "itemCount", "isProtected"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "itemCount": _COUNT,
        "isProtected": {"type": "boolean"},
        "protectionReason": _nullable("string"),
        "protectedAt": _TIME,
        "lastSyncedAt": _TIME,
        "createdAt": _TIME,
    },
    "additionalProperties": False,
}
COLLECTION_QUEUED = {
    "type": "object",
    "required": ["queued", "skipped", "skippedReasons", "totalSize"],
    "properties": {
        "queued": _COUNT,
        "skipped": _COUNT,
        "skippedReasons": {"type": "object", "additionalProperties": _COUNT},
        "totalSize": _COUNT,
    },
    "additionalProperties": False,
}
USER = {
    "type": "object",
    "required": ["id", "source", "externalId", "username"],
    "properties": {
        "id": {"type": "integer"},
        "source": {"type": "string"},
        "externalId": {"type": "string"},
        "plexUserId": {"type": "string", "description": "externalId, as the original names it"},
        "username": {"type": "string"},
        "email": _nullable("string"),
    },
    "additionalProperties": False,
}
JOB = {
    "type": "object",
    "required": ["name", "title", "group", "schedule", "nextRun", "state", "lastRun"],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "group": {"type": "string"},
        "schedule": _nullable("string"),
        "nextRun": _TIME,
        "state": {"enum": ["idle", "running"]},
        "lastRun": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": "integer"},
                "state": {"enum": ["running", "ok", "failed", "skipped", "crashed"]},
                "actor": {"type": "string"},
                "startedAt": _TIME,
                "finishedAt": _TIME,
                "durationSeconds": {"type": "number"},
                "progress": _nullable("string"),
                "result": {},
                "error": _nullable("string"),
            },
        },
    },
    "additionalProperties": False,
}
JOB_STARTED = {
    "type": "object",
    "required": ["job", "queued"],
    "properties": {"job": {"type": "string"}, "queued": {"const": True}},
    "additionalProperties": False,
}
QUEUE_SCHEMAS = {
    "QueueEntry": QUEUE_ENTRY,
    "QueuePage": QUEUE_PAGE,
    "ProcessReport": PROCESS_REPORT,
    "MarkResult": MARK_RESULT,
    "ActivityEntry": ACTIVITY_ENTRY,
    "ActivityPage": ACTIVITY_PAGE,
    "Collection": COLLECTION,
    "CollectionQueued": COLLECTION_QUEUED,
    "User": USER,
    "Job": JOB,
    "JobStarted": JOB_STARTED,
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


def _status(operation: dict, status: str, description: str) -> dict:
    """The operation answering `status` instead of 200."""
    operation["responses"][status] = {
        **operation["responses"].pop("200"),
        "description": description,
    }
    return operation


def _json_body(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _queue_paths() -> dict:
    bad = {"400": _error("Invalid parameter or body")}
    missing = {**bad, "404": _error("Not found")}
    conflict = {"409": _error("Conflict: protected, already queued, busy, or deletion stopped")}
    stopped = {"409": _error("Deletion is stopped: a rule that may protect items does not load")}
    no_jobs = {"503": _error("No job consumer in this process")}
    mark_body = _json_body(
        {
            "gracePeriodDays": _GRACE,
            "deletionAction": {"enum": list(DELETION_ACTIONS)},
            "resetOverseerr": {"type": "boolean"},
            "importExclusion": {"type": "boolean"},
        }
    )
    bulk_body = _json_body(
        {
            "ids": {"type": "array", "items": ID_SCHEMA, "minItems": 1},
            **mark_body["content"]["application/json"]["schema"]["properties"],
        },
        ("ids",),
    )
    collection_id = {
        "name": "collection_id",
        "in": "path",
        "required": True,
        "schema": ID_SCHEMA,
    }
    entry_id = {"name": "entry_id", "in": "path", "required": True, "schema": ID_SCHEMA}
    page_params = [
        _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "1-based page"),
    ]

    def start(summary: str, extra: dict | None = None) -> dict:
        return {
            "post": _status(
                _operation(
                    summary, _ref("JobStarted"), extra={**conflict, **no_jobs, **(extra or {})}
                ),
                "202",
                "Started",
            )
        }

    return {
        "/api/library/sync": start("Start a library sync (then the collections)"),
        "/api/users/sync": start("Sync the users from the media server and watch history"),
        "/api/collections/sync": start("Sync the collections from the library"),
        "/api/library/{item_id}/mark-deletion": {
            "post": {
                **_status(
                    _operation(
                        "Queue one item by hand", _ref("MarkResult"), extra={**missing, **conflict}
                    ),
                    "201",
                    "Queued",
                ),
                "parameters": [ID],
                "requestBody": mark_body,
            }
        },
        "/api/library/bulk/mark-deletion": {
            "post": {
                **_operation(
                    "Queue several items by hand", _ref("MarkResult"), extra={**bad, **stopped}
                ),
                "requestBody": bulk_body,
            }
        },
        "/api/queue": {
            "get": {
                **_operation(
                    "The live deletion queue, soonest first", _ref("QueuePage"), extra=bad
                ),
                "parameters": [
                    *page_params,
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "default: all"
                    ),
                ],
            }
        },
        "/api/queue/{entry_id}": {
            "delete": {
                **_operation(
                    "Take an entry out of the queue",
                    {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "state": {"const": "cancelled"}},
                    },
                    extra={**missing, "409": _error("The entry is not queued any more")},
                ),
                "parameters": [entry_id],
            }
        },
        "/api/queue/process": {
            "post": {
                **_operation(
                    "Process the entries past their grace period now",
                    _ref("ProcessReport"),
                    extra={
                        **bad,
                        "409": _error(
                            "Deletion is stopped (a rule that may protect items does not load), "
                            "or dryRun=false while dry_run is on: nothing was processed"
                        ),
                    },
                ),
                "parameters": [
                    _query(
                        "dryRun", {"enum": ["true", "false", "1", "0"]}, "record, change nothing"
                    ),
                    _query("force", {"enum": ["true", "false", "1", "0"]}, "ignore grace periods"),
                ],
            }
        },
        "/api/activity": {
            "get": {
                **_operation("The activity log, newest first", _ref("ActivityPage"), extra=bad),
                "parameters": [
                    _query(
                        "page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "1-based"
                    ),
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 100}, "default 20"
                    ),
                    _query("eventTypes", _TEXT, "comma-separated event types"),
                    _query("search", _TEXT, "in target titles and actor names"),
                ],
            }
        },
        "/api/activity/item/{item_id}": {
            "get": {
                **_operation(
                    "An item's activity, with its collections'", _list("ActivityEntry"), extra=bad
                ),
                "parameters": [
                    ID,
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 200}, "default 50"
                    ),
                ],
            }
        },
        "/api/collections": {"get": _operation("Every collection", _list("Collection"))},
        "/api/collections/{collection_id}": {
            "get": {
                **_operation("One collection", _ref("Collection"), extra=missing),
                "parameters": [collection_id],
            }
        },
        "/api/collections/{collection_id}/items": {
            "get": {
                **_operation("The collection's live items", _list("LibraryItem"), extra=missing),
                "parameters": [collection_id],
            }
        },
        "/api/collections/{collection_id}/protection": {
            "patch": {
                **_operation(
                    "Protect or unprotect a collection", _ref("Collection"), extra=missing
                ),
                "parameters": [collection_id],
                "requestBody": _json_body(
                    {"isProtected": {"type": "boolean"}, "reason": _REASON},
                    ("isProtected",),
                ),
            }
        },
        "/api/collections/{collection_id}/queue": {
            "post": {
                **_operation(
                    "Queue every item of a collection",
                    _ref("CollectionQueued"),
                    extra={
                        **missing,
                        "409": _error("The collection is protected, or deletion is stopped"),
                        "201": {
                            "description": "Queued",
                            "content": {
                                "application/json": {"schema": _envelope(_ref("CollectionQueued"))}
                            },
                        },
                    },
                ),
                "parameters": [collection_id],
                "requestBody": _json_body(
                    {
                        **mark_body["content"]["application/json"]["schema"]["properties"],
                    },
                    ("deletionAction",),
                ),
            }
        },
        "/api/users": {"get": _operation("The synced users", _list("User"))},
        "/api/jobs": {
            "get": _operation(
                "Every background job: last run, state, next scheduled run", _list("Job")
            )
        },
        "/api/jobs/{name}": {
            "post": {
                **start(
                    "Start a job now (sync, users, collections, evaluate, process, ...)",
                    {"404": _error("No such job")},
                )["post"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"enum": list(JOBS)}}
                ],
            }
        },
    }


_KIND_SCHEMAS = {
    "bool": {"type": "boolean"},
    "count": {"type": "integer", "minimum": 0},
    "days": {"type": "integer", "minimum": 0, "maximum": MAX_GRACE_DAYS},
    "share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "cron": {"type": "string", "description": "cron expression, in TZ"},
    "zone": {"type": "string", "description": "IANA time zone"},
    "action": {"enum": list(DELETION_ACTIONS)},
}


def _editable_settings() -> dict:
    """The schema of each editable setting, with the bounds its declaration gives."""
    core = ConfigSchema.core().settings
    schemas = {}
    for key in EDITABLE:
        setting = core[key]
        schema = {**_KIND_SCHEMAS[setting.kind], "description": setting.description}
        if setting.maximum is not None:
            schema.update(minimum=setting.low, maximum=setting.maximum)
        schemas[key] = schema
    return schemas


TOO_LARGE = _error("The body is larger than max_request_body (nothing of it was read)")


def _limits(paths: dict) -> dict:
    """Every operation that takes a body may answer 413 (see params.BodyLimit)."""
    for operations in paths.values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"]["413"] = TOO_LARGE
    return paths


def document() -> dict:
    conflict = {
        "409": {
            "description": "The key is set by PRUNERR_API_KEY",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Prunerr API",
            "version": __version__,
            "description": "Compatible with the original Prunerr API. Every response is "
            "an envelope: {success, data, message?} or {success: false, "
            "error, details?}.",
        },
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}, {"bearer": []}],
        "paths": _limits(
            {
                "/api/health": {
                    "get": _operation(
                        "Overall status; each service's status and response time with a key",
                        {"$ref": "#/components/schemas/Health"},
                        public=True,
                    )
                },
                "/api/settings": {
                    "get": _operation("The effective settings, secrets masked", {"type": "object"}),
                    "put": {
                        **_operation(
                            "Change settings that may change while Prunerr runs; answers the "
                            "effective settings",
                            {"type": "object"},
                            extra={
                                "400": _error("Unknown setting or invalid value"),
                                "409": _error(
                                    "Not changeable while running, or set by the "
                                    "environment or prunerr.yaml"
                                ),
                            },
                        ),
                        "requestBody": {
                            "required": True,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "minProperties": 1,
                                        "properties": _editable_settings(),
                                        "additionalProperties": False,
                                    }
                                }
                            },
                        },
                    },
                },
                "/api/settings/api-key": {
                    "get": _operation(
                        "The current API key", {"$ref": "#/components/schemas/ApiKey"}
                    )
                },
                "/api/settings/api-key/regenerate": {
                    "post": _operation(
                        "Replace the API key; the old one stops working at once",
                        {"$ref": "#/components/schemas/ApiKey"},
                        extra=conflict,
                    )
                },
                "/api/stats": {
                    "get": _operation(
                        "Library counts and storage (tombstones excluded)",
                        {"$ref": "#/components/schemas/Stats"},
                    )
                },
                "/api/library": {
                    "get": {
                        **_operation(
                            "List library items",
                            {"$ref": "#/components/schemas/Page"},
                            extra={"400": _error("Invalid query parameter")},
                        ),
                        "parameters": [
                            _query(
                                "page",
                                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                                "1-based page",
                            ),
                            _query(
                                "limit",
                                {"type": "integer", "minimum": 1, "maximum": 500},
                                "items per page (default 50)",
                            ),
                            _query(
                                "type",
                                {"enum": ["all", "movie", "show", "tv", "season", "episode"]},
                                "default: movies and shows",
                            ),
                            _query(
                                "status",
                                {
                                    "enum": [
                                        "monitored",
                                        "queued",
                                        "protected",
                                        "watched",
                                        "unwatched",
                                    ]
                                },
                                "filter by status",
                            ),
                            _query("search", _TEXT, "title contains (case-insensitive)"),
                            _query(
                                "sortBy",
                                {
                                    "enum": [
                                        "title",
                                        "size",
                                        "addedAt",
                                        "year",
                                        "lastWatched",
                                        "playCount",
                                    ]
                                },
                                "default title",
                            ),
                            _query("sortOrder", {"enum": ["asc", "desc"]}, "default asc"),
                        ],
                    }
                },
                "/api/library/{item_id}": {
                    "get": {
                        **_operation(
                            "One item with every field, and which rules match it and why",
                            {"$ref": "#/components/schemas/ItemDetail"},
                            extra={"400": _error("Non-numeric id"), "404": _error("No such item")},
                        ),
                        "parameters": [ID],
                    }
                },
                "/api/library/{item_id}/protect": {
                    "post": {
                        **_operation(
                            "Protect an item from every delete rule",
                            {"$ref": "#/components/schemas/Protection"},
                            extra={
                                "400": _error("Invalid id or body"),
                                "404": _error("No such item"),
                            },
                        ),
                        "parameters": [ID],
                        "requestBody": {
                            "required": False,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"reason": _REASON},
                                    }
                                }
                            },
                        },
                    },
                    "delete": {
                        **_operation(
                            "Remove an item's protection",
                            {"$ref": "#/components/schemas/Protection"},
                            extra={"400": _error("Non-numeric id"), "404": _error("No such item")},
                        ),
                        "parameters": [ID],
                    },
                },
                **_rules_paths(),
                **_queue_paths(),
                "/api/openapi.json": {
                    "get": {
                        "summary": "This document",
                        "security": [{}],
                        "responses": {
                            "200": {
                                "description": "OK",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            }
                        },
                    }
                },
            }
        ),
        "components": {
            "schemas": {
                "Error": ERROR,
                "Health": HEALTH,
                "ServiceCheck": SERVICE_CHECK,
                "LibraryItem": LIBRARY_ITEM,
                "ItemDetail": ITEM_DETAIL,
                "Page": PAGE,
                "Stats": STATS,
                "Protection": PROTECTION,
                "ApiKey": API_KEY,
                **RULE_SCHEMAS,
                **QUEUE_SCHEMAS,
            },
            "securitySchemes": {
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apikey"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
