"""The Plex plugin against its emulator over real HTTP: the PMS contract (specs, XML and JSON,
auth, paging, response customization), the client's records and keys against the synthetic
ground truth, fetches by key, faults and deletes."""

from __future__ import annotations

import dataclasses
import math
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import httpx
import pytest

import prunerr_plugins.plex as plex_plugin
from prunerr.emulation import Faults, SyntheticLibrary, generate
from prunerr.plugins import PluginHost
from prunerr.sdk import ExternalIds, MediaFile, Play, ServerItem, ServiceError
from prunerr_plugins.plex.client import (
    FILE_FIELDS,
    KEYS_PAGE_SIZE,
    METADATA_BATCH,
    PAGE_SIZE,
    PlexClient,
    server_item,
)
from prunerr_plugins.plex.emulator import PlexEmulator
from tests.plugins.openapi import assert_matches_spec
from tests.plugins.plex_xml import xml_container

pytestmark = pytest.mark.slow


TOKEN = "plex-token-0123456789abcdef"
V1 = "plex-api-spec.yaml"
LEGACY = "plex-media-server-spec-dereferenced-legacy.yaml"
ALL = ("GET", "/library/sections/{section:int}/all")
HISTORY = ("GET", "/status/sessions/history/all")
METADATA = ("GET", "/library/metadata/{ids}")
KEYS_ONLY = {"includeFields": "ratingKey,updatedAt", "includeElements": ""}
KIND = ("ratingKey", "type")
TAGS = ("Genre", "Guid")


@pytest.fixture(scope="module")
def library() -> SyntheticLibrary:
    return generate("XS", seed=7)


@pytest.fixture
def emulator(library):
    with PlexEmulator(library, TOKEN) as emu:
        yield emu


def client(emu: PlexEmulator, token: str = TOKEN, **options) -> PlexClient:
    options.setdefault("retries", 2)
    return PlexClient("plex", emu.url, token, backoff=0, sleep=lambda s: None, **options)


def get(
    emu: PlexEmulator,
    path: str,
    *,
    json: bool = True,
    token: str | None = TOKEN,
    headers: dict | None = None,
    **params,
) -> httpx.Response:
    sent = {"Accept": "application/json"} if json else {}
    if token is not None:
        sent["X-Plex-Token"] = token
    return httpx.get(emu.url + path, params=params, headers={**sent, **(headers or {})})


def container(emu: PlexEmulator, path: str, **params) -> dict:
    response = get(emu, path, **params)
    assert response.status_code == 200, response.text
    return response.json()["MediaContainer"]


def movies_of(library: SyntheticLibrary, section: str) -> list:
    four_k = section == "3"
    return [m for m in library.movies if (m.file.resolution == "2160p") == four_k]


def media_files(info, parts: int = 1) -> tuple[MediaFile, ...]:
    """A file as Plex lists it: in `parts` Parts, the first the largest, each with the whole
    file's runtime (the Media's duration)."""
    share = info.size // parts
    sizes = [info.size - share * (parts - 1)] + [share] * (parts - 1)
    stem = info.path.removesuffix(".mkv")
    return tuple(
        MediaFile(
            info.path if parts == 1 else f"{stem} - pt{n + 1}.mkv",
            size,
            info.resolution,
            info.height,
            info.video_codec,
            info.audio_codec,
            info.hdr,
            info.bitrate_kbps,
            info.runtime_s,
        )
        for n, size in enumerate(sizes)
    )


SHOW_IDS = {  # the ids a show's agent names: (tmdb, tvdb, imdb)
    "plex": lambda s: ExternalIds(s.tmdb_id, s.tvdb_id, s.imdb_id),
    "thetvdb": lambda s: ExternalIds(tvdb=s.tvdb_id),
    "hama-tvdb": lambda s: ExternalIds(tvdb=s.tvdb_id),
    "themoviedb": lambda s: ExternalIds(tmdb=s.tmdb_id),
    "hama-anidb": lambda s: ExternalIds(),
}
MOVIE_IDS = {
    "plex": lambda m: ExternalIds(tmdb=m.tmdb_id, imdb=m.imdb_id),
    "imdb": lambda m: ExternalIds(imdb=m.imdb_id),
    "themoviedb": lambda m: ExternalIds(tmdb=m.tmdb_id),
    "local": lambda m: ExternalIds(),
}
MEDIA_FIELDS = frozenset(
    {"size", "resolution", "resolution_height", "video_codec", "audio_codec", "hdr"}
    | {"bitrate", "runtime", "original_language"}
)


def movie_ratings(m) -> dict:
    """The ratings Plex gives of a movie, by the source its images name."""
    if m.agent != "plex":
        return {}
    by_source = {
        "rottentomatoes": {"rating_rt": m.rating_rt, "rating_rt_audience": m.rating_rt_audience},
        "imdb": {"rating_imdb": m.rating_imdb},
        "themoviedb": {"rating_tmdb": m.rating_tmdb},
    }[m.plex_ratings]
    return {k: float(v) for k, v in by_source.items() if v is not None}


def as_listed(item: ServerItem) -> ServerItem:
    """A record as a section listing gives it: no Stream elements, so no dynamic range and no
    language, both unread (fetches by key have them)."""
    if not item.files:
        return item
    return dataclasses.replace(
        item,
        files=tuple(dataclasses.replace(f, hdr=None) for f in item.files),
        original_language=None,
        unread=item.unread | {"hdr", "original_language"},
    )


def expected_items(
    library: SyntheticLibrary, section: str, fetched: bool = False
) -> list[ServerItem]:
    """The ground truth as the client should report it: as listed, or as fetched by key."""
    items = _expected_items(library, section)
    return items if fetched else [as_listed(item) for item in items]


