"""Health, settings, the API key and the OpenAPI document: thin doors onto the services."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import falcon
from pony.orm import commit

from prunerr import __version__, wire
from prunerr.compat import settings as compat_settings
from prunerr.config import settings
from prunerr.jobs import Runs

from . import params
from .errors import ApiError, ok


class Health:
    """Overall status for anyone (Docker health checks); each service's, and what keeps jobs
    from running, for key holders. The services are asked at most every CHECK_EVERY seconds,
    so neither a health probe nor an unauthenticated caller makes the API hammer (or wait on)
    Plex and the others. Jobs that cannot run (a job worker down, a run that failed on the
    database) and rules that do not load make a healthy status degraded."""

    CHECK_EVERY = 30.0

    def __init__(self, api):
        self.api = api
        self._lock = threading.Lock()
        # (monotonic time, clock time, the checks) of the last round of checks
        self._checked: tuple[float, float, list[wire.ServiceCheck]] | None = None

    def checks(self) -> list[wire.ServiceCheck]:
        """Each service's check, at most CHECK_EVERY seconds old."""
        return self.checked()[1]

    def checked(self) -> tuple[float, list[wire.ServiceCheck]]:
        """(when they were made, clock time; each service's check), at most CHECK_EVERY
        seconds old."""
        with self._lock:
            now = time.monotonic()
            if self._checked is None or now - self._checked[0] > self.CHECK_EVERY:
                services = self.api.services.services
                checks = []
                if services:
                    with ThreadPoolExecutor(max_workers=min(8, len(services))) as pool:
                        checks = list(pool.map(self.check, services))
                self._checked = (now, self.api.clock(), checks)
            return self._checked[1], self._checked[2]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = self.checks()
        healthy = sum(c.connected for c in checks)
        # nothing configured, or nothing answering, is unhealthy (as in the original)
        status = "unhealthy" if not healthy else "healthy" if healthy == len(checks) else "degraded"
        jobs = self.api.tasks.health() if self.api.tasks is not None else None
        if jobs is not None and jobs.problems and status == "healthy":
            status = "degraded"
        broken = self.api.book.contents().broken.values()
        if broken and status == "healthy":
            status = "degraded"
        data = wire.Health(
            status=status,
            version=__version__,
            uptime=round(time.monotonic() - self.api.started, 1),
        )
        if req.context.authenticated:
            data.services = checks
            data.broken_rules = [
                wire.BrokenRule(rule=b.id, message=b.message, stops_deletion=b.stops_deletion)
                for b in broken
            ]
            if jobs is not None:
                data.jobs = wire.JobsHealth(
                    workers=jobs.workers, ready=jobs.ready, problems=list(jobs.problems)
                )
        ok(resp, data)

    @staticmethod
    def check(service) -> wire.ServiceCheck:
        """Ask one service now."""
        started = time.perf_counter()
        try:
            health = service.health()
        except Exception as exc:  # a broken plugin must not break the health endpoint
            return wire.ServiceCheck(
                service=service.name,
                configured=True,
                connected=False,
                error=type(exc).__name__,
                response_time_ms=None,
            )
        return wire.ServiceCheck(
            service=service.name,
            configured=True,
            connected=health.ok,
            error=None if health.ok else health.message,
            response_time_ms=round(
                health.response_ms
                if health.response_ms is not None
                else (time.perf_counter() - started) * 1000
            ),  # whole milliseconds, as the original
        )


