"""``GET /containers/{id}/stats``: the engine's samples (``engine.stats``) as dockerd sends
them: with ``stream`` (the default) one object a second, each carrying the previous
sample as ``precpu_stats``; with ``stream=false`` one object, a second after a first
sample so CPU % can be computed (``one-shot=true`` skips the wait, precpu empty)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, client_gone, ctx

__all__ = ["routes"]

INTERVAL = 1.0


def _with_pre(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(cur)
    out["precpu_stats"] = prev["cpu_stats"] if prev else {"cpu_usage": {"total_usage": 0},
                                                          "throttling_data": {}}
    out["preread"] = prev["read"] if prev else "0001-01-01T00:00:00Z"
    return out


async def stats(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    stream = params.boolean(request, "stream", True)
    one_shot = params.boolean(request, "one-shot")
    cid = await c.run(lambda: c.engine().resolve(ref))
    first = await c.run(lambda: c.engine().stats(cid))
    prev: dict[str, Any] | None = None
    if not stream:
        if not one_shot:
            await asyncio.sleep(INTERVAL)
            prev, first = first, await c.run(lambda: c.engine().stats(cid))
        return web.json_response(_with_pre(first, prev))
    resp = web.StreamResponse()
    resp.content_type = "application/json"
    await resp.prepare(request)
    gone = client_gone(request)
    cur = first
    while not gone():
        await resp.write(json.dumps(_with_pre(cur, prev)).encode() + b"\n")
        await asyncio.sleep(INTERVAL)
        prev, cur = cur, await c.run(lambda: c.engine().stats(cid))
    return resp


def routes(r: Router) -> None:
    r.get("/containers/{id}/stats", stats)