def _expected_items(library: SyntheticLibrary, section: str) -> list[ServerItem]:
    if section != "2":
        return [
            ServerItem(
                str(m.rating_key),
                "movie",
                m.title,
                section,
                float(m.added),
                MOVIE_IDS[m.agent](m),
                m.year,
                files=media_files(m.file, m.parts) if m.listed_file else (),
                genres=m.genres,
                labels=m.labels,
                collections=(m.collection,) if m.collection else (),
                studio=m.studio,
                content_rating=m.content_rating,
                original_language=m.original_language if m.listed_file else None,
                updated=float(m.added) if m.stamped else None,
                unread=frozenset() if m.listed_file else MEDIA_FIELDS,
                **movie_ratings(m),
            )
            for m in movies_of(library, section)
        ]
    items = []
    for show in library.shows:
        ids = SHOW_IDS[show.agent](show)
        items.append(
            ServerItem(
                str(show.rating_key),
                "show",
                show.title,
                "2",
                float(show.added),
                ids,
                show.year,
                genres=show.genres,
                labels=show.labels,
                studio=show.network,
                content_rating=show.content_rating,
                rating_tmdb=show.rating if show.agent == "plex" else None,
                updated=float(show.added),
            )
        )
        named = ExternalIds() if show.agent == "plex" else ids  # a legacy guid names the show
        for season in show.seasons:
            items.append(
                ServerItem(
                    str(season.rating_key),
                    "season",
                    f"Season {season.number}" if season.number else "Specials",
                    "2",
                    float(min(e.added for e in season.episodes)),
                    named,
                    parent_key=str(show.rating_key),
                    index=season.number,
                    updated=float(show.added),
                    unread=frozenset({"year", "studio", "content_rating"}),
                )
            )
            items += [
                ServerItem(
                    str(e.rating_key),
                    "episode",
                    e.title,
                    "2",
                    float(e.added),
                    named,
                    year=time.gmtime(e.air_date).tm_year,
                    parent_key=str(season.rating_key),
                    grandparent_key=str(show.rating_key),
                    index=e.number,
                    files=media_files(e.file),
                    content_rating=show.content_rating,
                    original_language=show.original_language,
                    updated=float(e.added) if e.stamped else None,
                    unread=frozenset({"studio"}),
                )
                for e in season.episodes
            ]
    return items


def by_key(items) -> dict[str, ServerItem]:
    return {item.key: item for item in items}


def expected_keys(library: SyntheticLibrary, section: str) -> dict[str, float]:
    return {item.key: item.updated for item in expected_items(library, section)}


def library_of(plex: PlexClient, key: str):
    return next(lib for lib in plex.libraries() if lib.key == key)


# plugin wiring


def test_plugin_declares_plex_settings_and_builds_one_service_for_both_roles():
    host = PluginHost.create(load_entry_points=False)
    host.register(plex_plugin, "plex")
    config = host.load_config(
        env={
            "PLEX_URL": "http://plex:32400/",
            "PLEX_TOKEN": TOKEN,
            "PRUNERR_DATA_DIR": "/nonexistent",
        }
    )
    assert config.instances["plex"] == [
        {"name": "plex", "url": "http://plex:32400", "token": TOKEN}
    ]
    assert TOKEN not in str(config.public())
    services = host.services(config)
    [server] = services.with_role("media_server")
    assert services.with_role("watch_history") == [server]
    assert isinstance(server, PlexClient)
    spec = host.emulators().specs["plex"]
    assert spec.env("http://127.0.0.1:1", "t") == {
        "PLEX_URL": "http://127.0.0.1:1",
        "PLEX_TOKEN": "t",
    }


# contract: JSON against the specs, XML by default


def test_identity_and_server_info_match_the_spec(emulator):
    identity = get(emulator, "/identity", token=None).json()
    assert_matches_spec(V1, "/identity", identity)
    assert identity["MediaContainer"]["machineIdentifier"] == emulator.machine_identifier
    info = get(emulator, "/").json()
    assert_matches_spec(V1, "/", info)
    assert info["MediaContainer"]["allowMediaDeletion"] is True


def test_sections_match_the_spec_at_both_paths(emulator):
    legacy = get(emulator, "/library/sections").json()
    assert_matches_spec(LEGACY, "/library/sections", legacy)
    assert get(emulator, "/library/sections/all").json() == legacy
    # v1.1.1 types `hidden` as a boolean; PMS sends the 0/1/2 visibility the legacy spec
    # recorded, so everything else is checked against v1.1.1.
    for directory in legacy["MediaContainer"]["Directory"]:
        assert directory.pop("hidden") == 0
    assert_matches_spec(V1, "/library/sections/all", legacy)
    titles = {d["key"]: (d["title"], d["type"]) for d in legacy["MediaContainer"]["Directory"]}
    assert titles == {
        "1": ("Movies", "movie"),
        "2": ("TV Shows", "show"),
        "3": ("4K Movies", "movie"),
    }


@pytest.mark.parametrize(("section", "type_"), [("1", 1), ("3", 1), ("2", 2), ("2", 3), ("2", 4)])
def test_section_listings_match_the_spec(emulator, section, type_):
    path = f"/library/sections/{section}/all"
    body = get(emulator, path, type=type_, includeGuids=1).json()
    assert_matches_spec(V1, "/library/sections/{sectionId}/all", body)
    items = body["MediaContainer"]["Metadata"]
    assert {i["type"] for i in items} == {{1: "movie", 2: "show", 3: "season", 4: "episode"}[type_]}
    assert all(isinstance(i["ratingKey"], str) and isinstance(i["key"], str) for i in items)
    assert all(isinstance(i["addedAt"], int) for i in items)


def test_metadata_children_leaves_and_collections_match_the_spec(emulator, library):
    show = library.shows[0]
    season = show.seasons[0]
    movie = library.movies[0]
    keys = f"{movie.rating_key},{show.rating_key},{season.rating_key}"
    body = get(emulator, f"/library/metadata/{keys}").json()
    assert_matches_spec(V1, "/library/metadata/{ids}", body)
    assert [m["ratingKey"] for m in body["MediaContainer"]["Metadata"]] == keys.split(",")
    # new agents list ids in Guid elements (a season has none); legacy agents and HAMA none
    guids = [movie.agent == "plex", show.agent == "plex", False]
    assert ["Guid" in m for m in body["MediaContainer"]["Metadata"]] == guids
    for key in (show.rating_key, season.rating_key):
        children = get(emulator, f"/library/metadata/{key}/children").json()
        assert_matches_spec(LEGACY, "/library/metadata/{ratingKey}/children", children)
    leaves = get(emulator, f"/library/metadata/{show.rating_key}/allLeaves").json()
    assert_matches_spec(V1, "/library/metadata/{ids}/allLeaves", leaves)
    assert [m["ratingKey"] for m in leaves["MediaContainer"]["Metadata"]] == [
        str(e.rating_key) for e in show.episodes
    ]
    collections = get(emulator, "/library/sections/1/collections").json()
    assert_matches_spec(V1, "/library/sections/{sectionId}/collections", collections)
    first = collections["MediaContainer"]["Metadata"][0]
    items = get(emulator, f"/library/collections/{first['ratingKey']}/items").json()
    assert_matches_spec(V1, "/library/collections/{collectionId}/items", items)
    assert get(emulator, first["key"]).json() == items


