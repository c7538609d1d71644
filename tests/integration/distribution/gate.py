"""A Docker-Hub-style front for a test registry, on loopback: ``/v2/`` answers 401
with a Bearer challenge unless the request carries a token for its scope; ``/token``
hands out tokens (pull for anyone, pull+push for a known user by basic auth). It
counts requests and can fail chosen blob downloads half-way, to test resumption, or
hold them until the test lets them go, to see what the client does meanwhile."""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
from collections import Counter
from typing import TYPE_CHECKING

from dockyard.distribution.server.errors import RegistryError
from dockyard.distribution.server.routes import route

if TYPE_CHECKING:
    from aiohttp import web

_FORWARD = ("Content-Type", "Content-Range", "Range", "Accept", "Content-Length")


class Gate:
    def __init__(self, upstream: str, users: dict[str, str]) -> None:
        self.upstream = upstream
        self.users = users
        self.url = ""  # set once listening
        self.granted: dict[str, set[str]] = {}
        self.counts: Counter[str] = Counter()
        self.cut_blobs: set[str] = set()  # digests whose next GET dies half-way
        self.ranges: list[tuple[str, str]] = []  # (digest, Range) of ranged blob GETs
        # digest -> event: its GET waits for the event (503 after ``hold_timeout``)
        self.held: dict[str, threading.Event] = {}
        # digest -> event: its GET sends half the blob, waits for the event, sends the rest
        self.paused: dict[str, threading.Event] = {}
        self.hold_timeout = 20.0

    def app(self) -> web.Application:
        from aiohttp import web

        app = web.Application(client_max_size=1 << 30)
        app.router.add_get("/token", self.token)
        app.router.add_route("*", "/v2/{tail:.*}", self.proxy)
        return app

    async def token(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        self.counts["token"] += 1
        user = ""
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            name, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(name) != pw:
                return web.json_response({"details": "incorrect username or password"},
                                         status=401)
            user = name
        self.counts[f"token:{user or 'anonymous'}"] += 1
        scopes = set()
        for scope in request.query.getall("scope", []):
            _, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            for action in actions.split(","):
                if action == "pull" or (action == "push" and user):
                    scopes.add(f"{repo}:{action}")
        token = secrets.token_hex(8)
        self.granted[token] = scopes
        return web.json_response({"token": token, "expires_in": 300})

    def _challenge(self, scope: str) -> dict[str, str]:
        extra = f',scope="{scope}"' if scope else ""
        return {"WWW-Authenticate":
                f'Bearer realm="{self.url}/token",service="gate"{extra}'}

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        import aiohttp
        from aiohttp import web

        tail = request.match_info["tail"]
        try:
            kind, parts = route(tail)
        except RegistryError:
            return web.Response(status=404)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        have = self.granted.get(token)
        action = "pull" if request.method in ("GET", "HEAD") else "push"
        name = parts.get("name", "")
        scope = f"repository:{name}:{'pull' if action == 'pull' else 'pull,push'}" \
            if name else ""
        if have is None or (name and f"{name}:{action}" not in have):
            self.counts["401"] += 1
            return web.json_response({"errors": [{"code": "UNAUTHORIZED",
                                                  "message": "authentication required"}]},
                                     status=401, headers=self._challenge(scope))
        self.counts[f"{request.method} {kind}"] += 1
        if kind == "blob" and "Range" in request.headers:
            self.ranges.append((parts["ref"], request.headers["Range"]))
        hold = self.held.get(parts.get("ref", "")) if kind == "blob" else None
        if hold is not None and request.method == "GET" and not await asyncio.to_thread(
                hold.wait, self.hold_timeout):
            return web.Response(status=503, text="held too long")
        body = await request.read()
        headers = {k: request.headers[k] for k in _FORWARD if k in request.headers}
        async with aiohttp.ClientSession(auto_decompress=False) as session, \
                session.request(request.method, f"{self.upstream}{request.path_qs}",
                                data=body or None, headers=headers,
                                allow_redirects=False) as up:
            data = await up.read()
            out = {k: v for k, v in up.headers.items()
                   if k in ("Content-Type", "Location", "Docker-Content-Digest", "Range",
                            "Docker-Upload-UUID", "Content-Range", "OCI-Subject")}
            if kind == "blob" and request.method == "GET" and parts["ref"] in self.cut_blobs:
                self.cut_blobs.discard(parts["ref"])
                resp = web.StreamResponse(status=up.status, headers={
                    **out, "Content-Length": str(len(data))})
                await resp.prepare(request)
                await resp.write(data[: len(data) // 2])
                request.transport.close()  # type: ignore[union-attr]
                return resp
            pause = self.paused.get(parts.get("ref", "")) if kind == "blob" else None
            if pause is not None and request.method == "GET" and up.status == 200:
                resp = web.StreamResponse(status=200, headers={
                    **out, "Content-Length": str(len(data))})
                await resp.prepare(request)
                await resp.write(data[: len(data) // 2])
                await asyncio.to_thread(pause.wait, self.hold_timeout)
                await resp.write(data[len(data) // 2:])
                await resp.write_eof()
                return resp
            if request.method == "HEAD":
                out["Content-Length"] = up.headers.get("Content-Length", "0")
                return web.Response(status=up.status, headers=out)
            return web.Response(status=up.status, body=data, headers=out)
