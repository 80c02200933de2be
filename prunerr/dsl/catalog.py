"""The field and function catalogs: every name a rule may use, with its type and meaning.

The core defines the normalised fields below; plugins add namespaced fields (`tautulli.watch_time`)
and functions through the `prunerr_register_dsl` hook, which receives a catalog builder.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .runtime import UNKNOWN, EvalContext, folded
from .types import (
    BOOL,
    DATETIME,
    DURATION,
    HDR,
    MEDIA_TYPE,
    NUMBER,
    RESOLUTION,
    SERIES_STATUS,
    SIZE,
    STRING,
    WATCHES,
    Kind,
    Type,
    enum_of,
    list_of,
    parse_type,
)
from .units import DAY

ALL_MEDIA = frozenset(MEDIA_TYPE.values)


@dataclass(frozen=True)
class FieldSpec:
    """A field an item can carry. `media` lists the media types it applies to. A plugin field
    with `compute` is derived from the item's other fields when the library is loaded:
    `compute(fields)` returns the value, None for null or UNKNOWN."""

    name: str
    type: Type
    description: str
    source: str = "core"
    media: frozenset[str] = ALL_MEDIA
    compute: Callable[[Mapping], object] | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """A function callable from rules. `impl(ctx, item, *args)` is only called with known,
    non-null arguments (the caller returns unknown otherwise) and may itself return UNKNOWN."""

    name: str
    params: tuple[Type, ...]
    returns: Type
    impl: Callable[..., object]
    description: str
    source: str = "core"

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(str(p) for p in self.params)}) -> {self.returns}"


class Catalog:
    """An immutable set of fields and functions; `extend` returns a new catalog."""

    def __init__(self, fields: Iterable[FieldSpec] = (), functions: Iterable[FunctionSpec] = ()):
        self.fields: dict[str, FieldSpec] = {}
        self.functions: dict[str, FunctionSpec] = {}
        for spec in fields:
            self._add(self.fields, spec)
        for spec in functions:
            self._add(self.functions, spec)

    @staticmethod
    def _add(table: dict, spec: FieldSpec | FunctionSpec) -> None:
        if spec.name in table:
            raise ValueError(
                f"{spec.name!r} is defined by both {table[spec.name].source!r} and {spec.source!r}"
            )
        table[spec.name] = spec

    def extend(
        self, fields: Iterable[FieldSpec] = (), functions: Iterable[FunctionSpec] = ()
    ) -> Catalog:
        return Catalog([*self.fields.values(), *fields], [*self.functions.values(), *functions])

    def derive(self, fields: dict[str, object], media: str | None = None) -> None:
        """Add the computed plugin fields an item does not carry yet (for its media type)."""
        for spec in self.fields.values():
            if spec.compute is None or spec.name in fields:
                continue
            if media is not None and media not in spec.media:
                continue
            value = spec.compute(fields)
            if value is not UNKNOWN:
                fields[spec.name] = value

    def suggest(self, name: str, *, functions: bool = False) -> str | None:
        table = self.functions if functions else self.fields
        for known in table:
            if known.lower() == name.lower():
                return known
        close = difflib.get_close_matches(name, list(table), n=1, cutoff=0.6)
        return close[0] if close else None


class DslRegistry:
    """What a plugin's `prunerr_register_dsl` hook receives: it adds namespaced names."""

    def __init__(self, plugin: str):
        self.plugin = plugin
        self.fields: list[FieldSpec] = []
        self.functions: list[FunctionSpec] = []

    def _check_name(self, name: str) -> None:
        if not name.startswith(self.plugin + ".") or len(name) == len(self.plugin) + 1:
            raise ValueError(
                f"plugin {self.plugin!r} must name its fields and functions "
                f"`{self.plugin}.<name>`, not {name!r}"
            )

    def field(
        self,
        name: str,
        type_: Type | str,
        description: str,
        media: Iterable[str] = ALL_MEDIA,
        compute: Callable[[Mapping], object] | None = None,
    ) -> None:
        """Declare a field items can carry; `type_` as a Type or written like `datetime?`;
        `compute(fields)` derives its value from the item's other fields."""
        self._check_name(name)
        if isinstance(type_, str):
            type_ = parse_type(type_)
        self.fields.append(
            FieldSpec(name, type_, description, self.plugin, frozenset(media), compute)
        )

    def function(
        self,
        name: str,
        params: Iterable[Type | str],
        returns: Type | str,
        impl: Callable[..., object],
        description: str,
    ) -> None:
        """Declare a function; `impl(ctx, item, *args)` gets known, non-null arguments."""
        self._check_name(name)
        params = tuple(parse_type(p) if isinstance(p, str) else p for p in params)
        returns = parse_type(returns) if isinstance(returns, str) else returns
        self.functions.append(FunctionSpec(name, params, returns, impl, description, self.plugin))


def _field(name: str, type_: Type, description: str, media: Iterable[str] = ALL_MEDIA):
    return FieldSpec(name, type_, description, media=frozenset(media))


_opt = Type.as_nullable
_SHOWLIKE = ("show", "season", "episode")

