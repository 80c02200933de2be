"""Rules endpoints: thin doors onto `prunerr.rules.rulebook` (storage), `prunerr.planning` (previews
and suggestions) and `prunerr.planning.evaluation` (runs).

A rule travels as JSON with its condition in the DSL (`when`) and the keys of a rule file in
camelCase; the original Prunerr's spellings and condition trees are accepted on input. API rules
are stored as rule-file YAML, which `GET /api/rules/:id/export` hands out for `rules.d`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import falcon
import yaml

from prunerr import wire
from prunerr.compat import rules as compat
from prunerr.compat.conditions import ConditionError, to_dsl
from prunerr.compat.trees import to_tree, tree_text
from prunerr.dsl import EvalContext, SourceMap, compile_condition
from prunerr.dsl.diagnostics import Located
from prunerr.dsl.explain import Explanation
from prunerr.dsl.units import DAY, format_size
from prunerr.planning import RulePlan, library_index, plan
from prunerr.rules import KEYS, Rule
from prunerr.rules.model import MAX_GRACE_DAYS, Invalid
from prunerr.rules.rulebook import BookRule, RuleError
from prunerr.store import collections, items
from prunerr.store.activity import USER
from prunerr.store.items import LibraryItem, listing_title
from prunerr.store.rules import API_PREFIX

from . import params
from .errors import ApiError, invalid, ok

SAMPLES = 10
# JSON name -> rule-file key (the original's spellings: below)
INPUT = {
    "name": "name",
    "description": "description",
    "mediaType": "media",
    "libraries": "libraries",
    "when": "when",
    "kind": "kind",
    "deletionAction": "deletion_action",
    "gracePeriodDays": "grace_period",
    "resetOverseerr": "reset_overseerr",
    "importExclusion": "import_exclusion",
    "priority": "priority",
    "schedule": "schedule",
    "enabled": "enabled",
}
INPUT.update({alias: INPUT[name] for alias, name in compat.RULE_FIELDS.items()})
ONE_MEDIA = (
    "a rule has one media type (movie, show, season or episode); `all` is accepted when a rule "
    "is created or previewed (one rule per type)"
)
# the original's default scope, `all`: its movies and its shows
ALL_MEDIA = {"movie": "movies", "show": "shows"}


# --- JSON <-> rule files ----------------------------------------------------------------------


def rule_json(book_rule: BookRule, library_keys: Mapping[str, list[str]]) -> wire.Rule:
    """A rule, with the original's fields; `library_keys` maps library names to their keys."""
    r = book_rule.rule
    text = tree_text(r.when)
    return wire.Rule(
        id=book_rule.id,
        name=r.name,
        description=r.description,
        media_type=r.media,
        libraries=list(r.libraries),
        when=r.when.rstrip(),
        kind=r.kind,
        deletion_action=r.deletion_action,
        grace_period_days=_number(r.grace_period / DAY),
        reset_overseerr=r.reset_overseerr,
        import_exclusion=r.import_exclusion,
        priority=r.priority,
        schedule=r.schedule,
        enabled=r.enabled,
        source=book_rule.source,
        path=r.id,
        file=file_name(book_rule),
        read_only=book_rule.read_only,
        created_at=wire.iso(book_rule.created_at),
        updated_at=wire.iso(book_rule.updated_at),
        type=compat.rule_type(r.program.fields),
        action=r.kind,
        library_keys=[key for name in r.libraries for key in library_keys.get(name, ())],
        conditions=text,
        conditions_v2=None if text is None else json.loads(text),
    )


def library_keys(api) -> dict[str, list[str]]:
    """Each library's keys on the media servers, by name."""
    keys: dict[str, list[str]] = {}
    for name, key, _ in items.libraries(api.store):
        keys.setdefault(name, []).append(key)
    return keys


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def file_name(book_rule: BookRule) -> str | None:
    """A file rule's path under rules.d (`movies/stale-4k.yaml`)."""
    if not book_rule.read_only:
        return None
    return book_rule.rule.id + Path(book_rule.rule.path).suffix


