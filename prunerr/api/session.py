"""A request is one db_session: the unit of work of everything a resource reads and writes,
committed once its answer is ready and rolled back when the request fails, so a failed request
leaves nothing half-written. Whatever it changes that others learn of before then (the rulebook,
the library snapshot, the settings of this process) is committed first (`pony.orm.commit`).

A resource whose operation commits at steps of its own says so (`own_sessions = True`) and runs
outside: processing the queue and running a rule call upstream services and notifiers between
their writes (a step done upstream is recorded at once, and no lock is held across a call), and
starting a job hands the work to a job, which may run in this thread. A streamed answer is read
in a session of its own, as it is sent (`errors.ok_listing`)."""

from __future__ import annotations

import falcon
from pony.orm import db_session


class RequestFailed(Exception):
    """What the session is told when the request failed: roll back."""


class RequestSession:
    """Middleware: the db_session of each routed request (see the module)."""

    def process_resource(self, req: falcon.Request, resp, resource, params) -> None:
        if resource is not None and not getattr(resource, "own_sessions", False):
            db_session.__enter__()
            req.context.session = True

    def process_response(self, req: falcon.Request, resp, resource, req_succeeded: bool) -> None:
        if not req.context.get("session"):
            return
        req.context.session = False
        if req_succeeded:
            db_session.__exit__()
        else:
            db_session.__exit__(RequestFailed, RequestFailed(), None)