def test_history_matches_both_specs(emulator):
    body = get(emulator, "/status/sessions/history/all", **{"X-Plex-Container-Size": 100}).json()
    assert_matches_spec(V1, "/status/sessions/history/all", body)
    assert_matches_spec(LEGACY, "/status/sessions/history/all", body)
    assert len(body["MediaContainer"]["Metadata"]) == 100


def test_accounts_have_the_system_accounts_shape(emulator, library):
    accounts = container(emulator, "/accounts")
    assert accounts["identifier"] == "com.plexapp.system.accounts"
    assert accounts["size"] == len(library.users) + 1
    first, owner = accounts["Account"][:2]
    assert (first["id"], first["name"]) == (0, "")
    assert owner == owner | {"id": 1, "key": "/accounts/1", "name": "owner"}


def test_xml_is_the_default_with_plex_elements_and_string_attributes(emulator, library):
    response = get(emulator, "/library/sections/3/all", json=False, includeGuids=1)
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "MediaContainer"
    assert root.get("totalSize") == str(len(movies_of(library, "3")))
    videos = root.findall("Video")
    assert videos and len(videos) == len(root)
    videos_by_key = {int(v.get("ratingKey")): v for v in videos}
    for movie in movies_of(library, "3"):
        video = videos_by_key[movie.rating_key]
        assert video.get("type") == "movie" and video.get("addedAt") == str(movie.added)
        guids = {g.get("id") for g in video.findall("Guid")}
        plain = {f"imdb://{movie.imdb_id}", f"tmdb://{movie.tmdb_id}"}
        assert guids == (plain if movie.agent == "plex" else set())
        if not movie.listed_file or movie.parts > 1:
            continue
        part = video.find("Media/Part")
        assert part.get("file") == movie.file.path and part.get("size") == str(movie.file.size)
        assert video.find("Media").get("videoResolution") == "4k"
        assert part.find("Stream") is None  # listings have none; fetches by key have them
        fetched = get(emulator, f"/library/metadata/{movie.rating_key}", json=False)
        stream = ET.fromstring(fetched.text).find("Video/Media/Part/Stream[@streamType='1']")
        assert (stream.get("DOVIPresent") == "1") == (movie.file.hdr == "dolby_vision")
        trc = {
            "hdr10": "smpte2084",
            "hdr10+": "smpte2084",
            "dolby_vision": "smpte2084",
            "hlg": "arib-std-b67",
            "none": "bt709",
        }[movie.file.hdr]
        assert stream.get("colorTrc") == trc
        assert ("HDR10+" in stream.get("displayTitle")) == (movie.file.hdr == "hdr10+")
    shows = ET.fromstring(get(emulator, "/library/sections/2/all", json=False).text)
    assert {e.tag for e in shows} == {"Directory"} and shows.find("Directory/Guid") is None
    sections = ET.fromstring(get(emulator, "/library/sections", json=False).text)
    assert sections.find("Directory/Location").get("path") == "/movies"
    history = ET.fromstring(get(emulator, "/status/sessions/history/all", json=False).text)
    assert {e.tag for e in history} == {"Video"}
    assert history.find("Video").get("historyKey").startswith("/status/sessions/history/")
    accounts = ET.fromstring(get(emulator, "/accounts", json=False).text)
    assert [a.get("id") for a in accounts.findall("Account")][:2] == ["0", "1"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/library/sections/1/all", {"type": 1}),
        ("/library/sections/2/all", {"type": 2}),
        ("/library/sections/2/all", {"type": 3}),
        ("/library/sections/2/all", {"type": 4}),
        ("/library/metadata/{ids}", {}),
    ],
)
@pytest.mark.parametrize(
    ("trim", "kept"),
    [
        (KEYS_ONLY, lambda name, element: name in ("ratingKey", "updatedAt")),
        ({"includeFields": "ratingKey,type"}, lambda name, element: element or name in KIND),
        ({"excludeFields": "title,guid"}, lambda name, element: name not in ("title", "guid")),
        ({"includeElements": "Genre,Guid"}, lambda name, element: not element or name in TAGS),
        ({"excludeElements": "Media"}, lambda name, element: name != "Media"),
    ],
    ids=["keys-only", "include-fields", "exclude-fields", "include-elements", "exclude-elements"],
)
def test_customized_answers_are_the_full_answer_trimmed(
    emulator, library, path, params, trim, kept
):
    """Items keep only the attributes and child elements asked for, in JSON and in XML (where
    they stay Video or Directory elements); the rest of the answer does not change. Plex's
    Metadata schema requires attributes a trimmed item may leave out, so the full answer is
    checked against the spec, and the trimmed one where it keeps the required attributes."""
    show = library.shows[0]
    some = (library.movies[0], show, show.seasons[0], show.seasons[0].episodes[0])
    path = path.format(ids=",".join(str(item.rating_key) for item in some))
    spec_path = "/library/sections/{sectionId}/all" if "/all" in path else "/library/metadata/{ids}"
    full = get(emulator, path, includeGuids=1, **params).json()
    assert_matches_spec(V1, spec_path, full)
    trimmed = get(emulator, path, includeGuids=1, **params, **trim).json()
    items = trimmed["MediaContainer"].pop("Metadata")
    full_items = full["MediaContainer"].pop("Metadata")
    assert trimmed == full
    assert items == [
        {k: v for k, v in item.items() if kept(k, isinstance(v, list))} for item in full_items
    ]
    if all({"addedAt", "key", "title", "type"} <= item.keys() for item in items):
        body = {"MediaContainer": {**full["MediaContainer"], "Metadata": items}}
        assert_matches_spec(V1, spec_path, body)
    root = ET.fromstring(get(emulator, path, json=False, includeGuids=1, **params, **trim).text)
    untrimmed = ET.fromstring(get(emulator, path, json=False, **params).text)
    assert [e.tag for e in root] == [e.tag for e in untrimmed]
    assert [(set(e.attrib), {c.tag for c in e}) for e in root] == [
        (
            {k for k, v in item.items() if not isinstance(v, list)},
            {k for k, v in item.items() if isinstance(v, list) and v},
        )
        for item in items
    ]


@pytest.mark.parametrize("section", ["1", "2", "3"])
def test_records_parsed_from_xml_equal_the_json_records(emulator, section):
    plex = client(emulator)
    library = library_of(plex, section)
    from_json = list(plex.items(library))
    from_xml = []
    for type_, kind in (
        ((1, "movie"),) if section != "2" else ((2, "show"), (3, "season"), (4, "episode"))
    ):
        xml = get(
            emulator, f"/library/sections/{section}/all", json=False, type=type_, includeGuids=1
        ).text
        from_xml += [server_item(m, section, kind) for m in xml_container(xml)["Metadata"]]
    assert from_xml == from_json


