"""Stats and events: ``/containers/{id}/stats`` (streamed or one sample) and
``/events`` (the engine's event log, filtered and followed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, client_gone, ctx, reply
from dockyard.api.context import ApiContext
from dockyard.api.streams import pump
from dockyard.errors import InvalidArgument

__all__ = ["routes"]


def _with_previous(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    """Docker puts the previous sample's CPU figures (and time) beside each one."""
    cur = dict(cur)
    if prev is not None:
        cur["precpu_stats"] = prev["cpu_stats"]
        cur["preread"] = prev["read"]
    else:
        cur["precpu_stats"] = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                             "usage_in_usermode": 0}, "throttling_data": {}}
    return cur


async def stats(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    stream = params.boolean(request, "stream", True)
    one_shot = params.boolean(request, "one-shot")
    if one_shot and stream:
        raise InvalidArgument("cannot have stream=true and one-shot=true")
    cid = await c.run(lambda: c.engine().resolve(ref))
    gone = client_gone(request)
    if not stream:
        first = await c.run(lambda: c.engine().stats(cid))
        if one_shot:
            return reply(_with_previous(first, None))
        await asyncio.sleep(1.0)  # docker samples twice, a second apart, for CPU %
        second = await c.run(lambda: c.engine().stats(cid))
        return reply(_with_previous(second, first))
    resp = web.StreamResponse()
    resp.content_type = "application/json"
    await resp.prepare(request)

    def samples(stopped: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        prev: dict[str, Any] | None = None
        eng = c.engine()
        while not stopped() and not gone():
            cur = eng.stats(cid)
            yield _with_previous(cur, prev)
            prev = cur
            if not eng.inspect(cid)["State"].get("Running"):
                return
            for _ in range(10):
                if stopped() or gone():
                    return
                time.sleep(0.1)

    with contextlib.suppress(ConnectionError):
        async for s in pump(c.pool, samples):
            await resp.write(json.dumps(s).encode() + b"\n")
        await resp.write_eof()
    return resp


async def events(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.events import FILTER_KEYS, matches, stream_events
    from dockyard.engine.logs import parse_since

    c: ApiContext = ctx(request)
    wanted = params.filters(request)
    for key in wanted:
        if key not in FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
    now = time.time_ns()
    since, until = params.text(request, "since"), params.text(request, "until")
    since_ns = parse_since(since, "since", now) if since else None
    until_ns = parse_since(until, "until", now) if until else None
    if since_ns is not None and until_ns is not None and since_ns > until_ns:
        raise InvalidArgument("`since` time cannot be after `until` time")
    gone = client_gone(request)
    resp = web.StreamResponse()
    resp.content_type = "application/json"
    await resp.prepare(request)

    def gen(stopped: Callable[[], bool]) -> Iterator[dict[str, object]]:
        for ev in stream_events(c.roots.root, since_ns, until_ns, follow=True,
                                stop=lambda: stopped() or gone()):
            if matches(ev, wanted):
                yield ev

    with contextlib.suppress(ConnectionError):
        async for ev in pump(c.pool, gen):
            await resp.write(json.dumps(ev).encode() + b"\n")
        await resp.write_eof()
    return resp


def routes(r: Router) -> None:
    r.get("/containers/{id}/stats", stats)
    r.get("/events", events)
