"""The original Prunerr's JSON condition trees (v1 lists, v2 `{version, root}`) as DSL text.

The REST API accepts the original's rule format; `to_dsl` turns it into one `when:` expression,
fixing the original's known bugs on the way (see "Condition trees" in docs/api.md). A null field
never makes a converted rule match: each leaf on a nullable field gets a null guard of the right
polarity, so it is false for null, and also stays false when it sits under a `NOT` group.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from prunerr.dsl import CORE
from prunerr.dsl.types import HDR, MEDIA_TYPE, RESOLUTION, SERIES_STATUS, EnumDef, fold

MAX_DEPTH = 40  # levels of groups (the API refuses JSON nested deeper, over about 50 groups)
# Conditions (leaves) in one tree, however wide its groups: each becomes a few sub-expressions of
# one DSL condition, which stays well within the language's limits (`prunerr.dsl.limits`).
MAX_CONDITIONS = 10_000


class ConditionError(ValueError):
    """A condition tree that cannot be converted; `path` locates the culprit in the input."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- DSL text with just enough structure to place parentheses -------------------------------


@dataclass(frozen=True)
class _Expr:
    """DSL text: `parts` joined by `op` (`and`/`or`), or one part whose `op` says how it binds:
    None for a comparison, `call` for a bare call, `not` for a negation."""

    parts: tuple[str, ...]
    op: str | None = None

    @property
    def text(self) -> str:
        return f" {self.op} ".join(self.parts)


def _atom(text: str, op: str | None = None) -> _Expr:
    return _Expr((text,), op)


def _join(op: str, exprs: list[_Expr], *, group: bool = False) -> _Expr:
    """`and`/`or` of `exprs`. Operands mixing `and`/`or` get parentheses for the reader's sake;
    in a `group` every compound operand does, so each of the input's conditions stays whole."""
    if len(exprs) == 1:
        return exprs[0]
    parts = tuple(
        f"({e.text})" if e.op in ("and", "or") and (group or e.op != op) else e.text for e in exprs
    )
    return _Expr(parts, op)


def _not(expr: _Expr) -> _Expr:
    return _atom(f"not {expr.text}" if expr.op == "call" else f"not ({expr.text})", "not")


# --- Values ----------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def _show(value: object) -> str:
    return json.dumps(_clipped(value), default=str)[:60]


def _clipped(value: object, depth: int = 3) -> object:
    """Enough of a JSON value to show its start: a few elements, a few levels."""
    if isinstance(value, str):
        return value[:60]
    if isinstance(value, list):
        return [_clipped(v, depth - 1) for v in value[:10]] if depth else ["..."]
    if isinstance(value, dict):
        items = list(value.items())[:10]
        return {str(k): _clipped(v, depth - 1) for k, v in items} if depth else {"...": "..."}
    return value


def _string(value: object, path: str, nonempty: str | None = None) -> str:
    """A string; `nonempty` is the complaint about an empty one, if it must not be empty."""
    if not isinstance(value, str):
        raise ConditionError(path, f"expected a string, got {_show(value)}")
    if nonempty and not value:
        raise ConditionError(path, nonempty)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ConditionError(path, "the string holds a lone surrogate, which is not text")
    return value


def _literal(text: str) -> str:
    """A DSL string literal that reads back as `text`."""
    body = "".join(
        _ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
        for c in text
    )
    return f'"{body}"'


def _strings(value: object, path: str) -> list[str]:
    """A non-empty list of strings from a list, a JSON list or a comma-separated string."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        value = parsed if isinstance(parsed, list) else [s.strip() for s in value.split(",")]
        value = [s for s in value if s != ""]
    if not isinstance(value, list):
        raise ConditionError(path, f"expected a list of strings, got {_show(value)}")
    if not value:
        raise ConditionError(path, "the list is empty; give at least one value")
    return [_string(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _list_literal(values: list[str]) -> str:
    return "[" + ", ".join(map(_literal, values)) + "]"


def _number(value: object, path: str) -> float:
    """A finite number; numeric strings count, as the original coerced them too."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        raise ConditionError(path, f"expected a number, got {_show(value)}")
    return number


def _fmt(number: float) -> str:
    """A DSL number literal (no exponent; negative numbers take a unary minus)."""
    if float(number).is_integer():
        return str(int(number))
    return format(Decimal(repr(float(number))), "f")