# auth


def test_a_wrong_token_gets_plex_401_page_and_a_service_error_without_the_token(emulator):
    for token in ("wrong-token", None):
        response = get(emulator, "/library/sections", token=token)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>401 Unauthorized</h1>" in response.text
    with pytest.raises(ServiceError, match="HTTP 401") as caught:
        client(emulator, "not-the-token").libraries()
    assert "not-the-token" not in str(caught.value)
    health = client(emulator, "not-the-token").health()
    assert not health.ok and "401" in health.message and "not-the-token" not in health.message


def test_the_token_and_paging_may_come_as_query_arguments(emulator, library):
    params = {"X-Plex-Token": TOKEN, "X-Plex-Container-Start": 2, "X-Plex-Container-Size": 3}
    by_query = get(emulator, "/library/sections/1/all", token=None, **params)
    headers = {k: str(v) for k, v in params.items() if k != "X-Plex-Token"}
    by_header = get(emulator, "/library/sections/1/all", headers=headers)
    assert by_query.status_code == 200 and by_query.json() == by_header.json()
    page = by_query.json()["MediaContainer"]
    assert (page["offset"], page["size"], page["totalSize"]) == (2, 3, len(movies_of(library, "1")))
    assert by_query.headers["X-Plex-Container-Start"] == "2"
    assert by_query.headers["X-Plex-Container-Total-Size"] == str(page["totalSize"])


def test_health_reports_the_version_and_a_disabled_media_deletion(emulator):
    health = client(emulator).health()
    assert health.ok and health.version == "1.41.6.9685-d301f511a" and health.message == "ok"
    assert health.response_ms is not None and health.response_ms >= 0
    emulator.allow_media_deletion = False
    assert "Allow media deletion" in client(emulator).health().message


# paging


def test_size_zero_gives_only_the_total_and_no_size_gives_everything(emulator, library):
    total = library.episode_count
    only_total = container(
        emulator, "/library/sections/2/all", type=4, **{"X-Plex-Container-Size": 0}
    )
    assert (only_total["size"], only_total["totalSize"]) == (0, total)
    assert "Metadata" not in only_total
    everything = container(emulator, "/library/sections/2/all", type=4)
    assert everything["size"] == total == len(everything["Metadata"])
    past_the_end = container(
        emulator, "/library/sections/2/all", type=4, **{"X-Plex-Container-Start": total + 5}
    )
    assert (past_the_end["size"], past_the_end["offset"]) == (0, total + 5)


def listing_requests(library: SyntheticLibrary, page_size: int) -> int:
    """Requests for every listing of every section: one per page, one for an empty listing."""
    sizes = [
        len(movies_of(library, "1")),
        len(movies_of(library, "3")),
        len(library.shows),
        sum(len(s.seasons) for s in library.shows),
        library.episode_count,
    ]
    return sum(max(1, math.ceil(n / page_size)) for n in sizes)


def test_a_library_listing_takes_one_request_per_page(emulator, library):
    plex = client(emulator, page_size=50)
    for key in ("1", "2", "3"):
        assert by_key(plex.items(library_of(plex, key))) == by_key(expected_items(library, key))
    assert emulator.requests[ALL] == listing_requests(library, 50)


def test_short_pages_from_the_server_still_give_the_whole_listing(emulator, library):
    emulator.page_limit = 7
    plex = client(emulator)
    items = list(plex.items(library_of(plex, "1")))
    assert by_key(items) == by_key(expected_items(library, "1"))
    assert emulator.requests[ALL] == math.ceil(len(items) / 7)


def test_a_listing_that_changes_while_paging_raises(emulator, library):
    plex = client(emulator, page_size=10)
    listing = plex.items(library_of(plex, "1"))
    first = [next(listing) for _ in range(10)]
    emulator.delete(int(first[0].key))
    with pytest.raises(ServiceError, match="changed while paging"):
        list(listing)


def test_keys_take_one_request_per_page_of_each_type(emulator, library):
    plex = client(emulator, keys_page_size=50)
    for key in ("1", "2", "3"):
        assert plex.keys(library_of(plex, key)) == expected_keys(library, key)
    assert emulator.requests[ALL] == listing_requests(library, 50)


def test_fetches_by_key_go_in_batches_of_a_hundred():
    library = generate("S", seed=5)
    with PlexEmulator(library, TOKEN) as emu:
        plex = client(emu)
        movies = library_of(plex, "1")
        keys = sorted(plex.keys(movies))[:250]
        items = list(plex.items(movies, keys))
    assert sorted(item.key for item in items) == keys
    assert emu.requests[METADATA] == math.ceil(250 / METADATA_BATCH) == 3


def test_a_medium_library_lists_in_one_request_per_thousand_items_and_keys_per_five_thousand():
    library = generate("M", seed=3)
    with PlexEmulator(library, TOKEN) as emu:
        plex = client(emu)
        libraries = plex.libraries()
        started = time.monotonic()
        keys = {lib.key: plex.keys(lib) for lib in libraries}
        keys_elapsed = time.monotonic() - started
        started = time.monotonic()
        items = {lib.key: list(plex.items(lib)) for lib in libraries}
        elapsed = time.monotonic() - started
    seasons = sum(len(show.seasons) for show in library.shows)
    count = len(library.movies) + len(library.shows) + seasons + library.episode_count
    assert sum(len(listed) for listed in items.values()) == count
    assert keys == {k: {i.key: i.updated for i in listed} for k, listed in items.items()}
    assert emu.requests[ALL] == (
        listing_requests(library, PAGE_SIZE) + listing_requests(library, KEYS_PAGE_SIZE)
    )
    assert elapsed < 60 and keys_elapsed < elapsed


# ground truth


@pytest.mark.parametrize("section", ["1", "2", "3"])
def test_items_match_the_synthetic_library(emulator, library, section):
    plex = client(emulator)
    items = list(plex.items(library_of(plex, section)))
    assert by_key(items) == by_key(expected_items(library, section))
    assert len(items) == len(by_key(items))


@pytest.mark.parametrize("section", ["1", "2", "3"])
def test_keys_are_every_item_with_its_update_time(emulator, library, section):
    plex = client(emulator)
    assert plex.keys(library_of(plex, section)) == expected_keys(library, section)
    assert emulator.requests[ALL] == (3 if section == "2" else 1)


