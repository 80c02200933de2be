"""The language's static types. Values at run time are plain Python objects (see `runtime`)."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from enum import Enum


class Kind(Enum):
    BOOL = "bool"
    NUMBER = "number"
    STRING = "string"
    SIZE = "size"
    DURATION = "duration"
    DATETIME = "datetime"
    ENUM = "enum"
    LIST = "list"
    WATCHES = "watches"
    NULL = "null"
    ANY = "any"  # the type of an expression that already failed to check


def fold(text: str) -> str:
    """Case- and Unicode-insensitive form of a string: how the language compares strings."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class EnumDef:
    """A closed set of string values; `aliases` only feed "did you mean" suggestions."""

    name: str
    values: tuple[str, ...]
    ordered: bool = False
    aliases: tuple[tuple[str, str], ...] = ()
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lookup", {fold(v): v for v in self.values})

    def canonical(self, value: str) -> str | None:
        """The canonical spelling of `value` (compared case-insensitively), or None."""
        return self._lookup.get(fold(value))

    def rank(self, value: str) -> int:
        return self.values.index(value)

    def suggest(self, value: str) -> str | None:
        folded = fold(value).strip()
        for alias, target in self.aliases:
            if fold(alias) == folded:
                return target
        close = difflib.get_close_matches(folded, list(self._lookup), n=1, cutoff=0.6)
        return self._lookup[close[0]] if close else None


@dataclass(frozen=True)
class Type:
    kind: Kind
    nullable: bool = False
    enum: EnumDef | None = None
    elem: Type | None = None

    def __str__(self) -> str:
        if self.kind is Kind.ENUM:
            base = f"enum {self.enum.name}"
        elif self.kind is Kind.LIST:
            base = f"list[{self.elem}]"
        else:
            base = self.kind.value
        return base + ("?" if self.nullable and self.kind is not Kind.NULL else "")

    def as_nullable(self, nullable: bool = True) -> Type:
        return Type(self.kind, nullable, self.enum, self.elem)

    @property
    def is_stringlike(self) -> bool:
        return self.kind in (Kind.STRING, Kind.ENUM)

    @property
    def is_ordered(self) -> bool:
        if self.kind is Kind.ENUM:
            return self.enum.ordered
        return self.kind in (Kind.NUMBER, Kind.STRING, Kind.SIZE, Kind.DURATION, Kind.DATETIME)


BOOL = Type(Kind.BOOL)
NUMBER = Type(Kind.NUMBER)
STRING = Type(Kind.STRING)
SIZE = Type(Kind.SIZE)
DURATION = Type(Kind.DURATION)
DATETIME = Type(Kind.DATETIME)
WATCHES = Type(Kind.WATCHES)
NULL = Type(Kind.NULL, nullable=True)
ANY = Type(Kind.ANY)


def list_of(elem: Type) -> Type:
    return Type(Kind.LIST, elem=elem)


def enum_of(enum: EnumDef) -> Type:
    return Type(Kind.ENUM, enum=enum)


MEDIA_TYPE = EnumDef(
    "media_type",
    ("movie", "show", "season", "episode"),
    aliases=(("tv", "show"), ("series", "show"), ("film", "movie")),
)
RESOLUTION = EnumDef(
    "resolution",
    ("480p", "576p", "720p", "1080p", "2160p"),
    ordered=True,
    aliases=(
        ("sd", "480p"),
        ("480", "480p"),
        ("576", "576p"),
        ("720", "720p"),
        ("hd", "720p"),
        ("1080", "1080p"),
        ("fhd", "1080p"),
        ("2160", "2160p"),
        ("4k", "2160p"),
        ("uhd", "2160p"),
    ),
)
HDR = EnumDef(
    "hdr",
    ("none", "hdr10", "hdr10+", "dolby_vision", "hlg"),
    aliases=(
        ("sdr", "none"),
        ("hdr", "hdr10"),
        ("hdr10plus", "hdr10+"),
        ("dv", "dolby_vision"),
        ("dolby vision", "dolby_vision"),
        ("dovi", "dolby_vision"),
    ),
)
SERIES_STATUS = EnumDef("series_status", ("continuing", "ended", "upcoming", "deleted"))

ENUMS = {e.name: e for e in (MEDIA_TYPE, RESOLUTION, HDR, SERIES_STATUS)}
_SIMPLE = {t.kind.value: t for t in (BOOL, NUMBER, STRING, SIZE, DURATION, DATETIME, WATCHES)}


def parse_type(spec: str) -> Type:
    """Read a type written as in the field catalog: `size`, `datetime?`, `list[string]`,
    `enum resolution`. Plugins use this to declare their fields."""
    text = spec.strip()
    nullable = text.endswith("?")
    text = text.rstrip("?").strip()
    if text.startswith("list[") and text.endswith("]"):
        return Type(Kind.LIST, nullable, elem=parse_type(text[5:-1]))
    if text.startswith("enum "):
        name = text[5:].strip()
        if name not in ENUMS:
            raise ValueError(f"unknown enum {name!r}; known: {', '.join(sorted(ENUMS))}")
        return Type(Kind.ENUM, nullable, enum=ENUMS[name])
    if text not in _SIMPLE:
        raise ValueError(f"unknown type {spec!r}")
    return _SIMPLE[text].as_nullable(nullable)
