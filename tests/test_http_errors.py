"""Failed calls in words: each test speaks to a real loopback server (or a closed port) and checks
that the message names the service, its address, the cause and the fix, and no credential."""

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager

import httpx
import pytest

from prunerr.emulation import generate
from prunerr.http import HttpClient, describe_failure, recorded_problems
from prunerr.sdk import ServiceError
from prunerr_plugins.plex.client import PlexClient
from prunerr_plugins.plex.emulator import PlexEmulator
from prunerr_plugins.radarr.client import RadarrClient
from prunerr_plugins.radarr.emulator import RadarrEmulator
from prunerr_plugins.sonarr.emulator import SonarrEmulator
from prunerr_plugins.tautulli.client import TautulliClient
from prunerr_plugins.tautulli.emulator import TautulliEmulator

KEY = "0123456789abcdef0123456789abcdef"
WRONG = "fedcba9876543210fedcba9876543210"


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=3)


def radarr(url: str, key: str = KEY, **options) -> RadarrClient:
    return RadarrClient("radarr", url, key, retries=0, **options)


def failure(call) -> str:
    with pytest.raises(ServiceError) as caught:
        call()
    return str(caught.value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(status: int = 200, body: bytes = b"", content_type: str = "text/html", tls=None):
    """A plain HTTP server answering every GET with one answer (over TLS with a context)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_closed_port_is_connection_refused_with_the_port_to_check():
    port = closed_port()
    message = failure(lambda: radarr(f"http://127.0.0.1:{port}").items())
    assert message.startswith(f"radarr: GET /api/v3/movie at http://127.0.0.1:{port}: ")
    assert f"connection refused: nothing is listening on 127.0.0.1:{port}" in message
    assert "Fix: check the port in the URL and that Radarr is running" in message
    assert "localhost is Prunerr's own container" in message


def test_credentials_in_the_url_are_masked():
    port = closed_port()
    message = failure(lambda: radarr(f"http://admin:pa55@127.0.0.1:{port}").items())
    assert f"http://********@127.0.0.1:{port}" in message
    assert "pa55" not in message and KEY not in message


def test_an_unknown_host_name_is_a_dns_failure():
    message = failure(lambda: radarr("http://radarr-typo.invalid:7878").items())
    assert "the host name 'radarr-typo.invalid'" in message
    assert "Fix: check the host name in the URL" in message


def test_https_on_a_plain_http_port_says_to_use_http():
    with serving(body=b"{}", content_type="application/json") as where:
        message = failure(lambda: radarr(f"https://{where}").items())
    assert f"https:// was used, but {where} answers plain HTTP" in message
    assert "Fix: use http:// in the URL" in message


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_self_signed_certificate_is_named_as_such(tmp_path):
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem")),
            *("-subj", "/CN=localhost"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    with serving(body=b"{}", tls=context) as where:
        message = failure(lambda: radarr(f"https://{where}").items())
    assert f"the TLS certificate of {where} is self-signed" in message
    assert "SSL_CERT_FILE" in message


def test_no_answer_in_time_is_a_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        where = f"127.0.0.1:{silent.getsockname()[1]}"
        message = failure(lambda: radarr(f"http://{where}", timeout=0.3).items())
    assert f"{where} accepted the connection but sent no answer within 0.3s" in message
    assert "timed out" in message and "Fix: check that Radarr responds" in message


def test_a_wrong_api_key_says_where_to_find_the_right_one(library):
    with RadarrEmulator(library, KEY) as emulator:
        message = failure(lambda: radarr(emulator.url, WRONG).items())
    assert "the API key was refused (HTTP 401)" in message
    assert "Radarr: Settings > General > Security" in message
    assert WRONG not in message


def test_a_wrong_plex_token_and_a_wrong_tautulli_key_are_refused_keys(library):
    with PlexEmulator(library, KEY) as emulator:
        plex = PlexClient("plex", emulator.url, WRONG, retries=0)
        assert "the token was refused (HTTP 401)" in failure(plex.libraries)
        assert "the token was refused" in plex.health().message
    with TautulliEmulator(library, KEY) as emulator:
        tautulli = TautulliClient("tautulli", emulator.url, WRONG, retries=0)
        message = failure(lambda: list(tautulli.plays()))
    assert "the API key was refused (Tautulli: Invalid apikey)" in message
    assert "Settings > Web Interface > API" in message and WRONG not in message


def test_a_sonarr_given_as_radarr_is_named(library):
    with SonarrEmulator(library, KEY) as emulator:
        client = radarr(emulator.url)
        message = failure(client.items)
        health = client.health()
    assert "GET /api/v3/movie" in message and "this address is Sonarr" in message
    assert "not Radarr. Fix: give Radarr's URL for radarr (this one is Sonarr's)" in message
    assert not health.ok and "this address is Sonarr" in health.message


def test_a_url_ending_in_api_says_to_remove_it(library):
    with RadarrEmulator(library, KEY) as emulator:
        url = emulator.url
        message = failure(lambda: radarr(f"{url}/api").items())
    assert "not found (HTTP 404): the URL ends in /api, which Prunerr adds itself" in message
    assert f"Fix: remove /api from the URL: {url}" in message


def test_a_login_page_or_another_services_page_instead_of_json():
    login = b'<html><head><title>Authelia</title></head><form><input type="password"></form>'
    with serving(body=login) as where:
        message = failure(lambda: radarr(f"http://{where}").items())
    assert "a login page titled 'Authelia' answered instead of Radarr's API" in message
    assert "point the URL at Radarr directly" in message
    with serving(body=b"<!doctype html><title>Sonarr</title>") as where:
        message = failure(lambda: radarr(f"http://{where}").items())
    assert "an HTML page titled 'Sonarr' answered instead of Radarr's JSON API" in message


@pytest.mark.parametrize(
    "body", ["\ufeff[]".encode(), "[]".encode("utf-16"), b"[]"], ids=["bom", "utf16", "utf8"]
)
def test_a_json_body_with_a_byte_order_mark_or_in_utf16_is_read(body):
    """The fast decoder reads UTF-8 only; other encodings JSON allows are read all the same."""
    with serving(body=body, content_type="application/json") as where:
        assert radarr(f"http://{where}").items() == []


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (500, "Radarr failed with an internal error (HTTP 500)"),
        (502, "a proxy in front of Radarr got no answer from it (HTTP 502)"),
        (503, "Radarr is unavailable (HTTP 503)"),
    ],
)
def test_server_errors_in_words(status, words):
    with serving(status, b"oops", "text/plain") as where:
        message = failure(lambda: radarr(f"http://{where}").items())
    assert words in message and "Fix: " in message


def test_a_404_on_the_base_path_names_the_url_base():
    with serving(404, b"", "text/plain") as where:
        message = failure(lambda: radarr(f"http://{where}/movies").items())
    assert "not found (HTTP 404): this address does not serve Radarr's API" in message
    assert "a URL base set in Radarr's settings belongs in it" in message


def test_every_failure_is_recorded_for_the_doctor():
    port = closed_port()
    with recorded_problems() as problems:
        assert not radarr(f"http://127.0.0.1:{port}").health().ok
    assert [(p.check, p.service) for p in problems] == [("reachable", "radarr")]


def test_one_mapping_serves_any_client():
    """`describe_failure` is what HttpClient uses; a client of its own can call it too."""
    request = httpx.Request("GET", "http://h:1/x")
    problem = describe_failure(
        httpx.ConnectTimeout("timed out", request=request),
        service="svc",
        base_url="http://u:secret@h:1",
        timeout=2,
    )
    assert problem.check == "reachable" and "no answer from h:1 to the connection within 2s" in (
        problem.cause
    )
    assert problem.url == "http://********@h:1"
    client = HttpClient("svc", "http://127.0.0.1:1", retries=0)
    assert client.failure("GET /", problem and httpx.Response(401)).problem.check == "key"