def test_keys_read_past_attributes_and_elements_plex_sends_unasked(emulator, library):
    emulator.customizes = False
    movie = movies_of(library, "1")[0]
    del emulator.node(movie.rating_key)["updatedAt"]
    plex = client(emulator)
    keys = plex.keys(library_of(plex, "1"))
    assert keys == expected_keys(library, "1") | {str(movie.rating_key): None}


@pytest.mark.parametrize("section", ["1", "2", "3"])
def test_items_fetched_by_key_equal_the_listed_records(emulator, library, section):
    """With the streams listings lack: hdr and the language."""
    plex = client(emulator)
    of_section = library_of(plex, section)
    listed = by_key(plex.items(of_section))
    keys = list(plex.keys(of_section))
    fetched = by_key(plex.items(of_section, keys))
    assert fetched == by_key(expected_items(library, section, fetched=True))
    assert {k: as_listed(item) for k, item in fetched.items()} == listed
    kinds = {"movie"} if section != "2" else {"show", "season", "episode"}
    assert {item.type for item in fetched.values()} == kinds
    assert emulator.requests[METADATA] == math.ceil(len(keys) / METADATA_BATCH)


def test_keys_plex_does_not_have_in_the_library_are_left_out(emulator, library):
    plex = client(emulator)
    movies = library_of(plex, "1")
    movie, four_k = movies_of(library, "1")[0], movies_of(library, "3")[0]
    keys = [str(movie.rating_key), "999999999", str(four_k.rating_key), "x"]
    keys.append(str(library.shows[0].rating_key))
    assert [item.key for item in plex.items(movies, keys)] == [str(movie.rating_key)]
    assert get(emulator, "/library/metadata/999999998,999999999").status_code == 404
    assert list(plex.items(library_of(plex, "2"), ["999999998", "999999999"])) == []
    assert list(plex.items(movies, [])) == []
    assert emulator.requests[METADATA] == 3


def test_every_dynamic_range_and_resolution_is_read_from_the_streams():
    library = generate("S", seed=11)
    with PlexEmulator(library, TOKEN) as emu:
        plex = client(emu)
        mains = [
            i.files[0]
            for key in "13"
            for i in plex.items(library_of(plex, key), plex.keys(library_of(plex, key)))
            if i.files
        ]
    read = Counter((f.hdr, f.resolution) for f in mains)
    listed = [m for m in library.movies if m.listed_file]
    assert read == Counter((m.file.hdr, m.file.resolution) for m in listed)
    assert {hdr for hdr, _ in read} == {"none", "hdr10", "hdr10+", "dolby_vision", "hlg"}
    assert {resolution for _, resolution in read} == {"480p", "576p", "720p", "1080p", "2160p"}


def test_owner_view_counts_and_show_counts_follow_the_owner_s_completed_plays(emulator, library):
    owner = [p for p in library.plays if p.user_id == 1 and p.watched]
    movie = next(m for m in library.movies if any(p.rating_key == m.rating_key for p in owner))
    [meta] = container(emulator, f"/library/metadata/{movie.rating_key}")["Metadata"]
    views = [p.stopped for p in owner if p.rating_key == movie.rating_key]
    assert (meta["viewCount"], meta["lastViewedAt"]) == (len(views), max(views))
    unwatched = next(
        m for m in library.movies if not any(p.rating_key == m.rating_key for p in owner)
    )
    [meta] = container(emulator, f"/library/metadata/{unwatched.rating_key}")["Metadata"]
    assert "viewCount" not in meta and "lastViewedAt" not in meta
    show = library.shows[0]
    watched = {p.rating_key for p in owner}
    [meta] = container(emulator, f"/library/metadata/{show.rating_key}")["Metadata"]
    assert meta["leafCount"] == len(list(show.episodes))
    assert meta["childCount"] == len(show.seasons)
    assert meta["viewedLeafCount"] == sum(e.rating_key in watched for e in show.episodes)


def test_accounts_are_the_library_users(emulator, library):
    accounts = client(emulator).accounts()
    assert [(a.id, a.username) for a in accounts] == [
        (str(u.id), u.username) for u in library.users
    ]


def test_plays_are_the_completed_plays_oldest_first_by_username(emulator, library):
    plays = list(client(emulator, page_size=200).plays())
    watched = sorted((p for p in library.plays if p.watched), key=lambda p: (p.stopped, p.id))
    assert plays == [
        Play(
            str(p.id),
            library.user(p.user_id).username,
            str(p.rating_key),
            float(p.stopped),
            True,
            None if p.parent_rating_key is None else str(p.parent_rating_key),
            None if p.grandparent_rating_key is None else str(p.grandparent_rating_key),
        )
        for p in watched
    ]
    assert emulator.requests[HISTORY] == math.ceil(len(watched) / 200)


def test_plays_since_returns_only_later_views(emulator, library):
    watched = sorted(p.stopped for p in library.plays if p.watched)
    since = watched[len(watched) // 2]
    plays = list(client(emulator).plays(since=since))
    assert plays and all(p.viewed_at > since for p in plays)
    assert len(plays) == sum(stopped > since for stopped in watched)


def test_history_filters_by_account_section_item_and_time(emulator, library):
    watched = [p for p in library.plays if p.watched]
    show = library.shows[0]

    def rows(**params):
        return container(emulator, "/status/sessions/history/all", **params).get("Metadata", [])

    assert {r["accountID"] for r in rows(accountID=1)} == {1}
    assert len(rows(accountID=1)) == sum(p.user_id == 1 for p in watched)
    assert {r["type"] for r in rows(librarySectionID=2)} == {"episode"}
    assert len(rows(metadataItemID=show.rating_key)) == sum(
        p.grandparent_rating_key == show.rating_key for p in watched
    )
    moment = sorted(p.stopped for p in watched)[10]
    assert len(rows(**{"viewedAt>": moment})) == sum(p.stopped >= moment for p in watched)
    assert len(rows(**{"viewedAt>>": moment})) == sum(p.stopped > moment for p in watched)
    assert len(rows(**{"viewedAt<": moment})) == sum(p.stopped <= moment for p in watched)
    assert len(rows(**{"viewedAt<<": moment, "accountID": 1})) == sum(
        p.stopped < moment and p.user_id == 1 for p in watched
    )
    by_account = rows(sort="accountID,viewedAt:desc")
    assert [(r["accountID"], -r["viewedAt"]) for r in by_account] == sorted(
        (p.user_id, -p.stopped) for p in watched
    )
    newest = rows(sort="viewedAt:desc", **{"X-Plex-Container-Size": 5})
    assert [r["viewedAt"] for r in newest] == sorted((p.stopped for p in watched), reverse=True)[:5]
    assert get(emulator, "/status/sessions/history/all", sort="bogus").status_code == 400


# faults


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_rate=0.3, seed=1),
        Faults(rate_limit_rate=0.3, retry_after_s=0, seed=2),
        Faults(truncate_rate=0.3, seed=3),
        Faults(malformed_rate=0.3, seed=4),
        Faults(timeout_rate=0.2, timeout_s=0.3, seed=5),
    ],
    ids=["5xx", "429", "truncated", "malformed", "timeout"],
)
def test_transient_faults_are_retried_to_a_complete_listing(library, faults):
    with PlexEmulator(library, TOKEN, faults) as emu:
        plex = client(emu, retries=6, page_size=100, keys_page_size=50, timeout=0.2)
        shows = library_of(plex, "2")
        items = list(plex.items(shows))
        keys = plex.keys(shows)
        fetched = list(plex.items(shows, keys))
        plays = list(plex.plays())
    assert by_key(items) == by_key(expected_items(library, "2"))
    assert by_key(fetched) == by_key(expected_items(library, "2", fetched=True))
    assert keys == expected_keys(library, "2")
    assert len(plays) == sum(p.watched for p in library.plays)