def _days_ago(days: float) -> str:
    return f"{_fmt(days)} {'day' if days == 1 else 'days'} ago"


def _pair(value: object, path: str, parse: Callable[[object, str], object]) -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise ConditionError(path, f"`between` needs [min, max], got {_show(value)}")
    low, high = parse(value[0], f"{path}[0]"), parse(value[1], f"{path}[1]")
    if _sort_key(low) > _sort_key(high):
        raise ConditionError(path, "`between` needs min <= max")
    return low, high


def _sort_key(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _when(value: object, path: str) -> date | datetime:
    """An ISO-8601 date (a whole UTC day) or datetime (naive = UTC)."""
    text = _string(value, path)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        message = f"expected an ISO-8601 date or datetime, got {_show(value)}"
        raise ConditionError(path, message) from None
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


def _when_literal(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return moment.isoformat()


def _enum(enum: EnumDef, value: object, path: str) -> str:
    """The canonical enum value; the original's spellings (`4K`, `Dolby Vision`, `tv`) too."""
    text = _string(value, path)
    canonical = enum.canonical(text) or dict(enum.aliases).get(fold(text).strip())
    if canonical is None:
        suggestion = enum.suggest(text)
        hint = f'; did you mean "{suggestion}"?' if suggestion else ""
        raise ConditionError(path, f"{_show(value)} is not one of {', '.join(enum.values)}{hint}")
    return canonical


def _regex_escape(text: str) -> str:
    return _REGEX_SPECIAL.sub(r"\\\1", text)


# --- Fields ----------------------------------------------------------------------------------

_NULL_OPS = {  # the original's `is_empty` aliases included
    "is_null": True,
    "is_empty": True,
    "is_not_null": False,
    "is_not_empty": False,
}
_ORDER = {
    "greater_than": ">",
    "less_than": "<",
    "greater_than_or_equal": ">=",
    "less_than_or_equal": "<=",
}
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
_NUMERIC = ("equals", "not_equals", *_ORDER, "between", *_NULL_OPS)
_ENUM_OPS = ("equals", "not_equals", "in", "not_in", *_NULL_OPS)
_STRING = (*_ENUM_OPS, "contains", "not_contains", "regex_match", "starts_with", "ends_with")
_LIST = ("contains_any", "contains_all", "not_contains", "matches_any", "matches_all", *_NULL_OPS)

# How a leaf's DSL form treats a null subject: "false" (==, in) is safe unless negated, "warn"
# (ordering, !=, not in) always gets a guard, "safe" (contains, matches, ...) stays unknown.
_Leaf = tuple[_Expr, str]
_Titles = Mapping[int, str] | None  # collection id -> title


@dataclass(frozen=True)
class _Field:
    """How one of the original's fields reads in the DSL: `kind` picks the converter, `dsl` is
    the subject (a field, a call or `count(...)`)."""

    kind: str
    dsl: str = ""
    unit: str = ""  # number: the DSL unit of the original's number (`GiB`, `min`)
    enum: EnumDef | None = None
    also: tuple[str, ...] = ()  # list: more DSL lists searched together with `dsl`

    @property
    def nullable(self) -> bool:
        spec = CORE.fields.get(self.dsl)
        return spec is not None and spec.type.nullable


_FIELDS: dict[str, _Field] = {
    "title": _Field("string", "title"),
    "type": _Field("enum", "type", enum=MEDIA_TYPE),
    "year": _Field("number", "year"),
    "days_since_added": _Field("days", "added"),
    "days_since_watched": _Field("days", "last_watched"),
    "play_count": _Field("number", "play_count"),
    "size_gb": _Field("number", "size", unit="GiB"),
    "resolution": _Field("enum", "resolution", enum=RESOLUTION),
    "resolution_number": _Field("number", "resolution_height"),
    "video_codec": _Field("string", "video_codec"),
    "codec": _Field("string", "video_codec"),
    "audio_codec": _Field("string", "audio_codec"),
    "hdr": _Field("enum", "hdr", enum=HDR),
    "bitrate": _Field("number", "bitrate"),
    "rating_imdb": _Field("number", "rating.imdb"),
    "rating_tmdb": _Field("number", "rating.tmdb"),
    "rating_rt": _Field("number", "rating.rt"),
    "content_rating": _Field("string", "content_rating"),
    "watched_by_user": _Field("watched_by_user"),
    "watched_by": _Field("users", "watched_by"),
    "watched_by_count": _Field("number", "count(watched_by)"),
    "never_watched": _Field("never_watched", "play_count"),
    "last_watched_at": _Field("date", "last_watched"),
    "collection_membership": _Field("collection", "collections"),
    "genres": _Field("list", "genres"),
    "tags": _Field("list", "tags", also=("labels",)),
    "studio": _Field("string", "studio"),
    "runtime_minutes": _Field("number", "runtime", unit="min"),
    "season_count": _Field("number", "season_count"),
    "episode_count": _Field("number", "episode_count"),
    "series_status": _Field("enum", "series_status", enum=SERIES_STATUS),
    "original_language": _Field("string", "original_language"),
    "requested_by": _Field("string", "requested_by"),
}


def subjects() -> dict[str, tuple[str, str, str]]:
    """The original's fields as the DSL reads them: name -> (kind, DSL subject, unit)."""
    return {name: (f.kind, f.dsl, f.unit) for name, f in _FIELDS.items()}


_OPERATORS: dict[str, tuple[str, ...]] = {
    "number": _NUMERIC,
    "days": _NUMERIC,
    "date": _NUMERIC,
    "string": _STRING,
    "users": _STRING,
    "enum": _ENUM_OPS,
    "list": _LIST,
    "never_watched": ("equals", "not_equals"),
    "watched_by_user": ("ever_watched", "never_watched", "watched_since", "not_watched_since"),
    "collection": ("in_collection_id", "in_any_protected", "not_in_any_protected"),
}


@dataclass(frozen=True)
class _Condition:
    """One leaf of the input, with the means to read its value and report problems."""

    field: _Field
    operator: str
    value: object
    params: object
    path: str
    collections: _Titles

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"


def _compare(s: str, op: str, operand: str) -> _Expr:
    return _atom(f"{s} {op} {operand}")


def _numeric(c: _Condition) -> _Leaf:
    """NUMERIC operators on a number (`size` in GiB, `runtime` in minutes)."""
    f, s, op = c.field, c.field.dsl, c.operator

    def lit(number: float) -> str:
        return f"{_fmt(number)} {f.unit}".rstrip()

    if op == "between":
        low, high = _pair(c.value, c.at("value"), _number)
        return _join("and", [_compare(s, ">=", lit(low)), _compare(s, "<=", lit(high))]), "warn"
    value = lit(_number(c.value, c.at("value")))
    if op == "equals":
        return _compare(s, "==", value), "false"
    if op == "not_equals":
        return _compare(s, "!=", value), "warn"
    return _compare(s, _ORDER[op], value), "warn"


def _days(c: _Condition) -> _Leaf:
    """NUMERIC operators on days since a datetime: `> N` is `< N days ago`; `equals N` and
    `between` take whole days, as the original counted them (floored)."""
    s, op = c.field.dsl, c.operator

    def days(value: object, path: str) -> float:
        number = _number(value, path)
        if number < 0:
            raise ConditionError(path, f"a number of days cannot be negative, got {_fmt(number)}")
        return number

    if op in _ORDER:
        return _compare(s, _FLIP[_ORDER[op]], _days_ago(days(c.value, c.at("value")))), "warn"
    if op == "between":
        low, high = _pair(c.value, c.at("value"), days)
    else:
        low = high = days(c.value, c.at("value"))
    if op == "not_equals":
        outside = [_compare(s, ">", _days_ago(low)), _compare(s, "<=", _days_ago(high + 1))]
        return _join("or", outside), "warn"
    window = [_compare(s, "<=", _days_ago(low)), _compare(s, ">", _days_ago(high + 1))]
    return _join("and", window), "warn"


def _next_day(day: date, path: str) -> str:
    try:
        return (day + timedelta(days=1)).isoformat()
    except OverflowError:
        raise ConditionError(path, "the date is out of range") from None


def _date(c: _Condition) -> _Leaf:
    """NUMERIC operators on a datetime; a date without a time stands for that whole UTC day."""
    s, op, path = c.field.dsl, c.operator, c.at("value")
    if op == "between":
        low, high = _pair(c.value, path, _when)
    else:
        low = high = _when(c.value, path)
    whole_day = not isinstance(high, datetime)
    if op in _ORDER:
        symbol = _ORDER[op]
        if whole_day and symbol in (">", "<="):  # after / up to the end of that day
            return _compare(s, {">": ">=", "<=": "<"}[symbol], _next_day(high, path)), "warn"
        return _compare(s, symbol, _when_literal(high)), "warn"
    if op == "equals" and not whole_day:
        return _compare(s, "==", _when_literal(high)), "false"
    if op == "not_equals" and not whole_day:
        return _compare(s, "!=", _when_literal(high)), "warn"
    end = _next_day(high, path) if whole_day else _when_literal(high)
    if op == "not_equals":
        window = [_compare(s, "<", _when_literal(low)), _compare(s, ">=", end)]
        return _join("or", window), "warn"
    upper = _compare(s, "<", end) if whole_day else _compare(s, "<=", end)
    return _join("and", [_compare(s, ">=", _when_literal(low)), upper]), "warn"


def _text_value(c: _Condition, kind: str) -> str:
    """The value as a DSL literal: a string (`v`), a list (`vs`), a pattern (`re`) or a pattern
    for a substring, a prefix or a suffix (`sub`, `pre`, `suf`)."""
    path = c.at("value")
    if kind == "vs":
        return _list_literal(_strings(c.value, path))
    exact = c.operator in ("equals", "not_equals")
    text = _string(c.value, path, None if exact else "an empty string would match every item")
    escaped = _regex_escape(text)
    patterns = {"re": text, "sub": escaped, "pre": f"^{escaped}", "suf": f"{escaped}$"}
    return _literal(patterns.get(kind, text))


# Templates per operator: `{s}` is the subject, the other name the value's form (`_text_value`).
_STRING_FORMS = {
    "equals": ("{s} == {v}", "false"),
    "not_equals": ("{s} != {v}", "warn"),
    "in": ("{s} in {vs}", "false"),
    "not_in": ("{s} not in {vs}", "warn"),
    "contains": ("{s} contains {v}", "safe"),
    "not_contains": ("not ({s} contains {v})", "safe"),
    "regex_match": ("{s} matches {re}", "safe"),
    "starts_with": ("{s} starts with {v}", "safe"),
    "ends_with": ("{s} ends with {v}", "safe"),
}
# The viewer set: "watched by someone who ...".
_USER_FORMS = {
    "equals": ("{v} in {s}", "safe"),
    "not_equals": ("{v} not in {s}", "safe"),
    "in": ("{s} contains any {vs}", "safe"),
    "not_in": ("not ({s} contains any {vs})", "safe"),
    "contains": ("{s} matches {sub}", "safe"),
    "not_contains": ("not ({s} matches {sub})", "safe"),
    "regex_match": ("{s} matches {re}", "safe"),
    "starts_with": ("{s} matches {pre}", "safe"),
    "ends_with": ("{s} matches {suf}", "safe"),
}
_FORM_VALUE = re.compile(r"\{(v|vs|re|sub|pre|suf)\}")


def _templated(forms: dict[str, tuple[str, str]]) -> Callable[[_Condition], _Leaf]:
    def convert(c: _Condition) -> _Leaf:
        template, null = forms[c.operator]
        kind = _FORM_VALUE.search(template).group(1)
        text = template.format(s=c.field.dsl, **{kind: _text_value(c, kind)})
        return _atom(text, "not" if text.startswith("not ") else None), null

    return convert


def _enum_leaf(c: _Condition) -> _Leaf:
    path, enum, s = c.at("value"), c.field.enum, c.field.dsl
    if c.operator in ("in", "not_in"):
        values = [_enum(enum, v, f"{path}[{i}]") for i, v in enumerate(_strings(c.value, path))]
        op = "in" if c.operator == "in" else "not in"
        return _compare(s, op, _list_literal(values)), "false" if op == "in" else "warn"
    op = "==" if c.operator == "equals" else "!="
    return _compare(s, op, _literal(_enum(enum, c.value, path))), "false" if op == "==" else "warn"


def _list_leaf(c: _Condition) -> _Leaf:
    """LIST operators (`matches_*` are the original's aliases of `contains_*`); `tags` searches
    our `tags` and `labels`, since the original merged Plex labels and *arr tags."""
    names = (c.field.dsl, *c.field.also)
    values = _strings(c.value, c.at("value"))
    if c.operator in ("contains_all", "matches_all"):
        if len(names) == 1:
            return _compare(names[0], "contains all", _list_literal(values)), "safe"
        each = [_join("or", [_compare(n, "contains", _literal(v)) for n in names]) for v in values]
        return _join("and", each), "safe"
    single = len(values) == 1
    op, operand = ("contains", _literal(values[0])) if single else ("contains any", None)
    anyof = _join("or", [_compare(n, op, operand or _list_literal(values)) for n in names])
    return (_not(anyof) if c.operator == "not_contains" else anyof), "safe"


def _never_watched(c: _Condition) -> _Leaf:
    if not isinstance(c.value, bool):
        raise ConditionError(c.at("value"), f"expected true or false, got {_show(c.value)}")
    never = c.value == (c.operator == "equals")
    return _compare("play_count", "==" if never else ">", "0"), "safe"


def _watched_by_user(c: _Condition) -> _Leaf:
    """Per-user watches: `params.username`, and `params.days` for the `*_since` operators."""
    params = c.params if isinstance(c.params, Mapping) else None
    if params is None:
        raise ConditionError(c.at("params"), "expected {username, days}")
    name = _string(params.get("username"), c.at("params.username"), "give the user's name")
    user = _literal(name)
    if c.operator == "ever_watched":
        return _atom(f"watched_by_user({user})", "call"), "safe"
    if c.operator == "never_watched":
        return _not(_atom(f"watched_by_user({user})", "call")), "safe"
    days = _number(params.get("days"), c.at("params.days"))
    if days < 0:
        raise ConditionError(c.at("params.days"), "a number of days cannot be negative")
    last = f"last_watched_by({user})"
    if c.operator == "watched_since":
        since = [_atom(f"{last} is not null"), _compare(last, ">=", _days_ago(days))]
        return _join("and", since), "safe"
    return _join("or", [_atom(f"{last} is null"), _compare(last, "<", _days_ago(days))]), "safe"


def _collection(c: _Condition) -> _Leaf:
    if c.operator != "in_collection_id":
        raise ConditionError(
            c.at("operator"),
            f"`{c.operator}` is not supported: items in protected collections are always "
            "shielded from deletion here (they are `protected` in the DSL), so drop the "
            "condition; `in_collection_id` selects the members of one collection",
        )
    value = c.value
    cid = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    title = (c.collections or {}).get(cid) if isinstance(cid, int) else None
    if isinstance(cid, bool) or title is None:
        raise ConditionError(c.at("value"), f"no collection with id {_show(value)}")
    return _compare("collections", "contains", _literal(title)), "safe"


_CONVERTERS: dict[str, Callable[[_Condition], _Leaf]] = {
    "number": _numeric,
    "days": _days,
    "date": _date,
    "string": _templated(_STRING_FORMS),
    "users": _templated(_USER_FORMS),
    "enum": _enum_leaf,
    "list": _list_leaf,
    "never_watched": _never_watched,
    "watched_by_user": _watched_by_user,
    "collection": _collection,
}


def _null_check(f: _Field, positive: bool) -> _Expr:
    """`is null` as the original meant it: absent, or an empty list."""
    if f.kind in ("list", "users"):
        names = (f.dsl, *f.also)
        exprs = [_compare(n, "==" if positive else "!=", "[]") for n in names]
        return _join("and" if positive else "or", exprs)
    return _atom(f"{f.dsl} is {'' if positive else 'not '}null")


# --- The tree --------------------------------------------------------------------------------


def _choose(what: str, name: object, choices: list[str], path: str, context: str = "") -> None:
    """Check a name against `choices`, suggesting the closest on a miss."""
    if name in choices:
        return
    if not isinstance(name, str):
        raise ConditionError(path, f"expected {what} name, got {_show(name)}")
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`?" if close else f"expected one of: {', '.join(choices)}"
    raise ConditionError(path, f"unknown {what} `{name}`{context}; {hint}")


def _leaf(node: object, path: str, negated: bool, collections: _Titles) -> _Expr:
    if not isinstance(node, Mapping):
        raise ConditionError(path, f"expected a condition object, got {_show(node)}")
    name = node.get("field")
    _choose("field", name, list(_FIELDS), f"{path}.field")
    f = _FIELDS[name]
    operator = node.get("operator")
    operators = list(_OPERATORS[f.kind])
    _choose("operator", operator, operators, f"{path}.operator", f" for `{name}`")
    if operator in _NULL_OPS:
        return _null_check(f, _NULL_OPS[operator])
    condition = _Condition(f, operator, node.get("value"), node.get("params"), path, collections)
    expr, null = _CONVERTERS[f.kind](condition)
    if f.nullable and (null == "warn" or (null == "false" and negated)):
        if negated:  # inside NOT: true for null, so the NOT is false
            return _join("or", [_atom(f"{f.dsl} is null"), expr])
        return _join("and", [_atom(f"{f.dsl} is not null"), expr])
    return expr


class _Count:
    """The conditions met so far; ConditionError at the first one past MAX_CONDITIONS."""

    def __init__(self) -> None:
        self.seen = 0

    def add(self, path: str) -> None:
        self.seen += 1
        if self.seen > MAX_CONDITIONS:
            raise ConditionError(
                path,
                f"the tree has more than {MAX_CONDITIONS:,} conditions; split it into several "
                "rules",
            )


def _node(
    node: object, path: str, depth: int, negated: bool, collections: _Titles, count: _Count
) -> _Expr:
    if depth > MAX_DEPTH:
        raise ConditionError(path, f"conditions are nested more than {MAX_DEPTH} levels deep")
    if not isinstance(node, Mapping):
        raise ConditionError(path, f"expected a group or a condition object, got {_show(node)}")
    kind = node.get("kind")
    if kind == "condition":
        count.add(path)
        return _leaf(node, path, negated, collections)
    if kind != "group":
        raise ConditionError(f"{path}.kind", f'expected "group" or "condition", got {_show(kind)}')
    logic = node.get("logic")
    if logic not in ("AND", "OR", "NOT"):
        raise ConditionError(f"{path}.logic", f'expected "AND", "OR" or "NOT", got {_show(logic)}')
    children = _children(node.get("children"), f"{path}.children")
    inner = negated != (logic == "NOT")
    exprs = [
        _node(child, f"{path}.children[{i}]", depth + 1, inner, collections, count)
        for i, child in enumerate(children)
    ]
    joined = _join("or" if logic == "OR" else "and", exprs, group=True)
    return _not(joined) if logic == "NOT" else joined


def _children(children: object, path: str) -> list:
    if not isinstance(children, list):
        raise ConditionError(path, f"expected a list of conditions, got {_show(children)}")
    if not children:
        raise ConditionError(
            path,
            "the group is empty; the original matched the whole library for an empty group, "
            "so add at least one condition",
        )
    return children


def _legacy(conditions: object, path: str, logic: str, collections: _Titles) -> _Expr:
    """v1: a flat list of `{field, operator, value}` joined by `logic`."""
    leaves, count = [], _Count()
    for i, c in enumerate(_children(conditions, path)):
        count.add(f"{path}[{i}]")
        leaves.append(_leaf(c, f"{path}[{i}]", False, collections))
    return _join("or" if logic == "OR" else "and", leaves, group=True)


def _root(conditions: object, where: str, collections: _Titles) -> _Expr:
    if isinstance(conditions, list):
        return _legacy(conditions, where, "AND", collections)
    if not isinstance(conditions, Mapping):
        raise ConditionError(
            where, f"expected a condition tree or a list of conditions, got {_show(conditions)}"
        )
    if "root" in conditions:
        version = conditions.get("version", 2)
        if version != 2:
            raise ConditionError(f"{where}.version", f"unsupported version {_show(version)}")
        return _node(conditions["root"], f"{where}.root", 1, False, collections, _Count())
    if "conditions" in conditions:
        logic = conditions.get("logic", "AND")
        if logic not in ("AND", "OR"):
            raise ConditionError(f"{where}.logic", f'expected "AND" or "OR", got {_show(logic)}')
        return _legacy(conditions["conditions"], f"{where}.conditions", logic, collections)
    raise ConditionError(where, "expected `root` (version 2) or `conditions` (version 1)")


def to_dsl(
    conditions: object,
    where: str = "conditions",
    *,
    collections: Mapping[int, str] | None = None,
) -> str:
    """One DSL condition for the original's JSON condition tree (v2, untagged `{root}`, v1 list
    or `{conditions, logic}`), one top-level clause per line. `collections` maps collection ids
    to titles for `in_collection_id`. Raises ConditionError naming the place of a problem."""
    expr = _root(conditions, where, collections)
    if expr.op not in ("and", "or"):
        return expr.text
    first, *rest = expr.parts
    return "\n".join([first, *(f"{expr.op} {part}" for part in rest)])
