"""`python -m prunerr.healthcheck`: the container's liveness probe.

Asks the local API's unauthenticated `GET /api/health` (port from PORT) and exits 0 on HTTP 200,
1 otherwise, with one line of output for `docker inspect`. Stdlib only, so it starts fast. A
degraded or unreachable upstream still answers 200: it must not mark the container unhealthy.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

TIMEOUT = 10.0  # seconds; below the image's HEALTHCHECK --timeout


def check(port: str, timeout: float = TIMEOUT) -> tuple[bool, str]:
    """Whether the API on 127.0.0.1:port is alive, and a line saying so."""
    url = f"http://127.0.0.1:{port}/api/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore HTTP_PROXY
    try:
        with opener.open(url, timeout=timeout) as response:
            code, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, timed out, bad PORT
        return False, f"{url}: {getattr(exc, 'reason', exc)}"
    if code != 200:
        return False, f"{url}: HTTP {code}"
    try:
        status = json.loads(body)["data"]["status"]
    except (ValueError, KeyError, TypeError):
        status = "unknown"
    return True, f"{url}: HTTP 200, services {status}"


def main() -> int:
    alive, line = check(os.environ.get("PORT", "3000"))
    print(line)
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
