"""A notification as Discord webhook messages: embeds within Discord's limits, a long
notification split over several embeds and messages rather than cut short."""

from __future__ import annotations

from typing import Any

from prunerr.sdk import Notification

# Discord's embed limits, in characters after trimming (docs: "Embed Limits").
TITLE, DESCRIPTION, FOOTER, AUTHOR = 256, 4096, 2048, 256
FIELDS, FIELD_NAME, FIELD_VALUE = 25, 256, 1024
TOTAL, EMBEDS, USERNAME = 6000, 10, 80
FOOTER_ROOM = len("part 1000 of 1000")
BLANK = "\u200b"  # Discord refuses empty field names and values
INLINE = 40  # short values sit side by side
COLOURS = {
    "queued": 0x3498DB,
    "deletion_imminent": 0xF39C12,
    "deleted": 0x9B59B6,
    "failed": 0xE74C3C,
    "sync_error": 0xE74C3C,
    "circuit_breaker": 0x992D22,
    "rules_broken": 0x992D22,
}

Embed = dict[str, Any]


def fit(text: str, limit: int) -> str:
    """`text` trimmed, and cut to `limit` characters with an ellipsis when longer."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters, cut at line breaks where possible."""
    pieces, text = [], text.strip()
    while len(text) > size:
        cut = text.rfind("\n", 0, size + 1)
        cut = cut if cut > 0 else size
        pieces.append(text[:cut].rstrip())
        text = text[cut:].strip()
    return [*pieces, text] if text else pieces


def size(embed: Embed) -> int:
    """The characters an embed counts towards a message's total."""
    texts = [embed.get("title", ""), embed.get("description", "")]
    texts += [embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    texts += [f[key] for f in embed.get("fields", ()) for key in ("name", "value")]
    return sum(len(text.strip()) for text in texts)


def _field(name: str, value: str) -> dict[str, Any]:
    value = fit(value, FIELD_VALUE) or BLANK
    return {
        "name": fit(name, FIELD_NAME) or BLANK,
        "value": value,
        "inline": len(value) <= INLINE and "\n" not in value,
    }


def messages(notification: Notification, username: str, timestamp: str) -> list[dict[str, Any]]:
    """The webhook payloads for one notification, in order. The body becomes descriptions
    (split at line breaks), the fields 25 to an embed; embeds are packed ten to a message within
    the 6000-character total. Each message repeats the title; a split one says "part i of n"."""
    title = fit(notification.title, TITLE) or notification.event
    room = TOTAL - len(title) - FOOTER_ROOM
    embeds: list[Embed] = [{"description": c} for c in chunks(notification.body, DESCRIPTION)]
    for name, value in notification.fields:
        field = _field(name, value)
        if (
            not embeds
            or len(embeds[-1].get("fields", ())) == FIELDS
            or size(embeds[-1]) + size({"fields": [field]}) > room
        ):
            embeds.append({})
        embeds[-1].setdefault("fields", []).append(field)

    groups: list[list[Embed]] = [[]]
    used = 0
    for embed in embeds:
        if groups[-1] and (len(groups[-1]) == EMBEDS or used + size(embed) > room):
            groups.append([])
            used = 0
        groups[-1].append(embed)
        used += size(embed)

    payloads = []
    colour = COLOURS.get(notification.event, COLOURS["queued"])
    for number, group in enumerate(groups, 1):
        group = [{**embed, "color": colour} for embed in group] or [{"color": colour}]
        group[0] = {"title": title, **group[0]}
        group[-1]["timestamp"] = timestamp
        if len(groups) > 1:
            group[-1]["footer"] = {"text": f"part {number} of {len(groups)}"}
        payloads.append(
            {
                "username": fit(username, USERNAME),
                "embeds": group,
                "allowed_mentions": {"parse": []},
            }
        )
    return payloads
