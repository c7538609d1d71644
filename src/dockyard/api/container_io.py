"""Container streams: logs, attach (hijacked), export.

Output comes from the container's log (which holds every byte from the first) where
its driver can be read, so an attach made before start, or a little after, misses
nothing; input goes through the monitor's attach. With the ``none`` driver the
monitor's attach carries the output too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, client_gone, ctx
from dockyard.api.context import ApiContext
from dockyard.api.streams import frame, pump
from dockyard.errors import InvalidArgument

__all__ = ["routes"]

log = logging.getLogger("dockyard.api")

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


def _driver(info: dict[str, Any]) -> str:
    return ((info.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") or "json-file"


def _entries(c: ApiContext, cid: str, cdir: str, driver: str, *, stdout: bool, stderr: bool,
             since_ns: int | None, until_ns: int | None, tail: int | None, follow: bool,
             stopped: Callable[[], bool]) -> Iterator[Any]:
    from dockyard.engine.logs import read_logs
    from dockyard.engine.monitor import read_state

    def running() -> bool:
        return not stopped() and bool((read_state(cdir) or {}).get("Running"))

    yield from read_logs(cdir, cid, driver, stdout=stdout, stderr=stderr, since_ns=since_ns,
                         until_ns=until_ns, tail=tail, follow=follow, is_running=running)


async def logs(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.logs import format_entry, parse_since

    c = ctx(request)
    ref = request.match_info["id"]
    stdout, stderr = params.boolean(request, "stdout"), params.boolean(request, "stderr")
    if not (stdout or stderr):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    follow = params.boolean(request, "follow")
    timestamps = params.boolean(request, "timestamps")
    details = params.boolean(request, "details")
    tail_text = params.text(request, "tail", "all")
    tail: int | None = None
    if tail_text not in ("all", ""):
        try:
            tail = int(tail_text)
        except ValueError:
            raise InvalidArgument(f'invalid value for "tail": {tail_text}') from None
    since = params.text(request, "since")
    until = params.text(request, "until")
    since_ns = parse_since(since, "since") if since and since != "0" else None
    until_ns = parse_since(until, "until") if until and until != "0" else None
    info = await c.run(lambda: c.engine().inspect(ref))
    cid, tty = info["Id"], bool(info["Config"].get("Tty"))
    driver = _driver(info)
    if driver == "none":
        raise InvalidArgument('configured logging driver does not support reading: '
                              'driver "none"')
    cdir = await c.run(lambda: c.engine().container_dir(cid))
    resp = web.StreamResponse()
    resp.content_type = RAW if tty else MULTIPLEXED
    await resp.prepare(request)

    gone = client_gone(request)

    def gen(stopped: Callable[[], bool]) -> Iterator[Any]:
        return _entries(c, cid, cdir, driver, stdout=stdout, stderr=stderr, since_ns=since_ns,
                        until_ns=until_ns, tail=tail, follow=follow,
                        stopped=lambda: stopped() or gone())

    try:
        async for entry in pump(c.pool, gen):
            data = format_entry(entry, timestamps, details)
            await resp.write(data if tty else frame(2 if entry.stream == "stderr" else 1, data))
    except (ConnectionError, asyncio.CancelledError):
        raise
    with contextlib.suppress(ConnectionError):
        await resp.write_eof()
    return resp


async def export(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    await c.run(lambda: c.engine().resolve(ref))
    r, w = os.pipe()
    resp = web.StreamResponse()
    resp.content_type = "application/x-tar"

    def produce() -> None:
        with os.fdopen(w, "wb") as out, contextlib.suppress(BrokenPipeError):
            c.engine().export(ref, out)

    writer = asyncio.ensure_future(c.run(produce))
    await resp.prepare(request)
    try:
        with os.fdopen(r, "rb", buffering=0) as src:
            while True:
                chunk = await c.run(src.read, 1 << 20)
                if not chunk:
                    break
                await resp.write(chunk)
    finally:
        with contextlib.suppress(BaseException):
            await writer
    await resp.write_eof()
    return resp


def routes(r: Router) -> None:
    r.get("/containers/{id}/logs", logs)
    r.get("/containers/{id}/export", export)