def test_a_page_that_keeps_failing_raises_instead_of_ending_the_listing(emulator):
    plex = client(emulator, page_size=10)
    listing = plex.items(library_of(plex, "1"))
    next(listing)
    emulator.faults = Faults(error_rate=1.0)
    with pytest.raises(ServiceError, match="HTTP 5"):
        list(listing)


def test_keys_raise_instead_of_returning_part_of_the_library(library):
    faults = Faults(error_rate=0.3, path_pattern="/all$", seed=0)  # the 4th page fails
    with PlexEmulator(library, TOKEN, faults) as emu:
        plex = client(emu, retries=0, keys_page_size=5)
        with pytest.raises(ServiceError, match=r"/library/sections/1/all\b.*\(?HTTP 5"):
            plex.keys(library_of(plex, "1"))
        assert emu.request_total == 5


def test_a_body_that_never_parses_raises(library):
    emu = PlexEmulator(library, TOKEN, Faults(malformed_rate=1.0))
    with emu, pytest.raises(ServiceError, match="malformed JSON"):
        client(emu).libraries()


def test_bad_item_data_raises_a_service_error_naming_the_call(emulator, library):
    movie = movies_of(library, "1")[0]
    del emulator.node(movie.rating_key)["addedAt"]
    plex = client(emulator)
    with pytest.raises(
        ServiceError,
        match=rf"GET /library/sections/1/all\?type=1: item "
        rf"{movie.rating_key}: missing 'addedAt'",
    ):
        list(plex.items(library_of(plex, "1")))
    emulator.node(movie.rating_key).update(addedAt=1, Guid=[{"id": "tmdb://abc"}])
    with pytest.raises(ServiceError, match="tmdb://abc is not a number"):
        list(plex.items(library_of(plex, "1")))
    emulator.node(movie.rating_key).update(Guid=[], Media=[{"Part": ["not an object"]}])
    with pytest.raises(ServiceError, match="'Part' is not a list of objects"):
        list(plex.items(library_of(plex, "1")))
    with pytest.raises(
        ServiceError,
        match=rf"GET /library/metadata/{{1 ids from {movie.rating_key}}}: item "
        rf"{movie.rating_key}: 'Part' is not a list of objects",
    ):
        list(plex.items(library_of(plex, "1"), [str(movie.rating_key)]))
    emulator.updated[movie.rating_key] = "soon"
    with pytest.raises(
        ServiceError,
        match=rf"GET /library/sections/1/all\?type=1: item "
        rf"{movie.rating_key}: 'updatedAt' is not a number",
    ):
        plex.keys(library_of(plex, "1"))


# state changes


def test_touch_changes_the_update_time_and_nothing_else(emulator, library):
    plex = client(emulator)
    movie = movies_of(library, "1")[0]
    emulator.touch(movie.rating_key, 2_000_000_000)  # before its metadata is built
    assert plex.keys(library_of(plex, "1"))[str(movie.rating_key)] == 2e9
    shows = library_of(plex, "2")
    show = library.shows[0]
    season, episode = show.seasons[0], show.seasons[0].episodes[0]
    before_keys, before = plex.keys(shows), by_key(plex.items(shows))
    path = f"/library/metadata/{show.rating_key},{episode.rating_key}"
    raw = container(emulator, path)
    emulator.touch(show.rating_key, 2_000_000_001)
    emulator.touch(str(episode.rating_key), 2_000_000_002)
    touched = {str(show.rating_key): 2_000_000_001.0, str(episode.rating_key): 2_000_000_002.0}
    after_keys = plex.keys(shows)
    assert after_keys == before_keys | touched
    after = {k: dataclasses.replace(item, updated=after_keys[k]) for k, item in before.items()}
    assert by_key(plex.items(shows)) == after
    changed = [*touched, str(season.rating_key)]
    fetched = by_key(plex.items(shows, changed))
    assert {k: as_listed(item) for k, item in fetched.items()} == {k: after[k] for k in changed}
    for old, new in zip(raw["Metadata"], container(emulator, path)["Metadata"], strict=True):
        assert new == old | {"updatedAt": touched[old["ratingKey"]]}


def test_deleting_a_show_removes_it_with_its_seasons_and_episodes(emulator, library):
    show = library.shows[1]
    gone = (
        {show.rating_key}
        | {s.rating_key for s in show.seasons}
        | {e.rating_key for e in show.episodes}
    )
    plex = client(emulator)
    assert plex.delete(str(show.rating_key)) is True
    keys = {int(i.key) for i in plex.items(library_of(plex, "2"))}
    assert keys and not keys & gone
    for key in (show.rating_key, show.seasons[0].rating_key):
        response = get(emulator, f"/library/metadata/{key}")
        assert response.status_code == 404 and "<h1>404 Not Found</h1>" in response.text
    assert plex.delete(str(show.rating_key)) is False
    history = container(
        emulator, "/status/sessions/history/all", metadataItemID=show.rating_key
    ).get("Metadata", [])
    assert len(history) == sum(
        p.watched and p.grandparent_rating_key == show.rating_key for p in library.plays
    )


