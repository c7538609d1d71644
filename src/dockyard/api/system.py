"""System endpoints: ``/_ping``, ``/version``, ``/info``, ``/system/df``, ``/events``, ``/auth``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dockyard.api.app import (
    API_VERSION,
    MIN_API_VERSION,
    Router,
    ctx,
    json_body,
    reply,
)
from dockyard.api.context import ApiContext, insecure_registries
from dockyard.errors import InvalidArgument

__all__ = ["routes"]


async def ping(request: web.Request) -> web.StreamResponse:
    resp = web.Response(text="OK" if request.method != "HEAD" else None,
                        content_type="text/plain")
    resp.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    resp.headers["Pragma"] = "no-cache"
    return resp


async def version(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.sysinfo import server_version

    return reply(server_version(API_VERSION, MIN_API_VERSION))


def _info(c: ApiContext) -> dict[str, Any]:
    from dockyard.engine.sysinfo import info

    return info(c.engine().list(all=True), len(c.images().list()), str(c.roots.root),
                c.debug)


async def info(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    return reply(await c.run(_info, c))


def _df(c: ApiContext) -> dict[str, Any]:
    from dockyard.engine.diskusage import disk_usage
    from dockyard.engine.logs import format_nano

    usage = disk_usage(c.engine(), c.images().list())
    for entry in usage.get("BuildCache") or []:
        for key in ("CreatedAt", "LastUsedAt"):  # docker's are RFC 3339 strings
            if isinstance(entry.get(key), int | float):
                entry[key] = format_nano(int(entry[key] * 1e9))
    return usage


async def system_df(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    return reply(await c.run(_df, c))


async def auth(request: web.Request) -> web.StreamResponse:
    """``docker login``: check the credentials against the registry (the client stores
    them, as with dockerd)."""
    from urllib.parse import urlsplit

    from dockyard.distribution import check_login
    from dockyard.oci import DEFAULT_DOMAIN

    body = await json_body(request, required=True)
    username, password = body.get("username"), body.get("password")
    server = body.get("serveraddress") or ""
    if not isinstance(username, str) or not isinstance(password, str) or \
            not isinstance(server, str) or not username or not password:
        raise InvalidArgument("auth: username and password (strings) are required")
    host = (urlsplit(server).netloc if "://" in server else server.split("/")[0])
    domain = DEFAULT_DOMAIN if host in ("", "index.docker.io", "registry-1.docker.io") \
        else host
    await check_login(domain, username, password, insecure_registries())
    return reply({"Status": "Login Succeeded", "IdentityToken": ""})


def routes(r: Router) -> None:
    r.get("/_ping", ping)
    r.head("/_ping", ping)
    r.get("/version", version)
    r.get("/info", info)
    r.get("/system/df", system_df)
    r.post("/auth", auth)
