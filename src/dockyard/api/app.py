"""The aiohttp application: version prefixes, docker's headers and error bodies.

Every route is registered once and answers with or without a ``/v1.NN`` prefix. A
version above :data:`API_VERSION` or below :data:`MIN_API_VERSION` is docker's 400; an
unknown path is docker's 404 ``page not found``. Errors raised by the engine become
``{"message": ...}`` with the status of their class (:mod:`dockyard.api.errors`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from dockyard import __version__
from dockyard.api.context import ApiContext
from dockyard.api.errors import ApiError, status_for
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["API_VERSION", "CTX", "MIN_API_VERSION", "Router", "client_gone", "ctx", "json_body",
           "make_app", "reply"]

API_VERSION = "1.43"
MIN_API_VERSION = "1.24"
CTX: web.AppKey[ApiContext] = web.AppKey("ctx", ApiContext)
_VERSION_PART = r"{_v:(?:v[^/]*/)?}"
log = logging.getLogger("dockyard.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _version_tuple(text: str) -> tuple[int, int] | None:
    major, dot, minor = text.partition(".")
    if not dot or not major.isdigit() or not minor.isdigit() or len(text) > 10:
        return None
    return int(major), int(minor)


def _common_headers(resp: web.StreamResponse) -> None:
    resp.headers["Api-Version"] = API_VERSION
    resp.headers["Docker-Experimental"] = "false"
    resp.headers["Ostype"] = "linux"
    resp.headers["Server"] = f"Dockyard/{__version__} (linux)"


def error_response(status: int, message: str) -> web.Response:
    resp = web.json_response({"message": message}, status=status)
    _common_headers(resp)
    return resp


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    version = request.match_info.get("_v", "")
    if version:
        want = _version_tuple(version[1:-1])
        if want is None:
            return error_response(404, "page not found")
        if want > _version_tuple(API_VERSION):  # type: ignore[operator]
            return error_response(400, f"client version {version[1:-1]} is too new. "
                                       f"Maximum supported API version is {API_VERSION}")
        if want < _version_tuple(MIN_API_VERSION):  # type: ignore[operator]
            return error_response(400, f"client version {version[1:-1]} is too old. "
                                       f"Minimum supported API version is {MIN_API_VERSION},"
                                       " please upgrade your client to a newer version")
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response(404, "page not found")
        if exc.status == 405:
            return error_response(405, "method not allowed")
        if exc.status >= 400:
            return error_response(exc.status, exc.reason)
        raise
    except DockyardError as err:
        status = status_for(err)
        if status == 500:
            log.exception("%s %s", request.method, request.path)
        if getattr(request, "_hijacked", False):
            raise
        return error_response(status, str(err))
    except (ConnectionError, OSError) as err:
        log.debug("%s %s: %s", request.method, request.path, err)
        raise
    except Exception as err:  # a bug: still docker's body, never a bare traceback page
        log.exception("%s %s", request.method, request.path)
        return error_response(500, f"internal error: {type(err).__name__}: {err}")
    if not resp.prepared:
        _common_headers(resp)
    return resp


def ctx(request: web.Request) -> ApiContext:
    return request.app[CTX]


def client_gone(request: web.Request) -> Callable[[], bool]:
    """A check, safe to call from worker threads, that turns true once the client has
    disconnected or the server is stopping: blocking loops poll it to end early."""
    stopping = request.app[CTX].stopping
    transport = request.transport

    def gone() -> bool:
        return stopping.is_set() or transport is None or transport.is_closing()

    return gone


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        content_type="application/json")


async def json_body(request: web.Request, *, required: bool = False) -> dict[str, Any]:
    """The request's JSON object (empty when there is no body)."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise InvalidArgument("request body: missing")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidArgument(f"request body: invalid JSON: {err}") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidArgument("request body: expected a JSON object")
    return body


class Router:
    """Adds routes that match with and without the version prefix."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.app.router.add_route(method, "/" + _VERSION_PART + path.lstrip("/"), handler)

    def get(self, path: str, handler: Handler) -> None:
        self.add("GET", path, handler)

    def post(self, path: str, handler: Handler) -> None:
        self.add("POST", path, handler)

    def delete(self, path: str, handler: Handler) -> None:
        self.add("DELETE", path, handler)

    def head(self, path: str, handler: Handler) -> None:
        self.add("HEAD", path, handler)

    def put(self, path: str, handler: Handler) -> None:
        self.add("PUT", path, handler)


async def _not_found(request: web.Request) -> web.StreamResponse:
    raise ApiError(404, "page not found")


def make_app(context: ApiContext) -> web.Application:
    """The application with every implemented endpoint."""
    from dockyard.api import containers, execs, images, networks, stats, system

    app = web.Application(middlewares=[_middleware], client_max_size=64 << 20)
    app[CTX] = context
    router = Router(app)
    for module in (system, containers, execs, images, networks, stats):
        module.routes(router)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app
