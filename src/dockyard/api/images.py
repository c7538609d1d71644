"""Image endpoints: list, inspect, history, tag, delete, prune, get/load tarballs, pull
(``/images/create``) and push with docker's JSON progress stream, search, and
``/distribution/{name}/json``. Build is in :mod:`dockyard.api.build`."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx, reply
from dockyard.api.context import insecure_registries
from dockyard.api.summaries import epoch, image_summary
from dockyard.errors import DockyardError, InvalidArgument, NotFound

__all__ = ["JsonStream", "routes"]


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if "\x00" in name or not name:
        raise InvalidArgument(f"invalid reference format: {name!r}")
    return name


async def list_images(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    wanted = params.filters(request)
    for key in wanted:
        if key not in ("dangling", "reference", "label", "before", "since"):
            raise InvalidArgument(f"invalid filter '{key}'")
    show_all = params.boolean(request, "all")
    del show_all  # no intermediate images are stored

    def listing() -> list[dict[str, Any]]:
        from fnmatch import fnmatch

        store = c.images()
        rows = []
        for img in sorted(store.list(), key=lambda i: (i.config.created, i.added), reverse=True):
            s = image_summary(img)
            dangling = not img.names
            if "dangling" in wanted and (wanted["dangling"][0].lower() in ("true", "1")) \
                    != dangling:
                continue
            if "reference" in wanted and not any(
                    fnmatch(t, p) or fnmatch(t.rpartition(":")[0], p)
                    for t in s["RepoTags"] for p in wanted["reference"]):
                continue
            labels = s["Labels"]
            if any(lab.partition("=")[0] not in labels or ("=" in lab and
                   labels[lab.partition("=")[0]] != lab.partition("=")[2])
                   for lab in wanted.get("label", [])):
                continue
            rows.append(s)
        return rows

    return reply(await c.run(listing))


async def inspect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = _name(request)

    def look() -> dict[str, Any]:
        try:
            return c.images().inspect(name)
        except NotFound:
            raise NotFound(f"No such image: {name}") from None

    return reply(await c.run(look))


async def history(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = _name(request)

    def rows() -> list[dict[str, Any]]:
        out = []
        for row in c.images().history(name):
            out.append({"Id": row["Id"], "Created": epoch(row["Created"]),
                        "CreatedBy": row["CreatedBy"], "Tags": None, "Size": row["Size"],
                        "Comment": row["Comment"]})
        return out

    return reply(await c.run(rows))


async def tag(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = _name(request)
    repo = params.text(request, "repo")
    tag_ = params.text(request, "tag")
    if not repo:
        raise InvalidArgument("repository name must have at least one component")
    target = f"{repo}:{tag_}" if tag_ else repo
    from dockyard.engine.image_verbs import tag_image

    await c.run(lambda: tag_image(c.roots, c.images(), name, target))
    return web.Response(status=201)


async def remove(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = _name(request)
    force = params.boolean(request, "force")
    from dockyard.engine.image_verbs import remove_image

    return reply(await c.run(lambda: remove_image(c.roots, c.images(), name, force)))


async def prune(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    wanted = params.filters(request)
    for key in wanted:
        if key not in ("dangling",):
            raise InvalidArgument(f"invalid filter '{key}'")
    dangling = wanted.get("dangling", ["true"])[0].lower() in ("true", "1")
    deleted, reclaimed = await c.run(lambda: c.images().prune(all=not dangling))
    return reply({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


async def _stream_file(request: web.Request, path: str) -> web.StreamResponse:
    c = ctx(request)
    resp = web.StreamResponse()
    resp.content_type = "application/x-tar"
    await resp.prepare(request)
    with open(path, "rb") as f:
        while chunk := await c.run(f.read, 1 << 20):
            await resp.write(chunk)
    await resp.write_eof()
    return resp


async def get_images(request: web.Request) -> web.StreamResponse:
    from dockyard.images import save

    c = ctx(request)
    names = request.query.getall("names", []) or ([request.match_info["name"]]
                                                   if "name" in request.match_info else [])
    if not names:
        raise InvalidArgument("save: at least one image is needed")
    c.roots.tmp.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=c.roots.tmp, prefix="api-save-")
    try:
        with os.fdopen(fd, "wb") as out:
            await c.run(lambda: save(c.images(), list(names), out, "docker"))
        from dockyard.engine.image_verbs import log_saved

        await c.run(lambda: log_saved(c.roots, c.images(), list(names)))
        return await _stream_file(request, path)
    finally:
        os.unlink(path)


async def load_images(request: web.Request) -> web.StreamResponse:
    from dockyard.images import load

    c = ctx(request)
    quiet = params.boolean(request, "quiet")
    c.roots.tmp.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=c.roots.tmp, prefix="api-load-")
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.content.iter_chunked(1 << 20):
                await c.run(out.write, chunk)
        with open(path, "rb") as src:
            lines = await c.run(lambda: load(c.images(), src, unpack=True))
    finally:
        os.unlink(path)
    from dockyard.engine.image_verbs import log_loaded

    await c.run(lambda: log_loaded(c.roots, c.images(), list(lines)))
    body = b"".join(json.dumps({"stream": line + "\n"}).encode() + b"\r\n" for line in lines)
    del quiet
    return web.Response(body=body, content_type="application/json")


class JsonStream:
    """Docker's JSON message stream: headers go out with the first message, so an error
    before any progress is still a plain HTTP error."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.resp: web.StreamResponse | None = None

    async def send(self, message: dict[str, Any]) -> None:
        if self.resp is None:
            self.resp = web.StreamResponse()
            self.resp.content_type = "application/json"
            await self.resp.prepare(self.request)
        await self.resp.write(json.dumps(message).encode() + b"\r\n")

    async def fail(self, err: BaseException) -> web.StreamResponse:
        """Report ``err`` in the stream (or raise it when nothing was sent yet)."""
        if self.resp is None:
            raise err
        await self.send({"errorDetail": {"message": str(err)}, "error": str(err)})
        return await self.finish()

    async def finish(self) -> web.StreamResponse:
        if self.resp is None:
            self.resp = web.StreamResponse()
            self.resp.content_type = "application/json"
            await self.resp.prepare(self.request)
        await self.resp.write_eof()
        return self.resp


