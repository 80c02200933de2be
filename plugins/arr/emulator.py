"""The emulator base of the *arr plugins: an *arr v3 server with the endpoints Radarr and Sonarr
share, their error bodies and request validation, and the resources' shared pieces (qualities,
media info, languages)."""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

import falcon
import msgspec

from prunerr.dsl.units import DAY
from prunerr.emulation import Emulator, Faults, SyntheticLibrary, json_body
from prunerr_plugins.arr import API

if TYPE_CHECKING:
    from prunerr.emulation.synthetic import MediaInfo


LANGUAGES = {"English": 1, "French": 2, "Spanish": 3, "German": 4, "Japanese": 8, "Korean": 21}
VIDEO_CODECS = {
    "h264": "x264",
    "hevc": "x265",
    "av1": "AV1",
    "mpeg4": "XviD",
    "mpeg2video": "MPEG2",
    "vc1": "VC1",
}
AUDIO_CODECS = {
    "aac": "AAC",
    "ac3": "AC3",
    "eac3": "EAC3",
    "dts": "DTS",
    "truehd": "TrueHD",
    "flac": "FLAC",
}
HDR_TYPES = {
    "none": "",
    "hdr10": "HDR10",
    "hdr10+": "HDR10Plus",
    "dolby_vision": "DV",
    "hlg": "HLG",
}
FRAMES = {480: "720x480", 576: "720x576", 720: "1280x720", 1080: "1920x1080", 2160: "3840x2160"}
RELEASE_GROUP = "SYNTH"


def iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def language(name: str) -> dict:
    return (
        {"id": LANGUAGES[name], "name": name} if name in LANGUAGES else {"id": 0, "name": "Unknown"}
    )


def sort_title(title: str) -> str:
    lower = title.lower()
    return lower[4:] if lower.startswith("the ") else lower


def clean_title(title: str) -> str:
    return "".join(c for c in title.lower() if c.isalnum())


def quality(table: Mapping[str, tuple[int, str, str]], resolution: str, *, modifier: bool) -> dict:
    """A QualityModel from one app's quality table (resolution -> id, name, source)."""
    quality_id, name, source = table[resolution]
    model = {"id": quality_id, "name": name, "source": source, "resolution": int(resolution[:-1])}
    if modifier:
        model["modifier"] = "none"
    return {"quality": model, "revision": {"version": 1, "real": 0, "isRepack": False}}


def media_info(f: MediaInfo) -> dict:
    """The MediaInfoResource of a file."""
    hours, rest = divmod(f.runtime_s, 3600)
    minutes, seconds = divmod(rest, 60)
    runtime = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    return {
        "audioBitrate": 640_000,
        "audioChannels": 5.1,
        "audioCodec": AUDIO_CODECS[f.audio_codec],
        "audioLanguages": "eng",
        "audioStreamCount": 1,
        "videoBitDepth": 10 if f.hdr != "none" or f.video_codec in ("hevc", "av1") else 8,
        "videoBitrate": f.bitrate_kbps * 1000,
        "videoCodec": VIDEO_CODECS[f.video_codec],
        "videoFps": 23.976,
        "videoDynamicRange": "" if f.hdr == "none" else "HDR",
        "videoDynamicRangeType": HDR_TYPES[f.hdr],
        "resolution": FRAMES.get(f.height, f"{f.height * 16 // 9}x{f.height}"),
        "runTime": runtime,
        "scanType": "Progressive",
        "subtitles": "eng",
    }


def not_found(resp: falcon.Response, model: str, item_id: int) -> None:
    """A ModelNotFoundException through the *arr error pipeline (DELETE/PUT of unknown ids)."""
    message = f"{model} with ID {item_id} does not exist"
    json_body(
        resp,
        {
            "message": message,
            "description": f"NzbDrone.Core.Datastore.ModelNotFoundException: {message}\n"
            "   at NzbDrone.Core.Datastore.BasicRepository`1.Get(Int32 id)",
        },
        404,
    )


def bad_request(resp: falcon.Response, message: str) -> None:
    """A BadRequestException: `{"message": ...}` (the null description is not serialised)."""
    json_body(resp, {"message": message}, 400)


def invalid(resp: falcon.Response, prop: str, message: str, value: object, code: str) -> None:
    """A FluentValidation failure: a JSON array of failures."""
    json_body(
        resp,
        [
            {
                "propertyName": prop,
                "errorMessage": message,
                "attemptedValue": value,
                "severity": "error",
                "errorCode": code,
            }
        ],
        400,
    )


