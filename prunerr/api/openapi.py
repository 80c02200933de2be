"""The OpenAPI 3.1 document of the API, served at /api/openapi.json; tests validate every
response against it. The answers' schemas are generated from their `prunerr.wire` shapes; the
paths, parameters and request bodies are written here."""

from __future__ import annotations

import json
import re

import msgspec

from prunerr import __version__, wire
from prunerr.compat import envelope, shapes
from prunerr.compat import settings as compat_settings
from prunerr.config import ConfigSchema
from prunerr.config.settings import EDITABLE
from prunerr.dsl.types import MEDIA_TYPE
from prunerr.jobs import JOBS
from prunerr.rules.model import DELETION_ACTIONS, KINDS, MAX_GRACE_DAYS
from prunerr.rules.schema import rule_schema

from .activity import DATE_RANGES
from .params import MAX_PAGE

_TEXT = {"type": "string", "pattern": wire.NO_NUL}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
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
ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": wire.MAX_ID}
ID = {"name": "item_id", "in": "path", "required": True, "schema": ID_SCHEMA}


def _operation(
    summary: str,
    data: dict,
    *,
    public: bool = False,
    extra: dict | None = None,
    beside: dict | None = None,
):
    """An operation answering `data` (with the properties `beside` it in the envelope)."""
    responses = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": envelope.success_schema(data, beside)}},
        },
        "401": {
            "description": "Missing or wrong API key",
            "content": {"application/json": {"schema": _ref("Error")}},
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
    "schedule": {
        "type": ["string", "null"],
        "pattern": wire.NO_NUL,
        "description": "cron expression",
    },
    "enabled": {"type": "boolean"},
}
RULE_INPUT = {
    "type": "object",
    "description": "A rule's fields; `when` or the original's `conditions` tree (v2 "
    "`{version, root}` or a v1 list); `media_type`, `libraryKeys` and `library_keys` are "
    "accepted too, `tv` means `show`, and `all` (or no type: the original's default) means "
    "movies and shows when creating or previewing. On update, fields left out keep their "
    "values.",
    "properties": {
        **_RULE_FIELDS,
        "mediaType": {"enum": [*MEDIA_TYPE.values, "tv", "all"]},
        "conditions": {"type": ["object", "array", "string"]},
        "root": {"type": "object"},
    },
}
# request bodies and files; the answers' schemas are those of the `wire` shapes
REQUEST_SCHEMAS = {
    "RuleInput": RULE_INPUT,
    # what GET /api/rules/{id}/export hands out, as YAML: a rules.d file
    "RuleFile": {k: v for k, v in rule_schema().items() if k not in ("$schema", "$id")},
}