def _auth(request: web.Request, domain: str) -> Any:
    """Credentials from ``X-Registry-Auth`` (base64url JSON), as docker clients send."""
    from dockyard.distribution import Auth

    header = request.headers.get("X-Registry-Auth", "")
    if header:
        try:
            data = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except ValueError:
            raise InvalidArgument("X-Registry-Auth: invalid base64 JSON") from None
        if isinstance(data, dict) and data.get("username"):
            return Auth(str(data["username"]), str(data.get("password") or ""))
    return Auth()


async def create(request: web.Request) -> web.StreamResponse:
    """``docker pull``: ``fromImage`` (with ``tag``) from its registry."""
    from dockyard.distribution import pull
    from dockyard.oci import Descriptor, Platform, parse_reference

    c = ctx(request)
    image = params.text(request, "fromImage")
    if not image:
        if params.text(request, "fromSrc"):
            return await _import(request)
        raise InvalidArgument("fromImage: missing")
    tag_ = params.text(request, "tag")
    name = image if not tag_ else (f"{image}@{tag_}" if ":" in tag_ else f"{image}:{tag_}")
    ref = parse_reference(name)
    platform_text = params.text(request, "platform")
    want = Platform.parse(platform_text) if platform_text else None
    stream = JsonStream(request)
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def progress(desc: Descriptor, status: str, done: int) -> None:
        if "layer" not in desc.media_type:
            return
        detail = ({"current": done, "total": desc.size}
                  if status in ("Downloading", "Extracting") else {})
        events.put_nowait({"status": status, "progressDetail": detail,
                           "id": desc.digest.short})

    store = c.images()
    task = asyncio.ensure_future(pull(store, ref, platform=want, insecure=insecure_registries(),
                                      auth=_auth(request, ref.domain), progress=progress))
    try:
        while not task.done():
            getter = asyncio.ensure_future(events.get())
            await asyncio.wait([task, getter], return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                if stream.resp is None:
                    await stream.send({"status": f"Pulling from {ref.path}",
                                       "id": ref.tag or str(ref.digest)})
                await stream.send(getter.result())
            else:
                getter.cancel()
        img = task.result()
    except DockyardError as err:
        return await stream.fail(err)
    finally:
        if not task.done():
            task.cancel()
    while not events.empty():
        await stream.send(events.get_nowait())
    from dockyard.engine.events import image_event

    image_event(c.roots, "pull", ref.familiar(), ref.familiar())
    digest = img.repo_digests[-1].rpartition("@")[2] if img.repo_digests else ""
    await stream.send({"status": f"Digest: {digest}"})
    await stream.send({"status": f"Status: Downloaded newer image for {ref.familiar()}"})
    return await stream.finish()


async def _import(request: web.Request) -> web.StreamResponse:
    """``docker import``: ``fromSrc=-`` with the tar as the body, ``repo``, ``tag``,
    ``changes``, ``message``, ``platform``."""
    from dockyard.images import import_rootfs
    from dockyard.oci import Platform

    c = ctx(request)
    if params.text(request, "fromSrc") != "-":
        raise InvalidArgument("import: only fromSrc=- (the body) is supported, not URLs")
    repo, tag_ = params.text(request, "repo"), params.text(request, "tag")
    name = f"{repo}:{tag_}" if repo and tag_ else repo
    platform_text = params.text(request, "platform")
    plat = Platform.parse(platform_text) if platform_text else None
    changes = [v for v in request.query.getall("changes", []) if v]
    c.roots.tmp.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=c.roots.tmp, prefix="api-import-")
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.content.iter_chunked(1 << 20):
                await c.run(out.write, chunk)
        with open(path, "rb") as src:
            img = await c.run(lambda: import_rootfs(
                c.images(), src, name, changes=changes,
                message=params.text(request, "message"), platform=plat))
    finally:
        os.unlink(path)
    from dockyard.engine.image_verbs import log_imported

    log_imported(c.roots, str(img.id))
    stream = JsonStream(request)
    await stream.send({"status": str(img.id)})
    return await stream.finish()