def crash(resp: falcon.Response, message: str = "Sequence contains no elements") -> None:
    """The 500 of an unhandled InvalidOperationException, e.g. a bulk endpoint's `.First()`
    when none of the given ids exist."""
    json_body(
        resp,
        {
            "message": message,
            "description": f"System.InvalidOperationException: {message}\n"
            "   at System.Linq.ThrowHelper.ThrowNoElementsException()",
        },
        500,
    )


def send_resource(resp: falcon.Response, resources: Mapping[int, dict], resource_id: int) -> None:
    """The resource with this id, else NotFound(): a 404 with an empty body."""
    if resource_id in resources:
        json_body(resp, resources[resource_id])
    else:
        resp.status = 404


def deletable(
    resp: falcon.Response, resources: Mapping[int, dict], model: str, resource_id: int
) -> bool:
    """Whether a DELETE names one of `resources`; if not, the request is answered: 400 for an
    invalid id, ModelNotFoundException for an unknown one."""
    if resource_id <= 0:
        bad_request(resp, f"{resource_id} is not a valid ID")
    elif resource_id not in resources:
        not_found(resp, model, resource_id)
    else:
        return True
    return False


def read_body(req: falcon.Request) -> object | None:
    """The JSON request body, or None when it is empty or unparseable."""
    raw = req.bounded_stream.read()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def is_id_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    )


def _typed_edit(body: dict) -> bool:
    """Whether a PUT body deserialises (the fields an edit reads have their JSON types)."""
    for key, kind in (("id", int), ("qualityProfileId", int), ("monitored", bool), ("path", str)):
        value = body.get(key)
        if value is not None and (
            not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        ):
            return False
    return body.get("tags") is None or is_id_list(body["tags"])


def read_edit(req: falcon.Request, resp: falcon.Response, route_id: int) -> tuple[int, dict] | None:
    """A PUT of a whole resource, validated like the *arr RestController: a body, a non-empty
    path, a quality profile id, a positive route id. Returns the target id (the body's, else the
    route's) and the body, or None when the request was answered with an error."""
    body = read_body(req)
    if not isinstance(body, dict) or not _typed_edit(body):
        bad_request(resp, "Request body can't be empty")
        return None
    path, profile = body.get("path"), body.get("qualityProfileId") or 0
    if not path:
        invalid(resp, "Path", "'Path' must not be empty.", path, "NotEmptyValidator")
    elif profile <= 0:
        invalid(
            resp,
            "QualityProfileId",
            "'Quality Profile Id' must be greater than '0'.",
            profile,
            "GreaterThanValidator",
        )
    elif route_id <= 0:
        bad_request(resp, f"{route_id} is not a valid ID")
    else:
        return body.get("id") or route_id, body
    return None


def apply_edit(resource: dict, body: dict) -> None:
    """Copy the editable fields both apps share. A missing `monitored` is true, as the
    resource's constructor defaults it."""
    resource["monitored"] = body.get("monitored", True)
    resource["qualityProfileId"] = body["qualityProfileId"]
    resource["path"] = body["path"]
    resource["tags"] = sorted(set(body.get("tags") or []))