def _file_value(name: str, key: str, value: object) -> object:
    """One JSON value as a rule file writes it, checked by the key's own parser."""
    if key == "media":
        if value == "all":
            return value  # `build_each` makes one rule per type of it
        value = compat.media_type(value)
    elif key == "libraries" and value is None:
        value = []
    elif key == "grace_period":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(name, f"expected a number of days, got {json.dumps(value)}")
        if not 0 <= value <= MAX_GRACE_DAYS:  # NaN and infinities too
            raise invalid(name, f"expected a number of days from 0 to {MAX_GRACE_DAYS}")
        value = f"{_number(value)}d"
    try:
        KEYS[key].parse(value)
    except Invalid as exc:
        raise invalid(name, str(exc)) from None
    return value


def file_values(api, body: object) -> tuple[dict[str, object], str]:
    """The rule-file keys a JSON body sets, and the field its condition came from (`when` or
    `conditions`). 400 naming the field for anything invalid."""
    if not isinstance(body, dict):
        raise invalid("body", "expected a JSON object")
    values: dict[str, object] = {}
    given: dict[str, str] = {}
    for name, value in body.items():
        key = INPUT.get(name)
        if key is None:  # the original's other fields (type, action, profileId) mean nothing here
            continue
        if key in given:
            raise invalid(name, f"given twice, also as `{given[key]}`")
        given[key] = name
        values[key] = _file_value(name, key, params.nul_free(value, name))
        if name in compat.LIBRARY_KEYS:
            values[key] = _library_names(api, values[key])
    try:
        tree = compat.condition_tree(body)
    except ConditionError as exc:
        raise invalid(exc.path, exc.message) from None
    if tree is None:
        return values, "when"
    if "when" in values:
        raise invalid("conditions", "give either `when` (the rule language) or `conditions`")
    try:
        values["when"] = to_dsl(tree, collections=_collection_titles(api))
    except ConditionError as exc:
        raise invalid(exc.path, exc.message) from None
    return values, "conditions"


def _library_names(api, given: list[str]) -> list[str]:
    """The libraries the original's client names by their keys: a library's key is its name
    here; a name stays itself."""
    known = items.libraries(api.store)
    names, by_key = {name for name, _, _ in known}, {key: name for name, key, _ in known}
    return list(dict.fromkeys(v if v in names else by_key.get(v, v) for v in given))


