"""Volume endpoints and a container's archive endpoints (what ``docker cp`` uses).

``/volumes`` (list, create, inspect, remove, prune) answer with the Engine API's shapes;
``HEAD|GET|PUT /containers/{id}/archive`` stat, read and write paths in a container
through the engine's rooted copy (:mod:`dockyard.engine.copy`): the stat travels in the
``X-Docker-Container-Path-Stat`` header (base64 JSON, Go's ``FileMode`` bits), the
archive as ``application/x-tar``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import os
import stat
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx, json_body, reply
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["routes"]

STAT_HEADER = "X-Docker-Container-Path-Stat"
# Go's os.FileMode type bits, by the st_mode type they stand for.
_GO_TYPE = {stat.S_IFDIR: 1 << 31, stat.S_IFLNK: 1 << 27, stat.S_IFIFO: 1 << 25,
            stat.S_IFSOCK: 1 << 24, stat.S_IFBLK: 1 << 26,
            stat.S_IFCHR: (1 << 26) | (1 << 21)}


def go_file_mode(mode: int) -> int:
    """A unix ``st_mode`` as Go's ``os.FileMode`` (what the docker client decodes)."""
    out = _GO_TYPE.get(stat.S_IFMT(mode), 0) | (mode & 0o777)
    for bit, go in ((stat.S_ISUID, 1 << 23), (stat.S_ISGID, 1 << 22), (stat.S_ISVTX, 1 << 20)):
        if mode & bit:
            out |= go
    return out


def _stat_header(info: dict[str, Any]) -> str:
    mtime = datetime.datetime.fromtimestamp(info["mtime"], datetime.UTC)
    doc = {"name": info["name"], "size": info["size"], "mode": go_file_mode(info["mode"]),
           "mtime": mtime.isoformat().replace("+00:00", "Z"),
           "linkTarget": info["linkTarget"]}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _path(request: web.Request) -> str:
    path = request.query.get("path", "")
    if not path:
        raise InvalidArgument("path cannot be empty")
    return path


def _not_in(ref: str, path: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {ref}")


async def _stat(request: web.Request) -> tuple[str, str, dict[str, Any]]:
    c = ctx(request)
    ref, path = request.match_info["id"], _path(request)
    await c.run(lambda: c.engine().resolve(ref))  # "No such container: x" first
    try:
        info = await c.run(lambda: c.engine().path_stat(ref, path))
    except NotFound:
        raise _not_in(ref, path) from None
    return ref, path, info


async def archive_head(request: web.Request) -> web.StreamResponse:
    _, _, info = await _stat(request)
    return web.Response(status=200, headers={STAT_HEADER: _stat_header(info)})


async def archive_get(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref, path, info = await _stat(request)
    r, w = os.pipe()
    resp = web.StreamResponse(headers={STAT_HEADER: _stat_header(info)})
    resp.content_type = "application/x-tar"

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
    """Extract the request's tar into ``path`` (a directory) in the container."""
    c = ctx(request)
    ref, path = request.match_info["id"], _path(request)
    owners = params.boolean(request, "copyUIDGID")
    await c.run(lambda: c.engine().resolve(ref))
    r, w = os.pipe()

    def consume() -> None:
        with os.fdopen(r, "rb") as stream:
            try:
                c.engine().copy_in(ref, path, stream, owners=owners)
            except NotFound:
                raise _not_in(ref, path) from None
            with contextlib.suppress(OSError):  # the rest of the stream, unread
                while stream.read(1 << 20):
                    pass

    reader = asyncio.ensure_future(c.run(consume))
    try:
        with os.fdopen(w, "wb", buffering=0) as out:
            async for chunk in request.content.iter_chunked(1 << 20):
                if reader.done():
                    break
                await c.run(out.write, chunk)
    except BrokenPipeError:
        pass
    await reader
    return web.Response(status=200)


# -- volumes -------------------------------------------------------------------------------
async def list_volumes(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    filters = params.filters(request)
    vols = await c.run(lambda: c.engine().volume_list(filters))
    return reply({"Volumes": vols, "Warnings": None})


async def create_volume(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await json_body(request)
    name, driver = body.get("Name") or None, body.get("Driver") or "local"
    for field, value in (("Name", name), ("Driver", driver)):
        if value is not None and (not isinstance(value, str) or "\x00" in value):
            raise InvalidArgument(f"VolumeCreateBody.{field}: expected a string")
    opts = body.get("DriverOpts") or {}
    labels = body.get("Labels") or {}
    for field, mapping in (("DriverOpts", opts), ("Labels", labels)):
        if not isinstance(mapping, dict) or not all(
                isinstance(v, str) for v in mapping.values()):
            raise InvalidArgument(f"VolumeCreateBody.{field}: expected an object of strings")
    vol = await c.run(lambda: c.engine().volume_create(name, driver, opts, labels))
    return reply(vol, status=201)


async def inspect_volume(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = request.match_info["name"]
    try:
        return reply(await c.run(lambda: c.engine().volume_inspect(name)))
    except NotFound:
        raise NotFound(f"get {name}: no such volume") from None


async def remove_volume(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name, force = request.match_info["name"], params.boolean(request, "force")
    try:
        await c.run(lambda: c.engine().volume_remove(name, force))
    except NotFound:
        raise NotFound(f"get {name}: no such volume") from None
    return web.Response(status=204)


async def prune_volumes(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    filters = params.filters(request)
    report = await c.run(lambda: c.engine().volume_prune(filters))
    return reply({"VolumesDeleted": report["VolumesDeleted"] or None,
                  "SpaceReclaimed": report["SpaceReclaimed"]})


def routes(r: Router) -> None:
    r.get("/volumes", list_volumes)
    r.post("/volumes/create", create_volume)
    r.post("/volumes/prune", prune_volumes)
    r.get("/volumes/{name}", inspect_volume)
    r.delete("/volumes/{name}", remove_volume)
    r.head("/containers/{id}/archive", archive_head)
    r.get("/containers/{id}/archive", archive_get)
    r.put("/containers/{id}/archive", archive_put)
