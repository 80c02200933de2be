"""A receiver for Apprise's `json://` notifications, `POST /notify`, behind HTTP basic auth with
the API key as the password: what the demo and tests point Apprise at."""

from __future__ import annotations

import base64
from typing import Any

import falcon

from prunerr.emulation import json_body
from prunerr_plugins.inbox import Inbox, json_object

from . import PATH, USER


class AppriseReceiver(Inbox):
    service = "apprise"

    def routes(self, app: falcon.App) -> None:
        app.add_route(PATH, _Notify(self))

    def authenticate(self, req: falcon.Request) -> bool:
        expected = base64.b64encode(f"{USER}:{self.api_key}".encode()).decode()
        return req.get_header("Authorization") == f"Basic {expected}"

    def render(self, message: dict[str, Any]) -> str:
        lines = [f"apprise | {message['type']}: {message['title']}"]
        return "\n".join(lines + [f"  {line}" for line in message["message"].splitlines()])


class _Notify:
    def __init__(self, receiver: AppriseReceiver):
        self.receiver = receiver

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        payload = json_object(req.bounded_stream.read())
        if payload is None or not isinstance(payload.get("message"), str):
            json_body(resp, {"error": "expected Apprise's JSON payload"}, 400)
            return
        self.receiver.keep(dict(payload))
        json_body(resp, {"ok": True})
