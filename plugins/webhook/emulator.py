"""A receiver of Prunerr's signed webhooks, `POST /hooks/{name}`: it checks the signature with
the API key as the secret (401 when it does not match) and keeps each delivery in `received`."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import falcon

from prunerr.emulation import json_body
from prunerr_plugins.inbox import Inbox, json_object

from .client import signature


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]  # names as sent, e.g. X-Prunerr-Signature
    body: bytes

    @property
    def json(self) -> Any:
        return json_object(self.body)


class WebhookReceiver(Inbox):
    service = "webhook"

    def routes(self, app: falcon.App) -> None:
        app.add_route("/hooks/{name}", _Hook(self))

    def authenticate(self, req: falcon.Request) -> bool:
        return True  # the signature covers the body, so the resource checks it

    def render(self, message: Delivery) -> str:
        payload = message.json
        lines = [f"webhook | {payload['event']}: {payload['title']}"]
        lines += [f"  {line}" for line in payload["body"].splitlines()]
        lines += [f"  - {label}: {value}" for label, value in payload["fields"].items()]
        return "\n".join(lines)


class _Hook:
    def __init__(self, receiver: WebhookReceiver):
        self.receiver = receiver

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        body = req.bounded_stream.read()
        expected = signature(
            self.receiver.api_key, req.get_header("X-Prunerr-Timestamp", default=""), body
        )
        if not hmac.compare_digest(expected, req.get_header("X-Prunerr-Signature", default="")):
            json_body(resp, {"error": "bad signature"}, 401)
            return
        if json_object(body) is None:
            json_body(resp, {"error": "expected a JSON object"}, 400)
            return
        headers = {k.title(): v for k, v in req.headers.items()}
        self.receiver.keep(Delivery(headers, body))
        resp.status = 204
