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
                "ApiKey": API_KEY,
            },
            "securitySchemes": {
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apikey"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