def test_deleting_an_episode_updates_its_season_and_show_counts(emulator, library):
    show = library.shows[0]
    season = show.seasons[0]
    episode = season.episodes[0]
    assert client(emulator).delete(str(episode.rating_key))
    [meta] = container(emulator, f"/library/metadata/{season.rating_key}")["Metadata"]
    assert meta["leafCount"] == len(season.episodes) - 1
    [meta] = container(emulator, f"/library/metadata/{show.rating_key}")["Metadata"]
    assert meta["leafCount"] == len(list(show.episodes)) - 1
    children = container(emulator, f"/library/metadata/{season.rating_key}/children")
    assert str(episode.rating_key) not in {m["ratingKey"] for m in children["Metadata"]}


def test_deleting_a_movie_removes_it_from_its_collection(emulator, library):
    movie = next(m for m in movies_of(library, "1") if m.collection)
    members = [m for m in movies_of(library, "1") if m.collection == movie.collection]
    collections = container(emulator, "/library/sections/1/collections")["Metadata"]
    [entry] = [c for c in collections if c["title"] == movie.collection]
    assert entry["childCount"] == len(members)
    assert client(emulator).delete(str(movie.rating_key))
    path = f"/library/collections/{entry['ratingKey']}/children"
    if len(members) == 1:
        assert get(emulator, path).status_code == 404
    else:
        assert {m["ratingKey"] for m in container(emulator, path)["Metadata"]} == {
            str(m.rating_key) for m in members if m is not movie
        }


def test_deletes_are_refused_while_media_deletion_is_off(emulator, library):
    movie = library.movies[0]
    emulator.allow_media_deletion = False
    response = httpx.delete(
        f"{emulator.url}/library/metadata/{movie.rating_key}", headers={"X-Plex-Token": TOKEN}
    )
    assert response.status_code == 403 and "<h1>403 Forbidden</h1>" in response.text
    with pytest.raises(ServiceError, match="Allow media deletion"):
        client(emulator).delete(str(movie.rating_key))
    assert get(emulator, f"/library/metadata/{movie.rating_key}").status_code == 200
    emulator.allow_media_deletion = True
    assert client(emulator).delete(str(movie.rating_key)) is True


def test_unknown_ids_and_paths_get_plex_404_pages(emulator):
    for path in (
        "/library/metadata/999999999",
        "/library/metadata/999999999/children",
        "/library/sections/9/all",
        "/library/collections/5/children",
        "/nope",
    ):
        response = get(emulator, path)
        assert response.status_code == 404, path
        assert response.text.endswith("<h1>404 Not Found</h1></body></html>")
    response = httpx.delete(
        f"{emulator.url}/library/metadata/999999999", headers={"X-Plex-Token": TOKEN}
    )
    assert response.status_code == 404


# what real servers send: every agent's identity, unread fields, ratings by their source

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "plex"
SHOW_TVDB = ExternalIds(tvdb=81189)


def item_of(kind: str, **attributes) -> dict:
    """A listed item with the required attributes and the given ones (None drops one)."""
    meta = {"ratingKey": "101", "type": kind, "title": "A Title", "addedAt": 1_600_000_000}
    meta.update(attributes)
    return {k: v for k, v in meta.items() if v is not None}


@pytest.mark.parametrize(
    ("kind", "guid", "guids", "ids"),
    [
        (
            "movie",
            "plex://movie/5d7768ba96b655001fdc0408",
            ["imdb://tt0133093", "tmdb://603"],
            ExternalIds(tmdb=603, imdb="tt0133093"),
        ),
        (
            "movie",
            "com.plexapp.agents.imdb://tt0133093?lang=en",
            None,
            ExternalIds(imdb="tt0133093"),
        ),
        ("movie", "com.plexapp.agents.themoviedb://603?lang=en", None, ExternalIds(tmdb=603)),
        ("movie", "local://4021", None, ExternalIds()),
        ("movie", "com.plexapp.agents.none://4021?lang=xn", None, ExternalIds()),
        (
            "show",
            "plex://show/5d9c086c46115600200aa2fe",
            ["imdb://tt0903747", "tmdb://1396", "tvdb://81189"],
            ExternalIds(1396, 81189, "tt0903747"),
        ),
        ("show", "com.plexapp.agents.thetvdb://81189?lang=en", None, SHOW_TVDB),
        ("season", "com.plexapp.agents.thetvdb://81189/2?lang=en", None, SHOW_TVDB),
        ("episode", "com.plexapp.agents.thetvdb://81189/2/5?lang=en", None, SHOW_TVDB),
        ("episode", "com.plexapp.agents.thetvdbdvdorder://81189/2/5?lang=de", None, SHOW_TVDB),
        ("show", "com.plexapp.agents.themoviedb://1396?lang=en", None, ExternalIds(tmdb=1396)),
        ("episode", "com.plexapp.agents.themoviedb://1396/1/1?lang=en", None, ExternalIds(1396)),
        ("show", "com.plexapp.agents.hama://tvdb-81189?lang=en", None, SHOW_TVDB),
        ("episode", "com.plexapp.agents.hama://tvdb2-81189/2/5?lang=en", None, SHOW_TVDB),
        ("show", "com.plexapp.agents.hama://anidb-5101?lang=en", None, ExternalIds()),
        ("episode", "com.plexapp.agents.hama://anidb-5101/1/3?lang=en", None, ExternalIds()),
        # a new agent's episode lists its own ids, not its show's
        (
            "episode",
            "plex://episode/5d9c1275e98e47001eb84029",
            ["imdb://tt0959621", "tmdb://62085", "tvdb://349232"],
            ExternalIds(),
        ),
        ("season", "plex://season/602e67e61d3358002c411c5d", None, ExternalIds()),
    ],
)
def test_every_agent_plex_has_shipped_names_the_title_s_ids(kind, guid, guids, ids):
    guid_list = {"Guid": [{"id": g} for g in guids]} if guids else {}
    assert server_item(item_of(kind, guid=guid, **guid_list), "1", kind).ids == ids


