"""Items written by people (rule tests, `rules eval`) as run-time values, checked against the
catalog.

A field absent from the mapping stays absent, which the language reads as *unknown*; an explicit
null is null. Sizes are integer bytes or size strings (`"25 GB"`), durations integer seconds or
duration strings (`"95 min"`), datetimes ISO-8601 strings, lists lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from . import units
from .catalog import Catalog
from .runtime import folded, parse_datetime
from .types import Kind, Type


@dataclass(frozen=True)
class ItemProblem:
    key: str
    message: str
    code: str = "T003"  # T002 for an unknown field
    hint: str | None = None


class _Invalid(ValueError):
    pass


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"expected a number, got {value!r}")
    return value


def _coerce(value: object, type_: Type) -> object:
    if value is None:
        if not type_.nullable:
            raise _Invalid(f"cannot be null (it is a {type_})")
        return None
    kind = type_.kind
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise _Invalid(f"expected true or false, got {value!r}")
        return value
    if kind is Kind.NUMBER:
        return _number(value)
    if kind is Kind.STRING:
        if not isinstance(value, str):
            raise _Invalid(f"expected a string, got {value!r}")
        return value
    if kind is Kind.SIZE:
        if isinstance(value, str):
            size = units.parse_size(value)
            if size is None:
                raise _Invalid(f'expected a size such as "25 GB", got {value!r}')
            return size
        return _number(value)
    if kind is Kind.DURATION:
        if isinstance(value, str):
            seconds = units.parse_duration(value)
            if seconds is None:
                raise _Invalid(f'expected a duration such as "95 min", got {value!r}')
            return seconds
        return float(_number(value))
    if kind is Kind.DATETIME:
        if not isinstance(value, str | date):
            raise _Invalid(f"expected an ISO-8601 date or datetime, got {value!r}")
        try:
            return parse_datetime(value)
        except ValueError as exc:
            raise _Invalid(f"invalid datetime {value!r}: {exc}") from None
    if kind is Kind.ENUM:
        canonical = type_.enum.canonical(value) if isinstance(value, str) else None
        if canonical is None:
            suggestion = type_.enum.suggest(value) if isinstance(value, str) else None
            tail = f'; did you mean "{suggestion}"?' if suggestion else ""
            raise _Invalid(f"{value!r} is not one of {', '.join(type_.enum.values)}{tail}")
        return canonical
    if kind is Kind.LIST:
        if not isinstance(value, list | tuple):
            raise _Invalid(f"expected a list, got {value!r}")
        return tuple(_coerce(v, type_.elem.as_nullable(False)) for v in value)
    if kind is Kind.WATCHES:
        return _watches(value)
    raise _Invalid(f"values of type {type_} cannot be written in an item")


def _watches(value: object) -> dict[str, tuple[int, float | None]]:
    """`{user: {plays: N, last_watched: DATETIME|null}}` keyed by the folded user name."""
    if not isinstance(value, Mapping):
        raise _Invalid("expected a mapping of user to {plays, last_watched}")
    result = {}
    for user, entry in value.items():
        if not isinstance(entry, Mapping) or set(entry) - {"plays", "last_watched"}:
            raise _Invalid(f"watches of {user!r}: expected {{plays, last_watched}}")
        plays = entry.get("plays", 1 if entry.get("last_watched") else 0)
        if isinstance(plays, bool) or not isinstance(plays, int) or plays < 0:
            raise _Invalid(f"watches of {user!r}: plays must be a non-negative integer")
        last = entry.get("last_watched")
        result[folded(str(user))] = (plays, None if last is None else parse_datetime(last))
    return result


def load_item(
    raw: object, catalog: Catalog, media: str | None = None
) -> tuple[dict[str, object], list[ItemProblem]]:
    """Check and convert an item; returns the run-time item and the problems found. With
    `media`, fields that do not apply to that media type are problems too."""
    if not isinstance(raw, Mapping):
        return {}, [ItemProblem("", "an item is a mapping of field names to values")]
    item: dict[str, object] = {}
    problems: list[ItemProblem] = []
    for key, value in raw.items():
        spec = catalog.fields.get(str(key))
        if spec is None:
            suggestion = catalog.suggest(str(key))
            hint = f"did you mean `{suggestion}`?" if suggestion else None
            problems.append(ItemProblem(str(key), f"unknown field `{key}`", "T002", hint))
            continue
        if media is not None and media not in spec.media:
            problems.append(ItemProblem(spec.name, f"`{spec.name}` does not apply to {media}s"))
            continue
        try:
            item[spec.name] = _coerce(value, spec.type)
        except _Invalid as exc:
            problems.append(ItemProblem(spec.name, f"`{spec.name}`: {exc}"))
        except ValueError as exc:  # a malformed date inside `watches`
            problems.append(ItemProblem(spec.name, f"`{spec.name}`: {exc}"))
    if not problems:
        catalog.derive(item, media)
    return item, problems