CORE_FIELDS = (
    _field("title", STRING, "Title as the media server shows it."),
    _field("type", enum_of(MEDIA_TYPE), "movie, show, season or episode."),
    _field("year", _opt(NUMBER), "Release year."),
    _field("library", STRING, "Name of the media-server library holding the item."),
    _field("added", DATETIME, "When the item was added to the media server."),
    _field("size", SIZE, "Size on disk of all the item's files."),
    _field("resolution", _opt(enum_of(RESOLUTION)), "Video resolution class: 480p .. 2160p."),
    _field("resolution_height", _opt(NUMBER), "Video height in pixels (2160, 1080, ...)."),
    _field("video_codec", _opt(STRING), "Video codec of the main file (h264, hevc, av1, ...)."),
    _field("audio_codec", _opt(STRING), "Audio codec of the main file (aac, eac3, truehd, ...)."),
    _field("hdr", _opt(enum_of(HDR)), "HDR format: none, hdr10, hdr10+, dolby_vision or hlg."),
    _field("bitrate", _opt(NUMBER), "Overall bitrate of the main file in kbps."),
    _field("runtime", _opt(DURATION), "Running time."),
    _field("play_count", NUMBER, "Completed plays by all users."),
    _field("last_watched", _opt(DATETIME), "Last completed play by anyone; null if never watched."),
    _field("watched_by", list_of(STRING), "Users who completed a play."),
    _field("watches", WATCHES, "Per-user plays and last play; read by the watch functions."),
    _field("genres", list_of(STRING), "Genres."),
    _field("tags", list_of(STRING), "Radarr/Sonarr tags."),
    _field("labels", list_of(STRING), "Media-server labels."),
    _field("collections", list_of(STRING), "Collections the item belongs to."),
    _field("studio", _opt(STRING), "Studio (movies) or network (shows)."),
    _field("content_rating", _opt(STRING), "Content rating (PG-13, TV-MA, ...)."),
    _field("original_language", _opt(STRING), "Original language (English, Japanese, ...)."),
    _field("rating.imdb", _opt(NUMBER), "IMDb rating, 0-10."),
    _field("rating.tmdb", _opt(NUMBER), "TMDb rating, 0-10."),
    _field("rating.rt", _opt(NUMBER), "Rotten Tomatoes critics score, 0-100."),
    _field("season_count", _opt(NUMBER), "Number of seasons.", ("show",)),
    _field("episode_count", _opt(NUMBER), "Number of episodes on disk.", ("show", "season")),
    _field("series_status", _opt(enum_of(SERIES_STATUS)), "Series status from Sonarr.", _SHOWLIKE),
    _field("season_number", _opt(NUMBER), "Season number (0 = specials).", ("season", "episode")),
    _field("show_title", STRING, "Title of the show the item belongs to.", ("season", "episode")),
    _field("requested_by", _opt(STRING), "User who requested it in Seerr; null if nobody."),
    _field("requested_at", _opt(DATETIME), "When it was requested; null if never."),
    _field("monitored", _opt(BOOL), "Monitored in Radarr/Sonarr; null if no *arr manages it."),
    _field(
        "protected",
        BOOL,
        "Protected by hand: the item itself or a collection it is in (protect rules shield "
        "items without setting it).",
    ),
)


def _user_watch(item: Mapping, user: str):
    watches = item.get("watches", UNKNOWN)
    if watches is UNKNOWN:
        return UNKNOWN
    return (watches or {}).get(folded(user))


def _watched_by_user(ctx: EvalContext, item: Mapping, user: str):
    entry = _user_watch(item, user)
    return entry if entry is UNKNOWN else entry is not None and entry[0] > 0


def _last_watched_by(ctx: EvalContext, item: Mapping, user: str):
    entry = _user_watch(item, user)
    return entry if entry is UNKNOWN or entry is None else entry[1]


def _plays_by(ctx: EvalContext, item: Mapping, user: str):
    entry = _user_watch(item, user)
    return entry if entry is UNKNOWN else 0 if entry is None else entry[0]


def _days_since(ctx: EvalContext, item: Mapping, when: float) -> int:
    return math.floor((ctx.now_ts - when) / DAY)


CORE_FUNCTIONS = (
    FunctionSpec(
        "count",
        (list_of(Type(Kind.ANY)),),
        NUMBER,
        lambda c, i, v: len(v),
        "Number of elements of a list: `count(watched_by) < 2`.",
    ),
    FunctionSpec(
        "lower", (STRING,), STRING, lambda c, i, s: s.lower(), "Lower-case copy of a string."
    ),
    FunctionSpec(
        "days_since",
        (DATETIME,),
        NUMBER,
        _days_since,
        "Whole days from a datetime until now: `days_since(added) > 90`.",
    ),
    FunctionSpec(
        "watched_by_user",
        (STRING,),
        BOOL,
        _watched_by_user,
        "Whether the named user completed a play of the item.",
    ),
    FunctionSpec(
        "last_watched_by",
        (STRING,),
        _opt(DATETIME),
        _last_watched_by,
        "The named user's last completed play; null if they never watched it.",
    ),
    FunctionSpec(
        "plays_by", (STRING,), NUMBER, _plays_by, "Completed plays of the item by the named user."
    ),
)

CORE = Catalog(CORE_FIELDS, CORE_FUNCTIONS)
