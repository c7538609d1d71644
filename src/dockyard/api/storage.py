"""``docker cp`` (``/containers/{id}/archive`` HEAD, GET, PUT) and ``/volumes``.

The archive endpoints use the engine's confined copy (every path resolved inside the
container's root). The path stat header is docker's: base64 of JSON with Go's
``FileMode`` bits (the client decides directory or not from them) and an RFC 3339 mtime.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import stat
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx, json_body, reply
from dockyard.api.validate import expect_dict
from dockyard.errors import InvalidArgument

__all__ = ["go_file_mode", "routes"]

# Go's os.FileMode type bits.
_GO_DIR, _GO_SYMLINK, _GO_DEVICE, _GO_PIPE, _GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, \
    1 << 24
_GO_SETUID, _GO_SETGID, _GO_CHARDEV, _GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_file_mode(mode: int) -> int:
    """A unix ``st_mode`` as Go's ``os.FileMode``."""
    out = mode & 0o777
    kind = stat.S_IFMT(mode)
    out |= {stat.S_IFDIR: _GO_DIR, stat.S_IFLNK: _GO_SYMLINK, stat.S_IFIFO: _GO_PIPE,
            stat.S_IFSOCK: _GO_SOCKET, stat.S_IFBLK: _GO_DEVICE,
            stat.S_IFCHR: _GO_DEVICE | _GO_CHARDEV}.get(kind, 0)
    if mode & stat.S_ISUID:
        out |= _GO_SETUID
    if mode & stat.S_ISGID:
        out |= _GO_SETGID
    if mode & stat.S_ISVTX:
        out |= _GO_STICKY
    return out


def _stat_header(info: dict[str, Any]) -> str:
    from dockyard.engine.logs import format_nano

    doc = {"name": info["name"], "size": info["size"], "mode": go_file_mode(info["mode"]),
           "mtime": format_nano(int(info["mtime"] * 1e9)), "linkTarget": info["linkTarget"]}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _path(request: web.Request) -> str:
    path = params.text(request, "path")
    if not path:
        raise InvalidArgument("path: missing")
    return path


async def archive_head(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref, path = request.match_info["id"], _path(request)
    info = await c.run(lambda: c.engine().path_stat(ref, path))
    resp = web.Response(status=200)
    resp.headers["X-Docker-Container-Path-Stat"] = _stat_header(info)
    return resp


async def archive_get(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref, path = request.match_info["id"], _path(request)
    info = await c.run(lambda: c.engine().path_stat(ref, path))
    r, w = os.pipe()
    resp = web.StreamResponse()
    resp.content_type = "application/x-tar"
    resp.headers["X-Docker-Container-Path-Stat"] = _stat_header(info)

    def produce() -> None:
        with os.fdopen(w, "wb") as out, contextlib.suppress(BrokenPipeError):
            c.engine().copy_out(ref, path, out)

    writer = asyncio.ensure_future(c.run(produce))
    await resp.prepare(request)
    try:
        with os.fdopen(r, "rb", buffering=0) as src:
            while chunk := await c.run(src.read, 1 << 20):
                await resp.write(chunk)
    finally:
        with contextlib.suppress(BaseException):
            await writer
    await resp.write_eof()
    return resp


async def archive_put(request: web.Request) -> web.StreamResponse:
    """Extract the body (a tar) into the directory ``path`` (the client has already
    named the entries for their destination, as docker's does)."""
    c = ctx(request)
    ref, path = request.match_info["id"], _path(request)
    owners = params.boolean(request, "copyUIDGID")
    await c.run(lambda: c.engine().resolve(ref))
    r, w = os.pipe()

    def consume() -> None:
        with os.fdopen(r, "rb") as src:
            try:
                c.engine().copy_in(ref, path, src, owners=owners)
            finally:
                while src.read(1 << 16):  # drain, so the writer never blocks
                    pass

    reader = asyncio.ensure_future(c.run(consume))
    try:
        with os.fdopen(w, "wb", buffering=0) as sink:
            async for chunk in request.content.iter_chunked(1 << 20):
                if reader.done():
                    break
                await c.run(sink.write, chunk)
    except BrokenPipeError:
        pass
    await reader
    return web.Response(status=200)


async def volume_list(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    wanted = params.filters(request)
    vols = await c.run(lambda: c.engine().volume_list(wanted))
    return reply({"Volumes": vols, "Warnings": []})


async def volume_create(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await json_body(request)
    name = body.get("Name") or None
    driver = body.get("Driver") or "local"
    if name is not None and not isinstance(name, str):
        raise InvalidArgument("VolumeCreateBody.Name: expected a string")
    if not isinstance(driver, str):
        raise InvalidArgument("VolumeCreateBody.Driver: expected a string")
    options, labels = (expect_dict(body.get(k), f"VolumeCreateBody.{k}")
                       for k in ("DriverOpts", "Labels"))
    for field, mapping in (("DriverOpts", options), ("Labels", labels)):
        if not all(isinstance(v, str) for v in mapping.values()):
            raise InvalidArgument(f"VolumeCreateBody.{field}: expected string values")
    vol = await c.run(lambda: c.engine().volume_create(name, driver, options, labels))
    return reply(vol, status=201)


async def volume_inspect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = request.match_info["name"]
    return reply(await c.run(lambda: c.engine().volume_inspect(name)))


async def volume_remove(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name, force = request.match_info["name"], params.boolean(request, "force")
    await c.run(lambda: c.engine().volume_remove(name, force))
    return web.Response(status=204)


async def volume_prune(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    wanted = params.filters(request)
    return reply(await c.run(lambda: c.engine().volume_prune(wanted)))


def routes(r: Router) -> None:
    r.head("/containers/{id}/archive", archive_head)
    r.get("/containers/{id}/archive", archive_get)
    r.put("/containers/{id}/archive", archive_put)
    r.get("/volumes", volume_list)
    r.post("/volumes/create", volume_create)
    r.post("/volumes/prune", volume_prune)
    r.get("/volumes/{name}", volume_inspect)
    r.delete("/volumes/{name}", volume_remove)