def _rules_paths() -> dict:
    rule = _ref("Rule")
    rule_id = {"name": "rule_id", "in": "path", "required": True, "schema": ID_SCHEMA}
    body = {
        "required": True,
        "content": {"application/json": {"schema": _ref("RuleInput")}},
    }
    invalid = {"400": _error("Invalid body or rule: `details` holds the problems")}
    unknown = {"404": _error("No such rule")}
    read_only = {"409": _error("A rules.d rule: read-only through the API (names its file)")}
    listing = _operation(
        "Every rule: rules.d files and API rules",
        {"type": "array", "items": rule},
        beside={"total": {"type": "integer", "minimum": 0}},
    )
    created = _operation(
        "Create an API rule; `mediaType: all` or none (the original's default) creates one for "
        "movies and one for shows, listed in `rules` (`data` is the first)",
        rule,
        extra=invalid,
        beside={"rules": {"type": "array", "items": rule, "minItems": 1, "maxItems": 2}},
    )
    created["responses"]["201"] = {**created["responses"].pop("200"), "description": "Created"}
    export = _operation("The rule as a rules.d YAML file", {}, extra=unknown)
    export["responses"]["200"] = {
        "description": "The rule file (`prunerr rules check` accepts it)",
        "content": {"application/yaml": {"schema": _ref("RuleFile")}},
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
                    _ref("RulePreview"),
                    extra=invalid,
                ),
                "requestBody": body,
            }
        },
        "/api/rules/suggestions": {
            "get": _operation(
                "Templates that match something in the library, with exact counts",
                _ref("RuleSuggestions"),
            )
        },
        "/api/rules/reload": {"post": _operation("Re-read rules.d", _ref("RulesReload"))},
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
                    _ref("Deleted"),
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
                    _ref("RuleRun"),
                    extra={
                        **unknown,
                        "400": _error("Invalid `confirm`"),
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

REF = "#/components/schemas/{name}"


def _ref(name: str) -> dict:
    return {"$ref": REF.format(name=name)}


def _list(name: str) -> dict:
    return {"type": "array", "items": _ref(name)}


def _status(operation: dict, status: str, description: str) -> dict:
    """The operation answering `status` instead of 200."""
    operation["responses"][status] = {
        **operation["responses"].pop("200"),
        "description": description,
    }
    return operation


def _body(shape: type[wire.Body]) -> dict:
    """A request body of a `wire.Body` shape, required when the shape has a required field."""
    required = any(f.required for f in msgspec.structs.fields(shape))
    return {"required": required, "content": {"application/json": {"schema": _ref(shape.__name__)}}}


def _queue_paths() -> dict:
    bad = {"400": _error("Invalid parameter or body")}
    missing = {**bad, "404": _error("Not found")}
    conflict = {"409": _error("Conflict: protected, already queued, busy, or deletion stopped")}
    stopped = {"409": _error("Deletion is stopped: a rule that may protect items does not load")}
    no_jobs = {"503": _error("No job consumer in this process")}
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
    queue_beside = {  # the original's paging beside the entries
        "summary": _ref("QueueSummary"),
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "totalPages": {"type": "integer", "minimum": 1},
    }

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
        "/api/collections/sync": {
            "post": _operation(
                "Sync the collections from the library now (the original's counts)",
                _ref("CollectionsSynced"),
                extra={"409": _error("A library job is running")},
            )
        },
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
                "requestBody": _body(wire.MarkItem),
            }
        },
        "/api/library/bulk/mark-deletion": {
            "post": {
                **_operation(
                    "Queue several items by hand", _ref("MarkResult"), extra={**bad, **stopped}
                ),
                "requestBody": _body(wire.MarkItems),
            }
        },
        "/api/queue": {
            "get": {
                **_operation(
                    "The live deletion queue, soonest first (the original's shape: the entries "
                    "as data, the whole queue's summary beside them)",
                    _list("QueueEntry"),
                    extra=bad,
                    beside=queue_beside,
                ),
                "parameters": [
                    *page_params,
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "default: all"
                    ),
                    _query(
                        "offset",
                        {"type": "integer", "minimum": 0, "maximum": wire.MAX_ID},
                        "the original's paging: entries skipped (wins over page)",
                    ),
                ],
            }
        },
        "/api/queue/upcoming": {
            "get": {
                **_operation(
                    "The original's upcoming deletions: the queue's first `limit` (default 50) "
                    "entries, soonest first, in the shape of GET /api/queue",
                    _list("QueueEntry"),
                    extra=bad,
                    beside=queue_beside,
                ),
                "parameters": [
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "50"),
                ],
            }
        },
        "/api/queue/{entry_id}": {
            "delete": {
                **_operation(
                    "Take an entry out of the queue",
                    _ref("Cancelled"),
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
                    _query("excludeEventTypes", _TEXT, "comma-separated event types left out"),
                    _query("actorTypes", _TEXT, "comma-separated: user, rule, scheduler"),
                    _query("dateRange", {"enum": [*DATE_RANGES]}, "default all"),
                    _query("search", _TEXT, "in target titles and actor names"),
                ],
            }
        },
        "/api/activity/item/{item_id}": {
            "get": {
                **_operation(
                    "An item's activity, with its collections'",
                    _list("ActivityEntry"),
                    extra=missing,
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
                "requestBody": _body(wire.ProtectCollection),
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
                                "application/json": {
                                    "schema": envelope.success_schema(_ref("CollectionQueued"))
                                }
                            },
                        },
                    },
                ),
                "parameters": [collection_id],
                "requestBody": _body(wire.QueueCollection),
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
    "cron": {"type": ["string", "null"], "description": "cron expression, in TZ; null: off"},
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