def _collection_titles(api) -> dict[int, str]:
    """Collection ids to titles, for the original's `in_collection_id`."""
    return {row["id"]: row["title"] for row in collections.rows(api.store)}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the condition, long descriptions) as `|` blocks."""


_Dumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def rule_file(values: Mapping[str, object]) -> str:
    """A rule file's text: the keys in their documented order, defaults left out."""
    kept = {
        key: values[key]
        for key, spec in KEYS.items()
        if key in values and (spec.required or spec.parse(values[key]) != spec.default)
    }
    kept["when"] = str(kept["when"]).rstrip() + "\n"
    return yaml.dump(kept, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _diagnostic(located: Located, field: str | None = None) -> wire.Diagnostic:
    d = located.diagnostic
    return wire.Diagnostic(
        field=field or wire.UNSET,
        file=wire.UNSET if field else located.path,
        code=d.code,
        severity=d.severity,
        message=d.message,
        line=located.line,
        column=located.column,
        end_line=located.end_line,
        end_column=located.end_column,
        hint=d.hint,
    )


def build(
    api, values: Mapping[str, object], source: str, rule_id: str = f"{API_PREFIX}new"
) -> tuple[str, Rule]:
    """The rule file for these values and its rule; 400 with positioned diagnostics when it does
    not load. The condition is compiled on its own first, so positions are within `when`."""
    for key, spec in KEYS.items():
        if spec.required and key not in values:
            name = {"media": "mediaType", "when": source}.get(key, key)
            raise invalid(name, ONE_MEDIA if key == "media" else "required")
    when = str(values["when"])
    compilation = compile_condition(when, api.book.catalog, str(values["media"]))
    errors = [d for d in compilation.diagnostics if d.is_error]
    if errors:
        where = SourceMap(when, source)
        details = [_diagnostic(where.locate(d), source) for d in compilation.diagnostics]
        origin = "the converted condition" if source == "conditions" else "when"
        raise ApiError(400, f"{origin}: {errors[0].message}", details)
    text = rule_file(values)
    try:
        return text, api.book.parse(text, rule_id)
    except RuleError as exc:
        raise ApiError(400, str(exc), [_diagnostic(d) for d in exc.diagnostics]) from None


def build_each(api, values: Mapping[str, object], source: str) -> list[tuple[str, Rule]]:
    """`build` for the media type the values name, or for each of `ALL_MEDIA` when it is `all`
    or not given (the original's default scope), named after its type; a type the condition
    does not apply to (a field of the other one) is left out, and when it applies to none,
    the first type's error is the answer."""
    if values.get("media", "all") != "all":
        return [build(api, values, source)]
    built, errors = [], []
    for media, plural in ALL_MEDIA.items():
        name = values.get("name")
        try:
            built.append(
                build(
                    api,
                    {**values, "media": media, **({"name": f"{name} ({plural})"} if name else {})},
                    source,
                    f"{API_PREFIX}new-{plural}",  # a plan is keyed by its rule's id
                )
            )
        except ApiError as exc:
            errors.append(exc)
    if not built:
        raise errors[0]
    return built


# --- previews ---------------------------------------------------------------------------------


def outcomes(
    api, rules: list[Rule], ctx: EvalContext, *, each_alone: bool = False
) -> dict[str, RulePlan]:
    """The plan a run would follow now (`planning.plan`, with every protection and the queue's
    state), keyed by rule id."""
    snapshot = api.library.snapshot()
    plans = plan(
        rules,
        snapshot.items,
        ctx,
        all_rules=api.book.rules(),
        queue=api.evaluator.queue,
        each_alone=each_alone,
        grouped=snapshot.grouped(),
    )
    return {p.rule.id: p for p in plans}


def unqueued_matches(p: RulePlan) -> tuple[int, int]:
    """(count, bytes) of the matches that are not queued already: the original's totals."""
    return p.matched - p.already_queued, p.matched_bytes - _size(p.pending)


def _size(items: list[LibraryItem]) -> int:
    return sum(i.size for i in items)


def _nodes(explanation: Explanation) -> Iterator[Explanation]:
    yield explanation
    for child in explanation.children:
        yield from _nodes(child)


def sample(item: LibraryItem, rule: Rule, ctx: EvalContext) -> wire.Sample:
    """One matched item with the field values that decided it."""
    explanation = rule.program.explain(item.fields, ctx)
    values = {n.text: n.shown for n in _nodes(explanation) if n.text in rule.program.fields}
    f = item.fields
    rating = next((f[k] for k in ("rating.imdb", "rating.tmdb") if f.get(k) is not None), None)
    return wire.Sample(
        id=item.id,
        title=listing_title(f["type"], item.title, item.display_title),
        display_title=item.display_title,
        type=f["type"],
        size=item.size,
        rating=rating,
        poster_url=None,
        reason=", ".join(f"{name} = {value}" for name, value in values.items()),
        values=values,
        explanation=explanation.as_dict(),
    )


def preview_json(api, rules: list[Rule]) -> wire.RulePreview:
    """What the rules would do now, together (the movies and the shows of an `all` preview)."""
    ctx = api.evaluator.context()
    found = outcomes(api, rules, ctx)
    plans = [found[rule.id] for rule in rules]
    matches = sum(unqueued_matches(p)[0] for p in plans)
    matched = sum(unqueued_matches(p)[1] for p in plans)
    queued = sum(p.queue_bytes for p in plans)
    top = sorted(
        ((item, p.rule) for p in plans for item in p.to_queue),
        key=lambda pair: (-pair[0].size, pair[0].id),
    )[:SAMPLES]
    return wire.RulePreview(
        total_matches=matches,
        would_queue=sum(p.would_queue for p in plans),
        would_skip_protected=sum(p.protected for p in plans),
        would_skip_deleted=sum(p.deleted_before for p in plans),
        would_skip_gone=sum(p.gone for p in plans),
        already_pending=sum(p.already_queued for p in plans),
        unknown=sum(p.unknown for p in plans),
        candidates=sum(p.candidates for p in plans),
        total_size=matched,
        total_size_formatted=format_size(matched),
        queue_size=queued,
        storage_freed_gb=round(queued / 1e9, 2),
        samples=[sample(item, rule, ctx) for item, rule in top],
    )


# --- suggestions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    icon: str
    media: tuple[str, ...]
    when: str


# The original's templates, written so that what they count is what the created rule matches.
TEMPLATES = (
    Template(
        "never-watched",
        "Never Watched",
        "Added over 30 days ago, never played",
        "download",
        ("movie", "show"),
        "play_count == 0\nand added < 30 days ago",
    ),
    Template(
        "watched-once",
        "Watched Once",
        "Played once, last over 60 days ago",
        "eye",
        ("movie", "show"),
        "play_count == 1\nand last_watched is not null\nand last_watched < 60 days ago",
    ),
    Template(
        "large-files",
        "Large Files",
        "Over 10 GiB, not watched (or added) in the last 30 days",
        "hard-drive",
        ("movie", "show"),
        "size > 10 GiB\nand last_watched ?? added < 30 days ago",
    ),
    Template(
        "stale",
        "Stale Content",
        "Not watched (or added) in the last 90 days",
        "clock",
        ("movie", "show"),
        "last_watched ?? added < 90 days ago",
    ),
    Template(
        "old-movies",
        "Old Movies",
        "Movies played once, last over 30 days ago",
        "film",
        ("movie",),
        "play_count == 1\nand last_watched is not null\nand last_watched < 30 days ago",
    ),
    Template(
        "completed-shows",
        "Ended TV Shows, Watched",
        "Series that have ended (Sonarr status: nothing more will air), were watched, and "
        "nobody has watched in the last 60 days",
        "tv",
        ("show",),
        'series_status == "ended"\nand last_watched is not null\nand last_watched < 60 days ago',
    ),
    Template(
        "low-quality",
        "Low Quality Files",
        "SD and 720p files",
        "monitor",
        ("movie", "show"),
        "resolution_height is not null\nand resolution_height < 1080",
    ),
    Template(
        "old-codec",
        "Old Codec Cleanup",
        "Movies encoded in H.264 or older codecs",
        "film",
        ("movie",),
        'video_codec in ["h264", "mpeg4", "mpeg2video", "vc1"]',
    ),
    Template(
        "classic-never-rewatched",
        "Classic Movies Never Rewatched",
        "Released before 2015, not watched (or added) in the last 180 days",
        "clock",
        ("movie",),
        "year is not null\nand year < 2015\nand last_watched ?? added < 180 days ago",
    ),
    Template(
        "large-4k-watched-once",
        "Large 4K Files Watched Once",
        "4K movies over 20 GiB played exactly once",
        "hard-drive",
        ("movie",),
        'resolution == "2160p"\nand play_count == 1\nand size > 20 GiB',
    ),
    Template(
        "low-play-count",
        "Rarely Watched",
        "Played fewer than 3 times, not watched (or added) in the last 90 days",
        "eye",
        ("movie", "show"),
        "play_count < 3\nand last_watched ?? added < 90 days ago",
    ),
)


def suggestions_json(api) -> wire.RuleSuggestions:
    """Each template per media type that matches something, counted by planning its rule."""
    rules: dict[str, tuple[Template, Rule]] = {}
    for t in TEMPLATES:
        for media in t.media:
            sid = t.id if len(t.media) == 1 else f"{t.id}-{media}s"
            text = rule_file({"name": t.name, "media": media, "when": t.when})
            rules[sid] = (t, api.book.parse(text, f"suggestions/{sid}"))
    templates = [rule for _, rule in rules.values()]
    found = outcomes(api, templates, api.evaluator.context(), each_alone=True)
    suggestions = []
    for sid, (t, rule) in rules.items():
        matches, matched = unqueued_matches(found[rule.id])
        if not matches:
            continue
        label = f" ({'movies' if rule.media == 'movie' else 'shows'})" if len(t.media) > 1 else ""
        tree = to_tree(t.when)
        suggestions.append(
            wire.Suggestion(
                id=sid,
                name=t.name + label,
                description=t.description,
                icon=t.icon,
                match_count=matches,
                total_size=matched,
                total_size_formatted=format_size(matched),
                media_type=rule.media,
                when=t.when,
                conditions=_flat(tree),
                conditions_v2=tree,
            )
        )
    stats = library_index.stats(api.library.snapshot())
    return wire.RuleSuggestions(
        suggestions=suggestions,
        library_stats=wire.LibraryTotals(
            total_items=stats.movies + stats.shows,
            movies=stats.movies,
            shows=stats.shows,
            total_size=stats.storage,
        ),
    )


def _flat(tree: dict | None) -> list[dict]:
    """The leaves of a tree that is one AND of them, as the original's `{field, operator,
    value}` list; [] for any other tree."""
    root = tree["root"] if tree else None
    if root is None or root["logic"] != "AND":
        return []
    if any(child["kind"] != "condition" for child in root["children"]):
        return []
    return [{k: v for k, v in c.items() if k != "kind"} for c in root["children"]]


def recommendations_json(api, days: int, limit: int) -> wire.Recommendations:
    """The movies and shows not watched (or, never watched, added) in `days`, that a rule
    saying so would queue now (not protected, not queued, watch data known): never watched
    first, then the longest unwatched, then the largest."""
    values = {"name": "Recommendations", "when": f"last_watched ?? added < {days} days ago"}
    rules = [rule for _, rule in build_each(api, values, "when")]
    found = outcomes(api, rules, api.evaluator.context())
    picked = sorted(
        (item for rule in rules for item in found[rule.id].to_queue),
        key=lambda i: (
            i.fields.get("play_count") != 0,
            i.fields.get("last_watched") or 0.0,
            -i.size,
            i.id,
        ),
    )
    now = api.clock()
    shown = [_recommendation(item, days, now) for item in picked[:limit]]
    return wire.Recommendations(
        items=shown,
        total=len(picked),
        total_reclaimable_space=sum(r.size for r in shown),
        criteria=wire.RecommendationCriteria(unwatched_days=days),
    )


def _recommendation(item: LibraryItem, days: int, now: float) -> wire.Recommendation:
    f = item.fields
    last, never = f.get("last_watched"), f.get("play_count") == 0
    return wire.Recommendation(
        id=item.id,
        title=listing_title(f["type"], item.title, item.display_title),
        display_title=item.display_title,
        type=compat.listed_type(f["type"]),
        size=item.size,
        poster_url=None,
        last_watched=wire.iso(last),
        days_since_watched=None if last is None else int((now - last) // DAY),
        never_watched=never,
        added_at=wire.iso(f.get("added")),
        play_count=f["play_count"],
        reason="Never watched" if never else f"Not watched in {days} days",
    )


class Recommendations:
    """GET `limit` (default 10), `unwatchedDays` (default 90): `recommendations_json`."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        days = params.integer(req, "unwatchedDays", 90, maximum=36500)
        limit = params.integer(req, "limit", 10, maximum=500)
        ok(resp, recommendations_json(self.api, days, limit))


# --- resources --------------------------------------------------------------------------------


def _body(req: falcon.Request) -> object:
    return params.json_media(req, None)


def _rule(api, rule_id: int, *, writable: bool = False) -> BookRule:
    book_rule = api.book.get(rule_id)
    if book_rule is None:
        raise ApiError(404, f"Rule not found: {rule_id}")
    if writable and book_rule.read_only:
        raise ApiError(
            409,
            f"Rule {book_rule.id} comes from rules.d/{file_name(book_rule)} and is read-only "
            "through the API: change the file (in git), then POST /api/rules/reload",
        )
    return book_rule


class RuleList:
    """GET: every rule (the enabled ones only at the original's `/api/rules/enabled`); POST
    creates one."""

    def __init__(self, api, enabled_only: bool = False):
        self.api = api
        self.enabled_only = enabled_only

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        keys = library_keys(self.api)
        rules = [
            rule_json(b, keys)
            for b in self.api.book.contents().rules.values()
            if b.rule.enabled or not self.enabled_only
        ]
        ok(resp, rules, total=len(rules))  # `total` beside `data`, as the original put it

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a rule, listed in `rules` beside it; `mediaType: all` (the original's
        default) creates one per type, `data` being the first."""
        values, source = file_values(self.api, _body(req))
        built = build_each(self.api, values, source)
        keys = library_keys(self.api)
        created = [rule_json(self.api.book.create(text), keys) for text, _ in built]
        message = "Rule created"
        if values.get("media", "all") == "all":
            kinds = " and ".join(ALL_MEDIA[rule.media] for _, rule in built)
            message = (
                f"Rule created for {kinds}" if len(built) == 1 else f"Rules created for {kinds}"
            )
        ok(resp, created[0], status=201, message=message, rules=created)


class RuleEntry:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: int) -> None:
        ok(resp, rule_json(_rule(self.api, rule_id), library_keys(self.api)))

    def on_put(self, req: falcon.Request, resp: falcon.Response, rule_id: int) -> None:
        """Change the given fields; the others keep their values."""
        book_rule = _rule(self.api, rule_id, writable=True)
        values, source = file_values(self.api, _body(req))
        if values.get("media") == "all":
            raise invalid("mediaType", ONE_MEDIA)
        current = yaml.safe_load(book_rule.text)
        if values.get("kind", current.get("kind")) == "protect":
            current = {k: v for k, v in current.items() if not KEYS[k].delete_only}
        text, _ = build(self.api, {**current, **values}, source)
        updated = self.api.book.update(book_rule.id, text)
        ok(resp, rule_json(updated, library_keys(self.api)), message="Rule updated")

    def on_delete(self, req: falcon.Request, resp: falcon.Response, rule_id: int) -> None:
        broken = self.api.book.contents().broken.get(rule_id)
        if broken is not None and broken.id.startswith(API_PREFIX):  # it no longer loads
            self.api.book.delete(rule_id)
            ok(resp, wire.Deleted(id=rule_id), message="Rule deleted")
            return
        book_rule = _rule(self.api, rule_id, writable=True)
        self.api.book.delete(book_rule.id)
        ok(resp, wire.Deleted(id=book_rule.id), message="Rule deleted")


class RuleToggle:
    """PATCH `{enabled?}`: enable or disable an API rule (without `enabled`: the other way)."""

    def __init__(self, api):
        self.api = api

    def on_patch(self, req: falcon.Request, resp: falcon.Response, rule_id: int) -> None:
        book_rule = _rule(self.api, rule_id, writable=True)
        wanted = params.decoded(req, wire.ToggleRule).enabled
        enabled = not book_rule.rule.enabled if wanted is None else wanted
        text, _ = build(self.api, {**yaml.safe_load(book_rule.text), "enabled": enabled}, "when")
        updated = self.api.book.update(book_rule.id, text)
        message = "Rule enabled" if enabled else "Rule disabled"
        ok(resp, rule_json(updated, library_keys(self.api)), message=message)


class RuleExport:
    """The rule as a rules.d file, to move it into git."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_id: int) -> None:
        book_rule = _rule(self.api, rule_id)
        name = file_name(book_rule) or _slug(book_rule.rule.name) + ".yaml"
        resp.content_type = "application/yaml"
        resp.downloadable_as = Path(name).name
        resp.text = book_rule.text


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "rule"


class RunRule:
    """Evaluate one delete rule now and queue its matches, as a scheduled run would."""

    own_sessions = True  # a run records and notifies as it goes, as a scheduled one does

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response, rule_id: int) -> None:
        book_rule = _rule(self.api, rule_id)
        if book_rule.rule.kind != "delete":
            raise ApiError(
                409,
                f"Rule {book_rule.id} is a protect rule: it shields items from delete rules, "
                "so there is nothing to run",
            )
        body = _body(req)
        body = {} if body is None else body
        if not isinstance(body, dict):
            raise invalid("body", "expected a JSON object")
        confirm = body.get("confirm", False)
        if not isinstance(confirm, bool):
            raise invalid("confirm", "expected true or false")
        confirm = confirm or params.choice(req, "confirm", ("true", "false")) == "true"
        (run,) = self.api.evaluator.run([book_rule.id], actor=USER, confirm=confirm)
        data = wire.RuleRun(
            **wire.rule_evaluation(run),
            rule=wire.RunRule(id=book_rule.id, name=run.name, action="delete"),
            summary=wire.RunSummary(
                total_scanned=run.candidates, matched=run.matched, processed=run.queued, failed=0
            ),
        )
        message = (
            f"Circuit breaker tripped: the rule would queue {run.held} "
            "items, more than the configured share of its candidates; nothing was queued. "
            "Run it again with confirm=true to queue them."
            if run.tripped
            else f"Rule executed: {run.queued} items marked for deletion"
        )
        ok(resp, data, message=message)


class RulePreview:
    """What a rule (DSL or condition tree) would do now, without saving it."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        values, source = file_values(self.api, _body(req))
        values.setdefault("name", "Preview")
        built = build_each(self.api, values, source)
        ok(resp, preview_json(self.api, [rule for _, rule in built]))


class RuleSuggestions:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ok(resp, suggestions_json(self.api))


class RuleReload:
    """Re-read rules.d; counts and the diagnostics of files that did not load."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        contents = self.api.book.reload()
        sources = [b.source for b in contents.rules.values()]
        diagnostics = [_diagnostic(d) for d in contents.diagnostics]
        ok(
            resp,
            wire.RulesReload(
                total=len(sources),
                files=sources.count("file"),
                api=sources.count("api"),
                errors=sum(d.severity == "error" for d in diagnostics),
                diagnostics=diagnostics,
            ),
            message="Rules reloaded",
        )