class ArrEmulator(Emulator):
    """An *arr v3 server: auth, the endpoints both apps have (their items, media files and import
    exclusions among them) and the JSON caching of big listings. Subclasses build their state in
    `build`, name what differs in the class attributes and fill in the hooks below; every handler
    holds `self.state` while it reads or changes it (waitress serves from several threads)."""

    app_name: ClassVar[str] = ""
    version: ClassVar[str] = ""
    root: ClassVar[str] = ""  # the root folder of the media
    tagged: ClassVar[str] = ""  # the tag/detail key listing tagged items
    tag_detail_keys: ClassVar[tuple[str, ...]] = ()
    status_extra: ClassVar[Mapping[str, object]] = {}  # system/status fields of one app only
    model: ClassVar[str] = ""  # the items' resource, e.g. "Movie"; lowercased, its route
    external_id: ClassVar[str] = ""  # the key an item listing can be filtered by, e.g. "tmdbId"
    exclusion_param: ClassVar[str] = ""  # the DELETE query flag that excludes the item
    owner_key: ClassVar[str] = ""  # the query parameter listing one item's files, e.g. "movieId"
    file_model: ClassVar[str] = ""  # the file resource, e.g. "MovieFile"; lowercased, its route
    file_ids_key: ClassVar[str] = ""  # file ids in a query or a bulk body, e.g. "movieFileIds"
    exclusions_path: ClassVar[str] = ""  # the route of the import exclusions
    app_routes: ClassVar[tuple[tuple[str, str], ...]] = ()  # (path, responder suffix) of one app

    files: dict[int, dict]  # file id -> file resource, made by `build`
    exclusions: list[dict]  # made by `build`

    def __init__(self, library: SyntheticLibrary, api_key: str, faults: Faults | None = None):
        self.state = threading.RLock()
        self.tags = dict(library.tags)
        self._encoded: dict[int, bytes] = {}
        collecting = gc.isenabled()
        gc.disable()  # building many small dicts otherwise spends most of its time in the GC
        try:
            self.disk_used = self.build(library)
        finally:
            if collecting:
                gc.enable()
        self.disk_total = max(4 * 10**12, (self.disk_used * 3 // 2 // 10**12 + 1) * 10**12)
        super().__init__(library, api_key, faults)

    def build(self, library: SyntheticLibrary) -> int:
        """Build the state from the library; return the bytes its files take on disk."""
        raise NotImplementedError

    def managed_items(self) -> dict[int, dict]:
        """The items (movies, series) by id."""
        raise NotImplementedError

    def item_files(self, item_id: int) -> list[dict] | None:
        """The files of one item, or None when there is no such item."""
        raise NotImplementedError

    def edit_valid(self, body: dict) -> bool:
        """Whether the fields of an item PUT that only this app reads deserialise."""
        raise NotImplementedError

    # state changes, called with self.state held
    def edit_item(self, item_id: int, item: dict, body: dict) -> None:
        """Apply the fields of an item PUT that only this app edits (the shared ones are done)."""
        raise NotImplementedError

    def drop_item(self, item_id: int, delete_files: bool, exclude: bool) -> None:
        """Remove an item and its files; `delete_files` frees their disk space, `exclude` adds an
        import exclusion."""
        raise NotImplementedError

    def drop_file(self, file_id: int) -> None:
        """Delete a file and update its item."""
        raise NotImplementedError

    def authenticate(self, req: falcon.Request) -> bool:
        """Like ApiKeyAuthenticationHandler: the first key found (`apikey` query, `X-Api-Key`,
        then `Authorization: Bearer`) must match."""
        key = next((v for k, v in req.params.items() if k.lower() == "apikey"), None)
        if key is None:
            key = req.get_header("X-Api-Key")
        if key is None:
            scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
            key = token if scheme == "Bearer" else None
        return isinstance(key, str) and key == self.api_key

    def reject(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = 401
        resp.data = b""

    def routes(self, app: falcon.App) -> None:
        items, files = self.model.lower(), self.file_model.lower()
        for path, suffix in (
            ("system/status", "status"),
            ("tag", "tags"),
            ("tag/detail", "tag_details"),
            ("diskspace", "diskspace"),
            ("rootfolder", "rootfolders"),
            (items, "items"),
            (f"{items}/{{id:int}}", "item"),
            (files, "files"),
            (f"{files}/{{id:int}}", "file"),
            (f"{files}/bulk", "files_bulk"),
            (self.exclusions_path, "exclusions"),
            *self.app_routes,
        ):
            app.add_route(f"{API}/{path}", self, suffix=suffix)

    def send_cached(self, resp: falcon.Response, items: Iterable[tuple[int, dict]]) -> None:
        """A JSON array of resources, each encoded once and reused until `changed`."""
        parts = []
        for key, resource in items:
            data = self._encoded.get(key)
            if data is None:
                data = self._encoded[key] = msgspec.json.encode(resource)
            parts.append(data)
        resp.content_type = falcon.MEDIA_JSON
        resp.data = b"[" + b",".join(parts) + b"]"

    def changed(self, *keys: int) -> None:
        for key in keys:
            self._encoded.pop(key, None)

    def on_get_status(self, req: falcon.Request, resp: falcon.Response) -> None:
        started = iso(self.library.now - 3 * DAY)
        json_body(
            resp,
            {
                "appName": self.app_name,
                "instanceName": self.app_name,
                "version": self.version,
                "buildTime": iso(self.library.now - 60 * DAY),
                "isDebug": False,
                "isProduction": True,
                "isAdmin": False,
                "isUserInteractive": False,
                "startupPath": f"/app/{self.app_name.lower()}/bin",
                "appData": "/config",
                "osName": "ubuntu",
                "osVersion": "22.04",
                "isNetCore": True,
                "isLinux": True,
                "isOsx": False,
                "isWindows": False,
                "isDocker": True,
                "mode": "console",
                "branch": "main",
                "databaseType": "sqLite",
                "databaseVersion": "3.44.2",
                "authentication": "forms",
                "migrationVersion": 230,
                "urlBase": "",
                "runtimeVersion": "8.0.10",
                "runtimeName": ".NET",
                "startTime": started,
                "packageVersion": f"{self.version}-ls250",
                "packageAuthor": "[linuxserver.io](https://linuxserver.io)",
                "packageUpdateMechanism": "docker",
                **self.status_extra,
            },
        )

    def on_get_tags(self, req: falcon.Request, resp: falcon.Response) -> None:
        json_body(resp, [{"id": i, "label": label} for i, label in sorted(self.tags.items())])

    def on_get_tag_details(self, req: falcon.Request, resp: falcon.Response) -> None:
        usage: dict[int, list[int]] = {}
        with self.state:
            for item_id, item in self.managed_items().items():
                for tag in item["tags"]:
                    usage.setdefault(tag, []).append(item_id)
        json_body(
            resp,
            [
                {
                    "id": i,
                    "label": label,
                    **{k: [] for k in self.tag_detail_keys},
                    self.tagged: usage.get(i, []),
                }
                for i, label in sorted(self.tags.items())
            ],
        )

    def free_space(self) -> int:
        return self.disk_total - self.disk_used

    def on_get_diskspace(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.state:
            free = self.free_space()
        json_body(
            resp,
            [
                {
                    "path": "/",
                    "label": "",
                    "freeSpace": 12_423_028_736,
                    "totalSpace": 42_924_511_232,
                },
                {
                    "path": self.root,
                    "label": "media",
                    "freeSpace": free,
                    "totalSpace": self.disk_total,
                },
            ],
        )

    def on_get_rootfolders(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.state:
            free = self.free_space()
        json_body(
            resp,
            [
                {
                    "id": 1,
                    "path": self.root,
                    "accessible": True,
                    "freeSpace": free,
                    "unmappedFolders": [],
                }
            ],
        )

    def on_get_items(self, req: falcon.Request, resp: falcon.Response) -> None:
        """All items, or the first with the external id the query names."""
        wanted = req.get_param_as_int(self.external_id)
        with self.state:
            items = self.managed_items().items()
            if wanted is not None:
                items = [(k, item) for k, item in items if item[self.external_id] == wanted][:1]
            self.send_cached(resp, items)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with self.state:
            send_resource(resp, self.managed_items(), id)

    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        edit = read_edit(req, resp, id)
        if edit is None:
            return
        item_id, body = edit
        if not self.edit_valid(body):
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            item = self.managed_items().get(item_id)
            if item is None:
                not_found(resp, self.model, item_id)
                return
            apply_edit(item, body)
            self.edit_item(item_id, item, body)
            self.changed(item_id)
            json_body(resp, item, 202)  # Accepted(id), with the updated resource

    def on_delete_item(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with self.state:
            if not deletable(resp, self.managed_items(), self.model, id):
                return
            self.drop_item(
                id,
                req.get_param_as_bool("deleteFiles", default=False),
                req.get_param_as_bool(self.exclusion_param, default=False),
            )
        resp.status = 200

    def on_get_files(self, req: falcon.Request, resp: falcon.Response) -> None:
        item_id = req.get_param_as_int(self.owner_key)
        file_ids = req.get_param_as_list(self.file_ids_key, transform=int) or []
        with self.state:
            if item_id is not None:
                files = self.item_files(item_id)
                if files is None:
                    not_found(resp, self.model, item_id)
                else:
                    json_body(resp, files)
            elif file_ids:
                json_body(resp, [self.files[i] for i in file_ids if i in self.files])
            else:
                bad_request(resp, f"{self.owner_key} or {self.file_ids_key} must be provided")

    def on_get_file(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with self.state:
            send_resource(resp, self.files, id)

    def on_delete_file(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with self.state:
            if not deletable(resp, self.files, self.file_model, id):
                return
            self.drop_file(id)
        resp.status = 200

    def on_delete_files_bulk(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        ids = body.get(self.file_ids_key) if isinstance(body, dict) else None
        if not is_id_list(ids):
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            existing = [i for i in dict.fromkeys(ids) if i in self.files]
            if not existing:
                crash(resp)
                return
            for file_id in existing:
                self.drop_file(file_id)
        json_body(resp, {})

    def on_get_exclusions(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.state:
            json_body(resp, self.exclusions)
