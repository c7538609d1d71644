"""The thin aiohttp driver: runs :class:`Auth` flows, maps transport failures and error
replies to ``dockyard.errors``."""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dockyard.distribution.client.protocol import Auth, Request, Response, candidates
from dockyard.errors import DockyardError, Forbidden, NotFound, SystemFailure

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Session", "raise_for", "resolve_base", "transport_error"]

Body = Callable[[], Any] | bytes | None


def raise_for(what: str, status: int, body: bytes) -> DockyardError:
    """The error for a failed reply, with the registry's own error message."""
    detail = ""
    try:
        errs = json.loads(body).get("errors") or []
        detail = "; ".join(f"{e.get('code', '')}: {e.get('message', '')}".lower()
                           for e in errs)
    except (ValueError, AttributeError):
        detail = body[:200].decode("utf-8", "replace").strip()
    msg = f"{what}: {detail or f'http status {status}'}"
    if status == 404:
        return NotFound(msg)
    if status in (401, 403):
        return Forbidden(msg)
    return SystemFailure(msg)


def transport_error(err: BaseException) -> str:
    """What went wrong on the way, in Go's words where docker users know them."""
    import aiohttp

    if isinstance(err, aiohttp.ClientConnectorError):
        reason = {errno.ECONNREFUSED: "connection refused",
                  errno.EHOSTUNREACH: "no route to host",
                  errno.ENETUNREACH: "network is unreachable"}.get(err.os_error.errno or 0)
        if reason:
            return f"dial tcp {err.host}:{err.port}: connect: {reason}"
    return str(err) or "timeout"


_BASES: dict[tuple[str, frozenset[str]], str] = {}


async def resolve_base(domain: str, insecure: frozenset[str] = frozenset()) -> str:
    """The base url of ``domain``: https, or for loopback and insecure registries the
    first of https (unverified) and http that answers (remembered per process)."""
    import aiohttp

    options = candidates(domain, insecure)
    if len(options) == 1:
        return options[0]
    key = (domain, insecure)
    if key in _BASES:
        return _BASES[key]
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            async with http.get(options[0] + "/v2/", ssl=False, allow_redirects=False):
                _BASES[key] = options[0]
        except (aiohttp.ClientError, OSError, TimeoutError):
            _BASES[key] = options[1]
    return _BASES[key]


class Session:
    """One aiohttp session to one registry, with its credentials. Certificates are
    verified unless ``verify`` is false (https to an insecure registry)."""

    def __init__(self, auth: Auth | None = None, limit: int = 16, verify: bool = True
                 ) -> None:
        import aiohttp

        self.verify = verify
        self.auth = auth or Auth()
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)
        self.http = aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=limit),
            auto_decompress=False)
        self._locks: dict[str, asyncio.Lock] = {}
        self._probed: set[str] = set()

    async def close(self) -> None:
        await self.http.close()

    async def send(self, req: Request, scope: str, body: Body = None,
                   ) -> aiohttp.ClientResponse:
        """Send ``req`` through the auth flow; returns the final reply unread (the
        caller releases it). ``body`` is bytes or a function making a fresh body for
        each try."""
        if scope in self._probed:
            return await self._send(req, scope, body)
        # The first request of a scope goes alone, so that parallel requests wait for
        # its token instead of each fetching one.
        async with self._locks.setdefault(scope, asyncio.Lock()):
            resp = await self._send(req, scope, body)
            self._probed.add(scope)
            return resp

    async def _send(self, req: Request, scope: str, body: Body) -> aiohttp.ClientResponse:
        import aiohttp

        flow = self.auth.flow(req, scope)
        current = next(flow)
        while True:
            data = body() if callable(body) and current is req else (
                body if current is req else None)
            try:
                resp = await self.http.request(current.method, current.url,
                                               headers=current.headers, data=data,
                                               allow_redirects=True,
                                               ssl=self.verify)
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                raise SystemFailure(f'{current.method.capitalize()} "{current.url}": '
                                    f"{transport_error(err)}") from None
            reply = Response(resp.status, dict(resp.headers))
            if current.read_body or resp.status == 401:
                reply.body = await resp.read()
            try:
                current = flow.send(reply)
            except StopIteration:
                return resp
            resp.release()