def test_recorded_legacy_agent_items_are_identified_and_rated_by_their_source():
    """Home Assistant's recorded listings: a movie of the legacy IMDb agent with Rotten Tomatoes
    ratings, a TheTVDB show, and an episode whose Media lacks its Part."""
    movies = xml_container((RECORDED / "library_movies_all.xml").read_text())["Metadata"]
    movie = server_item(movies[0], "1", "movie")
    assert movie.ids == ExternalIds(imdb="tt0123456")
    assert (movie.rating_rt, movie.rating_rt_audience, movie.rating_tmdb) == (90.0, 95.0, None)
    assert movie.files == () and {"size", "resolution", "hdr"} <= movie.unread
    [show] = xml_container((RECORDED / "library_tvshows_all.xml").read_text())["Metadata"]
    show_item = server_item(show, "2", "show")
    assert show_item.ids == ExternalIds(tvdb=12345)
    assert (show_item.rating_imdb, show_item.rating_tmdb) == (None, None)  # no stated source
    [episode] = xml_container((RECORDED / "children_20.xml").read_text())["Metadata"]
    episode_item = server_item(episode, "2", "episode")
    assert episode_item.ids == ExternalIds(tvdb=12345)
    assert "size" in episode_item.unread and "studio" in episode_item.unread


MEDIA = {"videoResolution": "1080", "height": 1080, "videoCodec": "h264", "audioCodec": "aac"}
MEDIA_READ = {**MEDIA, "bitrate": 9000, "duration": 7_200_000}
VIDEO = {"streamType": 1, "colorTrc": "bt709"}
AUDIO = {"streamType": 2, "default": True, "language": "English"}


@pytest.mark.parametrize(
    ("media", "unread"),
    [
        (None, MEDIA_FIELDS),
        ([], MEDIA_FIELDS),
        ([{**MEDIA_READ}], MEDIA_FIELDS),  # a Media without its Part: no file
        ([{**MEDIA_READ, "Part": [{"file": "/m/a.mkv"}]}], {"size", "hdr", "original_language"}),
        (
            [{**MEDIA_READ, "Part": [{"file": "/m/a.mkv", "size": 9, "Stream": [VIDEO, AUDIO]}]}],
            set(),
        ),
        ([{**MEDIA, "Part": [{"size": 9, "Stream": [VIDEO, AUDIO]}]}], {"bitrate", "runtime"}),
        ([{"Part": [{"size": 9, "Stream": [VIDEO, AUDIO]}]}], set(FILE_FIELDS)),
        ([{**MEDIA_READ, "Part": [{"size": 9, "Stream": [AUDIO]}]}], {"hdr"}),
        (
            [{**MEDIA_READ, "Part": [{"size": 9, "Stream": [VIDEO, {"streamType": 2}]}]}],
            {"original_language"},
        ),
        (
            [{**MEDIA_READ, "Part": [{"size": 9, "Stream": [VIDEO, AUDIO]}, {"file": "/m/b"}]}],
            {"size"},
        ),
    ],
    ids=[
        "no-media",
        "empty-media",
        "no-part",
        "no-size-no-streams",
        "all-read",
        "no-bitrate-or-duration",
        "no-media-attributes",
        "no-video-stream",
        "audio-without-language",
        "one-part-without-size",
    ],
)
def test_what_a_listing_does_not_say_of_an_item_s_files_is_unread(media, unread):
    """Fields made from Media, Part and Stream elements are unread, never 0 or none, when
    the element or the attribute is missing: a movie listed without its Media has no size."""
    movie = server_item(
        item_of("movie", year=2000, studio="A", contentRating="R", Media=media), "1", "movie"
    )
    assert movie.unread == frozenset(unread)
    assert "size" in movie.unread or movie.files[0].size == 9


def test_an_item_s_missing_attributes_are_unread_and_shows_have_no_file_fields():
    movie = server_item(item_of("movie", Media=[]), "1", "movie")
    assert {"year", "studio", "content_rating"} <= movie.unread
    show = server_item(item_of("show", year=2001, studio="HBO", contentRating="TV-MA"), "2", "show")
    assert show.unread == frozenset()
    season = server_item(item_of("season", index=None), "2", "season")
    assert "season_number" in season.unread


def test_every_part_of_every_media_is_a_file_the_largest_first():
    parts = [
        {"file": "/m/pt1.mkv", "size": 4, "Stream": [VIDEO]},
        {"file": "/m/pt2.mkv", "size": 6},
    ]
    media = [{**MEDIA_READ, "Part": parts}, {**MEDIA_READ, "Part": [{"file": "/m/v2", "size": 5}]}]
    movie = server_item(item_of("movie", Media=media), "1", "movie")
    assert [(f.path, f.size) for f in movie.files] == [
        ("/m/pt2.mkv", 6),
        ("/m/v2", 5),
        ("/m/pt1.mkv", 4),
    ]
    assert all(f.runtime_s == 7200 for f in movie.files)  # the Media's, not a part's


@pytest.mark.parametrize(
    ("attributes", "ratings"),
    [
        ({"rating": 8.7, "ratingImage": "rottentomatoes://image.rating.ripe"}, {"rt": 87.0}),
        ({"rating": 9.0, "ratingImage": "rottentomatoes://image.rating.certified"}, {"rt": 90.0}),
        ({"rating": 3.1, "ratingImage": "rottentomatoes://image.rating.rotten"}, {"rt": 31.0}),
        (
            {"audienceRating": 7.4, "audienceRatingImage": "rottentomatoes://image.rating.upright"},
            {"rt_audience": 74.0},
        ),
        (
            {"audienceRating": 4.2, "audienceRatingImage": "rottentomatoes://image.rating.spilled"},
            {"rt_audience": 42.0},
        ),
        ({"audienceRating": 7.3, "audienceRatingImage": "imdb://image.rating"}, {"imdb": 7.3}),
        ({"rating": 7.3, "ratingImage": "imdb://image.rating"}, {"imdb": 7.3}),
        (
            {"audienceRating": 6.9, "audienceRatingImage": "themoviedb://image.rating"},
            {"tmdb": 6.9},
        ),
        ({"rating": 7.0}, {}),  # a legacy agent's: no stated source
        ({"audienceRating": 7.0, "audienceRatingImage": "thetvdb://image.rating"}, {}),
    ],
)
def test_a_plex_rating_fills_only_the_field_of_the_source_its_image_names(attributes, ratings):
    item = server_item(item_of("movie", **attributes), "1", "movie")
    read = {
        name: getattr(item, f"rating_{name}")
        for name in ("imdb", "tmdb", "rt", "rt_audience")
        if getattr(item, f"rating_{name}") is not None
    }
    assert read == ratings


def test_items_without_an_update_time_have_none_in_the_light_listing(emulator, library):
    unstamped = [e for show in library.shows for e in show.episodes if not e.stamped]
    assert unstamped  # every generated library has some, as real episode listings do
    plex = client(emulator)
    keys = plex.keys(library_of(plex, "2"))
    assert {keys[str(e.rating_key)] for e in unstamped} == {None}