def _shapes(paths: dict) -> dict:
    """The JSON schemas of the `wire` shapes (answers and bodies) the paths refer to, and of
    those they hold."""
    text = json.dumps(paths)
    shapes = [
        getattr(wire, name)
        for name in sorted(set(re.findall(r'"#/components/schemas/(\w+)"', text)))
        if isinstance(getattr(wire, name, None), type)
        and issubclass(getattr(wire, name), wire.Shape | wire.Record | wire.Body)
    ]
    _, schemas = msgspec.json.schema_components(shapes, ref_template=REF)
    return schemas


def _limits(paths: dict) -> dict:
    """Every operation that takes a body may answer 413 (see params.BodyLimit)."""
    for operations in paths.values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"]["413"] = TOO_LARGE
    return paths


SYNC_EVENT = {  # the data of each event
    "type": "object",
    "required": ["stage", "message"],
    "properties": {
        "stage": {"enum": ["initializing", "processing_items", "complete", "error"]},
        "message": {"type": "string"},
        "result": {
            "type": "object",
            "required": ["success", "itemsScanned", "errors"],
            "properties": {
                "success": {"type": "boolean"},
                "itemsScanned": {"type": "integer", "minimum": 0},
                "itemsAdded": {"type": "null"},
                "itemsUpdated": {"type": "null"},
                "errors": {"type": "integer", "minimum": 0},
            },
        },
    },
}


def _events(description: str) -> dict:
    """Server-sent events, each a `data:` line of SYNC_EVENT's JSON."""
    event = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": SYNC_EVENT,
            }
        },
    }
    return {"description": description, "content": {"text/event-stream": {"schema": event}}}


def _probe(flag: str, *, timestamp: bool = False) -> dict:
    """The schema of one of the original's probes: `{flag: true}`, with a timestamp."""
    properties = {flag: {"type": "boolean"}}
    if timestamp:
        properties["timestamp"] = {"type": "string", "format": "date-time"}
    return {
        "type": "object",
        "required": list(properties),
        "properties": properties,
        "additionalProperties": False,
    }


