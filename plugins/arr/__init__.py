"""What the Radarr and Sonarr plugins share: both speak the *arr v3 API, with the same auth, error
shapes, tags, disk space, root folders and system status. Here is their wiring; `client` holds the
client plumbing (typed reads of upstream JSON, "already gone" handling for actions) and
`emulator` the emulator base, which only emulating processes import."""

from __future__ import annotations

from prunerr.config import Setting
from prunerr.sdk import LibraryManager
from prunerr_plugins.wiring import ServicePlugin, url_key_plugin

API = "/api/v3"


def arr_plugin(
    kind: str, app: str, port: int, what: str, client: type[LibraryManager], emulator: str
) -> ServicePlugin:
    """The plugin of an *arr, configured by `<KIND>_URL` and `<KIND>_API_KEY`."""
    env = kind.upper()
    return url_key_plugin(
        kind,
        f"{app}: {what}",
        Setting(
            "url", f"Base URL of {app}, e.g. http://{kind}:{port}", env=f"{env}_URL", kind="url"
        ),
        Setting(
            "api_key",
            f"{app} API key (Settings > General > Security).",
            env=f"{env}_API_KEY",
            secret=True,
        ),
        client,
        emulator,
    )