class HealthVersion:
    """GET: `{version}`, outside the envelope as the original answers it."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"version": __version__}


class HealthProbe:
    """GET: one of the original's probes, outside the envelope: `ping` ({pong, timestamp}),
    `live` ({live, timestamp}), or `ready` ({ready}: the database answers; 503 when not)."""

    own_sessions = True  # `ready` asks the database in a session of its own

    def __init__(self, api, probe: str):
        self.api = api
        self.probe = probe

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        now = wire.iso(self.api.clock())
        if self.probe == "ping":
            resp.media = {"pong": True, "timestamp": now}
        elif self.probe == "live":
            resp.media = {"live": True, "timestamp": now}
        else:
            ready = self.api.store.answers()
            resp.status = falcon.HTTP_200 if ready else falcon.HTTP_503
            resp.media = {"ready": ready}


class HealthStatus:
    """GET: the original's health page: its services (configured, connected), the scheduler's
    runs and an overall status."""

    def __init__(self, api, health: Health):
        self.api = api
        self.health = health

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        at, found = self.health.checked()
        checks = {c.service: c for c in found}
        checked = wire.iso(at)
        services = []
        for name, spec in compat_settings.SERVICES.items():
            if name == "unraid":  # not in the original's list either
                continue
            names = [i["name"] for i in self.api.config.instances.get(spec[0], [])] if spec else []
            check = next((checks[n] for n in names if n in checks), None)
            services.append(
                wire.ServiceStatus(
                    service=name,
                    configured=bool(names),
                    connected=check is not None and check.connected,
                    response_time_ms=check.response_time_ms if check else None,
                    error=check.error if check else None,
                    last_checked=checked,
                )
            )
        configured = [s for s in services if s.configured]
        up = sum(s.connected for s in configured)
        overall = "unhealthy" if not up else "healthy" if up == len(configured) else "degraded"
        jobs = {s.job.name: s for s in Runs(self.api.store, self.api.clock).status(self.api.config)}
        scan, sync = jobs["evaluate"], jobs["sync"]
        synced = sync.last_run
        can_run = self.api.tasks.health() if self.api.tasks is not None else None
        ok(
            resp,
            wire.HealthStatus(
                services=services,
                scheduler=wire.Scheduler(
                    is_running=scan.schedule is not None
                    and can_run is not None  # None: no job consumer here
                    and (can_run.workers is None or bool(can_run.ready)),
                    job_running=any(s.running for s in jobs.values()),
                    last_scan=wire.iso(_ended(scan.last_run)),
                    next_run=wire.iso(scan.next_run),
                    scan_schedule=scan.schedule,
                    last_sync=wire.iso(_ended(synced)),
                    last_sync_at=wire.iso(_ended(synced)),
                    last_sync_success=None if synced is None else synced.state == "ok",
                    next_sync=wire.iso(sync.next_run),
                    sync_schedule=sync.schedule,
                ),
                overall=overall,
            ),
        )


def _ended(run) -> float | None:
    """When a job run finished, or started while it runs."""
    return None if run is None else run.finished_at or run.started_at


class UnraidStats:
    """GET: `{configured: false}`: Prunerr does not read Unraid's array."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ok(resp, wire.UnraidStats(configured=False))


class Settings:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ok(resp, self.shown())

    def shown(self) -> dict[str, object]:
        """The configuration (secrets masked), with the original's sections beside it."""
        public = self.api.config.public()
        return {**compat_settings.sections(public), **public}

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Change settings that may change while Prunerr runs (schedules, limits, dry run...),
        by this project's keys or the original's sections; what GET showed may be sent back
        whole. Every process applies them before its next job."""
        sent = params.body(req)
        if not sent:
            raise ApiError(400, "body: expected at least one setting", [{"field": "body"}])
        try:
            changes = compat_settings.changes(sent, self.api.config)
            settings.save(self.api.store, self.api.config, changes)
        except settings.Refused as exc:
            raise ApiError(409 if exc.conflict else 400, str(exc), [{"field": exc.key}]) from None
        commit()  # before this process applies them
        self.api.refresh_config()
        ok(resp, self.shown(), message="Settings saved" if changes else "Nothing changed")


class ServiceTest:
    """POST: the original's connection test of one of its services, made with the configured
    instance. Services are configured in the environment or prunerr.yaml, so a body naming
    other values (its client sends back what GET showed) is a 409, as is a service that is
    not configured; one that does not answer is a 503 saying why."""

    def __init__(self, api, health: Health):
        self.api = api
        self.health = health

    def on_post(self, req: falcon.Request, resp: falcon.Response, service: str) -> None:
        sent = params.body(req)
        if service == "discord":
            raise ApiError(
                409, "Prunerr sends no test message: Discord gets the events of DISCORD_EVENTS"
            )
        if service not in compat_settings.SERVICES:
            valid = ", ".join(compat_settings.SERVICES)
            raise ApiError(400, f"Invalid service: {service}. Valid services are: {valid}")
        spec = compat_settings.SERVICES[service]
        instances = self.api.config.instances.get(spec[0], []) if spec else []
        names = [i["name"] for i in instances[:1]]
        target = next((s for s in self.api.services.services if s.name in names), None)
        if target is None:
            raise ApiError(409, f"No URL configured for {service}")
        shown = compat_settings.sections(self.api.config.public())["services"][service]
        for key, value in compat_settings.cleaned(sent).items():
            key = "apiKey" if key == "api_key" else key  # the original took both
            if shown.get(key) != value:
                raise ApiError(409, f"{service}.{key}: {compat_settings.ELSEWHERE['services']}")
        check = self.health.check(target)
        if not check.connected:
            raise ApiError(503, f"Failed to connect to {service}: {check.error}")
        data = wire.ServiceTested(
            service=service, connected=True, response_time_ms=check.response_time_ms
        )
        ok(resp, data, message=f"Successfully connected to {service}")


class ApiKey:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        keys = self.api.keys
        ok(resp, wire.ApiKey(api_key=keys.current(), from_environment=keys.from_environment))


class ApiKeyRegenerate:
    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ok(
            resp,
            wire.ApiKey(api_key=self.api.keys.regenerate()),
            message="A new API key was generated; the old one no longer works",
        )


class OpenApiDocument:
    def __init__(self, document: dict):
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