def _original_paths() -> dict:
    """The original's routes beyond its reference page, which its web client calls."""
    bad = {"400": _error("Invalid parameter or body")}
    integer = {"type": "integer", "minimum": 1}
    rule_id = {"name": "rule_id", "in": "path", "required": True, "schema": ID_SCHEMA}
    return {
        "/api/health/version": {
            "get": {
                "summary": "`{version}`, outside the envelope",
                "security": [{}, {"apiKeyHeader": []}],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["version"],
                                    "properties": {"version": {"type": "string"}},
                                    "additionalProperties": False,
                                }
                            }
                        },
                    }
                },
            }
        },
        **{
            f"/api/health/{probe}": {
                "get": {
                    "summary": summary,
                    "security": [{}, {"apiKeyHeader": []}],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": schema}},
                        },
                        **(
                            {"503": {"description": "The database does not answer"}}
                            if probe == "ready"
                            else {}
                        ),
                    },
                }
            }
            for probe, summary, schema in (
                ("ping", "`{pong, timestamp}`", _probe("pong", timestamp=True)),
                ("live", "`{live, timestamp}`", _probe("live", timestamp=True)),
                ("ready", "`{ready}`: the database answers", _probe("ready")),
            )
        },
        "/api/health/status": {
            "get": _operation(
                "The original's health page: its services, the scheduler, the overall status",
                _ref("HealthStatus"),
            )
        },
        "/api/unraid/stats": {
            "get": _operation("`{configured: false}`: Unraid is not supported", _ref("UnraidStats"))
        },
        "/api/stats/storage-history": {
            "get": {
                **_operation(
                    "The storage snapshots of the last `days`, oldest first",
                    _list("StoragePoint"),
                    extra=bad,
                ),
                "parameters": [_query("days", {**integer, "maximum": 3650}, "default 30")],
            }
        },
        "/api/stats/recommendations": {
            "get": {
                **_operation(
                    "Movies and shows not watched in `unwatchedDays` that a rule would queue now",
                    _ref("Recommendations"),
                    extra=bad,
                ),
                "parameters": [
                    _query("limit", {**integer, "maximum": 500}, "default 10"),
                    _query("unwatchedDays", {**integer, "maximum": 36500}, "default 90"),
                ],
            }
        },
        "/api/library/bulk/protect": {
            "post": {
                **_operation(
                    "Protect several items (the original's success, failed, skipped)",
                    _ref("BulkProtection"),
                    extra=bad,
                ),
                "requestBody": _body(wire.ProtectItems),
            }
        },
        "/api/library/plex-libraries": {
            "get": _operation(
                "The media servers' libraries the items are in", _list("LibrarySection")
            )
        },
        "/api/scan/trigger": {
            "post": _status(
                _operation(
                    "Start a rule evaluation (the original's scan)",
                    _ref("JobStarted"),
                    extra={
                        "409": _error("A library job is running"),
                        "503": _error("No job consumer in this process"),
                    },
                ),
                "202",
                "Started",
            )
        },
        "/api/library/sync/stream": {
            "get": {
                "summary": "Follow the running library sync as server-sent events",
                "responses": {
                    "200": _events("`data: {stage, message, result?}` lines until it ends"),
                    "204": {"description": "No sync runs"},
                    "401": _error("Missing or wrong API key"),
                },
            },
            "post": {
                "summary": "Start a library sync and follow it as server-sent events",
                "responses": {
                    "200": _events("`data: {stage, message, result?}` lines until it ends"),
                    "401": _error("Missing or wrong API key"),
                    "409": _error("A library job is running"),
                    "503": _error("No job consumer in this process"),
                },
            },
        },
        "/api/rules/enabled": {
            "get": _operation(
                "The enabled rules",
                {"type": "array", "items": _ref("Rule")},
                beside={"total": {"type": "integer", "minimum": 0}},
            )
        },
        "/api/library/summary": {
            "get": _operation(
                "How many movies and shows, by type and status", _ref("LibrarySummary")
            )
        },
        "/api/history/export": {
            "get": {
                "summary": "Every deletion as CSV, newest first",
                "responses": {
                    "200": {
                        "description": "ID, Media ID, Title, Type, Size (bytes), Deleted At, "
                        "Reason, Rule, Freed (bytes)",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    "401": _error("Missing or wrong API key"),
                },
            }
        },
        "/api/scan/cadence": {
            "get": {
                **_operation(
                    "The last `days` local days: deletions, and the rule evaluation that ran",
                    _list("CadenceDay"),
                    extra=bad,
                ),
                "parameters": [_query("days", {**integer, "maximum": 60}, "default 14")],
            }
        },
        "/api/scan/history": {
            "get": {
                **_operation(
                    "The rule evaluations (the original's scans), newest first",
                    _list("ScanRecord"),
                    extra=bad,
                    beside={"total": {"type": "integer", "minimum": 0}},
                ),
                "parameters": [_query("limit", {**integer, "maximum": 500}, "default 50")],
            }
        },
        "/api/scan/latest": {
            "get": _operation(
                "The newest rule evaluation (the original's scan)",
                _ref("ScanRecord"),
                extra={"404": _error("No rule evaluation ran yet")},
            )
        },
        "/api/scan/status": {
            "get": _operation("Whether a rule evaluation runs now", _ref("ScanStatus"))
        },
        "/api/activity/recent": {
            "get": {
                **_operation(
                    "The newest activity entries",
                    _list("ActivityEntry"),
                    extra=bad,
                    beside={"total": {"type": "integer", "minimum": 0}},
                ),
                "parameters": [
                    _query("limit", {**integer, "maximum": 100}, "default 20"),
                    _query("excludeEventTypes", _TEXT, "comma-separated event types"),
                ],
            }
        },
        "/api/history": {
            "get": {
                **_operation("What was deleted, newest first", _ref("HistoryPage"), extra=bad),
                "parameters": [
                    _query("page", {**integer, "maximum": MAX_PAGE}, "1-based"),
                    _query("limit", {**integer, "maximum": 100}, "default 20"),
                    _query("dateRange", {"enum": [*DATE_RANGES]}, "default all"),
                    _query("search", _TEXT, "in titles"),
                ],
            }
        },
        "/api/rules/{rule_id}/toggle": {
            "patch": {
                **_operation(
                    "Enable or disable an API rule",
                    _ref("Rule"),
                    extra={
                        **bad,
                        "404": _error("No such rule"),
                        "409": _error("A rules.d rule: read-only through the API"),
                    },
                ),
                "parameters": [rule_id],
                "requestBody": _body(wire.ToggleRule),
            }
        },
    }


