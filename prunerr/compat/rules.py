"""The original Prunerr's spellings, accepted where its clients send them and used where they
read them: a show is a `tv` item, a rule's fields have other names, and its condition is a JSON
tree (`prunerr.compat.conditions` converts it)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from prunerr import wire
from prunerr.compat.conditions import ConditionError

# the original's names of a rule's fields -> this API's
RULE_FIELDS = {"media_type": "mediaType", "libraryKeys": "libraries", "library_keys": "libraries"}
LIBRARY_KEYS = ("libraryKeys", "library_keys")  # libraries by their media-server keys


def listed_type(kind: str | None) -> str | None:
    """An item's type as the original's listings name it (a show is `tv`)."""
    return "tv" if kind == "show" else kind


def media_type(name: object) -> object:
    """A media type a client sent, the original's `tv` read as `show`."""
    return "show" if name == "tv" else name


def condition_tree(body: Mapping) -> object | None:
    """The original's condition tree in a rule's JSON: `{version, root}` (also at the top level,
    as its preview took it), a v1 list (with `logic`), or the JSON text of either; None when
    the body holds none. ConditionError when the text is not a tree."""
    if "root" in body:
        return {"version": body.get("version", 2), "root": body["root"]}
    tree = body.get("conditions")
    if isinstance(tree, str):
        try:
            tree = wire.loads(tree)
        except wire.TooDeep as exc:
            raise ConditionError("conditions", str(exc)) from None
        except ValueError:
            problem = "expected a condition tree or its JSON text"
            raise ConditionError("conditions", problem) from None
    if isinstance(tree, list) and "logic" in body:
        tree = {"conditions": tree, "logic": body["logic"]}
    return tree


# The original's rule types, by the fields a condition reads (its rule builder's order)
_TYPES = (
    ("watch_status", lambda f: "watch" in f or f == "play_count"),
    ("age", lambda f: f in ("added", "year")),
    ("size", lambda f: f == "size"),
    ("quality", lambda f: "resolution" in f or "codec" in f or f in ("bitrate", "hdr")),
)


def rule_type(fields: Collection[str]) -> str:
    """The original's `type` of a rule whose condition reads these fields."""
    return next((kind for kind, about in _TYPES if any(map(about, fields))), "custom")
