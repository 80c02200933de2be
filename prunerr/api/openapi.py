"""The OpenAPI 3.1 document of the API, served at /api/openapi.json; tests validate every
response against it."""

from __future__ import annotations

from prunerr import __version__


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


LIBRARY_ITEM = {
    "type": "object",
    "required": ["id", "title", "type", "status", "isProtected", "unknownFields"],
    "properties": {
        "id": {"type": "integer"},
        "title": _nullable("string"),
        "type": {"enum": ["movie", "tv", "season", "episode"]},
        "year": _nullable("integer"),
        "size": _nullable("integer"),
        "watched": _nullable("boolean"),
        "lastWatched": {"type": ["string", "null"], "format": "date-time"},
        "addedAt": {"type": ["string", "null"], "format": "date-time"},
        "status": {"enum": ["monitored", "protected"]},
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
                "required": ["id", "name", "kind", "result", "explanation"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"enum": ["delete", "protect"]},
                    "result": {"enum": ["match", "no_match", "unknown"]},
                    "explanation": {"type": "object"},
                },
            },
        },
    },
}

PAGE = {
    "type": "object",
    "required": ["items", "total", "page", "totalPages"],
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/LibraryItem"}},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "totalPages": {"type": "integer", "minimum": 1},
    },
    "additionalProperties": False,
}

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
    }


ID = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}


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
        "paths": {
            "/api/health": {
                "get": _operation(
                    "Overall status; each service's status and response time with a key",
                    {"$ref": "#/components/schemas/Health"},
                    public=True,
                )
            },
            "/api/settings": {
                "get": _operation("The effective settings, secrets masked", {"type": "object"})
            },
            "/api/settings/api-key": {
                "get": _operation("The current API key", {"$ref": "#/components/schemas/ApiKey"})
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
                        _query("page", {"type": "integer", "minimum": 1}, "1-based page"),
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
                            {"enum": ["monitored", "protected", "watched", "unwatched"]},
                            "filter by status",
                        ),
                        _query("search", {"type": "string"}, "title contains (case-insensitive)"),
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
                        extra={"400": _error("Invalid id or body"), "404": _error("No such item")},
                    ),
                    "parameters": [ID],
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"reason": {"type": "string"}},
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
        },
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
            },
            "securitySchemes": {
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apikey"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
