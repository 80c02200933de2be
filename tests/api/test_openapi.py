"""The OpenAPI document published in docs/ is the one the server serves."""

import json
from pathlib import Path

from prunerr.api import openapi
from prunerr.cli import main

PUBLISHED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_published_document_is_the_served_one(capsys):
    assert main(["openapi"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == openapi.document()
    assert PUBLISHED.read_text() == printed, (
        "docs/openapi.json is stale: run `prunerr openapi > docs/openapi.json`"
    )