async def push_image(request: web.Request) -> web.StreamResponse:
    from dockyard.distribution import push
    from dockyard.oci import parse_reference

    c = ctx(request)
    name = _name(request)
    tag_ = params.text(request, "tag")
    ref = parse_reference(f"{name}:{tag_}" if tag_ else name)
    stream = JsonStream(request)
    await c.run(lambda: c.images().resolve(str(ref)))
    await stream.send({"status": f"The push refers to repository [{ref.name}]"})
    try:
        sent = await push(c.images(), str(ref), ref, insecure=insecure_registries(),
                          auth=_auth(request, ref.domain))
    except DockyardError as err:
        return await stream.fail(err)
    from dockyard.engine.events import image_event

    image_event(c.roots, "push", ref.familiar(), ref.familiar())
    await stream.send({"status": f"{ref.tag}: digest: {sent.digest} size: {sent.size}"})
    await stream.send({"progressDetail": {}, "aux": {"Tag": ref.tag, "Digest": str(sent.digest),
                                                     "Size": sent.size}})
    return await stream.finish()


async def search(request: web.Request) -> web.StreamResponse:
    """No registry offers search here (Docker Hub is the only one that does)."""
    term = params.text(request, "term")
    if not term:
        raise InvalidArgument("term: missing")
    params.integer(request, "limit")
    params.filters(request)
    return reply([])


async def distribution(request: web.Request) -> web.StreamResponse:
    """The manifest descriptor and platforms of a reference, from its registry."""
    from dockyard.distribution import describe
    from dockyard.oci import parse_reference

    ref = parse_reference(_name(request))
    return reply(await describe(ref, insecure=insecure_registries(),
                                auth=_auth(request, ref.domain)))


def routes(r: Router) -> None:
    from dockyard.api import build

    r.get("/images/json", list_images)
    r.post("/images/create", create)
    r.post("/images/load", load_images)
    r.get("/images/get", get_images)
    r.get("/images/search", search)
    r.post("/images/prune", prune)
    r.get("/images/{name:.+}/json", inspect)
    r.get("/images/{name:.+}/history", history)
    r.get("/images/{name:.+}/get", get_images)
    r.post("/images/{name:.+}/tag", tag)
    r.post("/images/{name:.+}/push", push_image)
    r.delete("/images/{name:.+}", remove)
    r.get("/distribution/{name:.+}/json", distribution)
    build.routes(r)