def document() -> dict:
    conflict = {
        "409": {
            "description": "The key is set by PRUNERR_API_KEY",
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    }
    doc = {
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
                        _ref("Health"),
                        public=True,
                    )
                },
                "/api/settings": {
                    "get": _operation(
                        "The effective settings, secrets masked", compat_settings.SCHEMA
                    ),
                    "put": {
                        **_operation(
                            "Change settings that may change while Prunerr runs; answers the "
                            "effective settings",
                            compat_settings.SCHEMA,
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
                                        "description": "Settings by key, or the original's "
                                        "sections (what GET answered may be sent back whole: "
                                        "values as shown are no change)",
                                        "minProperties": 1,
                                        "properties": {
                                            **_editable_settings(),
                                            **compat_settings.PUT_SECTIONS,
                                        },
                                    }
                                }
                            },
                        },
                    },
                },
                "/api/settings/api-key": {"get": _operation("The current API key", _ref("ApiKey"))},
                "/api/settings/test/{service}": {
                    "post": {
                        **_operation(
                            "Test the connection to a service, as configured (the original's "
                            "names: plex, tautulli, sonarr, radarr, overseerr, ...)",
                            _ref("ServiceTested"),
                            extra={
                                "400": _error("Not one of the original's services"),
                                "409": _error(
                                    "Not configured, or the body names other values than configured"
                                ),
                                "503": _error("The service did not answer as expected"),
                            },
                        ),
                        "parameters": [
                            {
                                "name": "service",
                                "in": "path",
                                "required": True,
                                "schema": {"enum": [*compat_settings.SERVICES, "discord"]},
                            }
                        ],
                        "requestBody": {
                            "required": False,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "description": "What GET showed of the service "
                                        "(`url`, `token` or `apiKey`, masked)",
                                    }
                                }
                            },
                        },
                    }
                },
                "/api/settings/api-key/regenerate": {
                    "post": _operation(
                        "Replace the API key; the old one stops working at once",
                        _ref("ApiKey"),
                        extra=conflict,
                    )
                },
                "/api/stats": {
                    "get": _operation(
                        "Library counts and storage (tombstones excluded)",
                        _ref("Stats"),
                    )
                },
                "/api/library": {
                    "get": {
                        **_operation(
                            "List library items",
                            _ref("LibraryPage"),
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
                            _ref("ItemDetail"),
                            extra={"404": _error("No such item")},
                        ),
                        "parameters": [ID],
                    }
                },
                "/api/library/{item_id}/protect": {
                    "post": {
                        **_operation(
                            "Protect an item from every delete rule",
                            _ref("Protection"),
                            extra={
                                "400": _error("Invalid id or body"),
                                "404": _error("No such item"),
                            },
                        ),
                        "parameters": [ID],
                        "requestBody": _body(wire.ProtectItem),
                    },
                    "delete": {
                        **_operation(
                            "Remove an item's protection",
                            _ref("Protection"),
                            extra={"404": _error("No such item")},
                        ),
                        "parameters": [ID],
                    },
                },
                **_rules_paths(),
                **_queue_paths(),
                **_original_paths(),
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
                "Error": envelope.FAILURE_SCHEMA,
                **REQUEST_SCHEMAS,
            },
            "securitySchemes": {
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apikey"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
    doc["components"]["schemas"].update(_shapes(doc["paths"]))
    _original_shapes(doc["paths"])
    return doc


def _original_shapes(paths: dict) -> None:
    """Mark each operation's success answer with the original's shape of it
    (`x-original-shape`, `prunerr.compat.shapes`)."""
    for operation, schema in shapes.ORIGINAL.items():
        method, path = operation.split(" ")
        responses = paths[path][method.lower()]["responses"]
        success = next(code for code in ("200", "201", "202") if code in responses)
        responses[success]["x-original-shape"] = schema
