"""Container endpoints that answer with one JSON document (streams: ``container_io``)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, client_gone, ctx, json_body, reply
from dockyard.api.context import ApiContext
from dockyard.api.validate import check_typed, expect_dict, normalise_strslices
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound, SystemFailure

__all__ = ["routes", "wait_started"]


def _ref(request: web.Request) -> str:
    ref = request.match_info["id"]
    if "\x00" in ref or not ref.strip():
        raise InvalidArgument(f"invalid container reference: {ref!r}")
    return ref


async def list_containers(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    limit = params.integer(request, "limit", -1)
    result = await c.run(lambda: c.engine().list(
        all=params.boolean(request, "all"), limit=limit if limit is not None else -1,
        filters=params.filters(request), size=params.boolean(request, "size")))
    return reply(result)


def _create_body(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    from dockyard.engine.model import Config, HostConfig

    body = dict(body)
    host_config = dict(expect_dict(body.pop("HostConfig", None), "HostConfig"))
    networking = expect_dict(body.pop("NetworkingConfig", None), "NetworkingConfig")
    normalise_strslices(body)
    check_typed(body, Config, "Config")
    check_typed(host_config, HostConfig, "HostConfig")
    config = {k: v for k, v in body.items() if v is not None}
    host_config = {k: v for k, v in host_config.items() if v is not None}
    if not config.get("Image"):
        raise InvalidArgument("config cannot be empty in order to create a container")
    return config, host_config, dict(networking)


async def create(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    name = params.text(request, "name") or None
    platform = params.text(request, "platform")
    if platform and platform.split("/")[0] not in ("linux", ""):
        raise InvalidArgument(f"unsupported platform: {platform}")
    config, host_config, networking = _create_body(await json_body(request, required=True))
    result = await c.run(_create, c, name, config,
                         host_config, networking)
    return reply(result, status=201)


def _create(c: ApiContext, name: str | None, config: dict[str, Any],
            host_config: dict[str, Any], networking: dict[str, Any]) -> dict[str, Any]:
    return dict(c.engine().create(name, config, host_config, networking))


async def inspect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    info = await c.run(lambda: c.engine().inspect(ref))
    if params.boolean(request, "size"):
        rows = await c.run(lambda: c.engine().list(all=True, filters={"id": [info["Id"]]},
                                                   size=True))
        if rows:
            info = {**info, "SizeRw": rows[0].get("SizeRw", 0),
                    "SizeRootFs": rows[0].get("SizeRootFs", 0)}
    return reply(info)


def _running(c: ApiContext, ref: str) -> bool:
    return bool(c.engine().inspect(ref)["State"].get("Running"))


async def start(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    await json_body(request)  # old clients send a HostConfig here; docker ignores it now
    if await c.run(_running, c, ref):
        return web.Response(status=304)
    point = c.attach_points.get(await c.run(lambda: c.engine().resolve(ref)))
    await c.run(lambda: c.engine().start(ref, point.spec if point is not None else None))
    return web.Response(status=204)


def _timeout(request: web.Request) -> int | None:
    t = params.integer(request, "t")
    return params.integer(request, "timeout") if t is None else t


async def stop(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    timeout = _timeout(request)
    if not await c.run(_running, c, ref):
        return web.Response(status=304)
    await c.run(lambda: c.engine().stop(ref, timeout))
    return web.Response(status=204)


async def restart(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    timeout = _timeout(request)
    await c.run(lambda: c.engine().restart(ref, timeout))
    return web.Response(status=204)


async def kill(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    sig = params.text(request, "signal") or "KILL"
    try:
        await c.run(lambda: c.engine().kill(ref, int(sig) if sig.isdigit() else sig))
    except NotFound as err:
        raise NotFound(f"Cannot kill container: {ref}: {err}") from None
    return web.Response(status=204)


async def pause(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    await c.run(lambda: c.engine().pause(ref))
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    await c.run(lambda: c.engine().unpause(ref))
    return web.Response(status=204)


def wait_started(c: ApiContext, cid: str, before: str,
                 stopped: Callable[[], bool]) -> dict[str, Any] | None:
    """Block until the container has started since ``before`` (its StartedAt then);
    its State then, or None if it was removed or ``stopped()`` turned true first."""
    while not stopped():
        try:
            state: dict[str, Any] = dict(c.engine().inspect(cid)["State"])
        except DockyardError:
            return None
        if state.get("Running") or state.get("StartedAt") != before:
            return state
        time.sleep(0.01)
    return None


def _wait_exit(c: ApiContext, cid: str, condition: str, state: dict[str, Any],
               gone: Callable[[], bool]) -> dict[str, Any]:
    """The wait's answer, {} if the client left first. Polls in one-second slices so a
    client that left (or a stopping server) frees the thread."""
    if condition != "not-running" and not state.get("Running"):
        started = wait_started(c, cid, state.get("StartedAt", ""), gone)
        if started is None:
            return {} if gone() else {"StatusCode": int(state.get("ExitCode") or 0),
                                      "Error": None}
        state = started
    result: dict[str, Any] = {}
    while not gone():
        try:
            result = c.engine().wait(cid, "not-running", timeout=1.0)
            break
        except NotFound:  # removed (--rm) before we looked again
            return {"StatusCode": int(state.get("ExitCode") or 0), "Error": None}
        except SystemFailure as err:
            if "did not exit within" not in str(err):
                return {"StatusCode": -1, "Error": {"Message": str(err)}}
        except DockyardError as err:
            return {"StatusCode": -1, "Error": {"Message": str(err)}}
    while condition == "removed" and result and not gone():
        try:
            c.engine().wait(cid, "removed", timeout=1.0)
            c.engine().resolve(cid)
        except NotFound:
            break
    return result if not gone() else {}


async def wait(request: web.Request) -> web.StreamResponse:
    """Headers go out at once (the client then starts the container); the body when
    the condition is met. ``next-exit`` and ``removed`` on a container that has not
    started yet wait for its start first, as docker's do."""
    c = ctx(request)
    ref = _ref(request)
    condition = params.text(request, "condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise InvalidArgument(f"invalid condition: {condition!r}")
    info = await c.run(lambda: c.engine().inspect(ref))
    cid, state = info["Id"], info["State"]
    resp = web.StreamResponse()
    resp.content_type = "application/json"
    await resp.prepare(request)
    gone = client_gone(request)
    result = await c.run(_wait_exit, c, cid, condition, state, gone)
    if result:
        await resp.write(json.dumps(result).encode() + b"\n")
    with contextlib.suppress(ConnectionError, RuntimeError):
        await resp.write_eof()
    return resp


async def remove(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    force, volumes = params.boolean(request, "force"), params.boolean(request, "v")
    if params.boolean(request, "link"):
        raise Conflict("Conflict, cannot remove the default link name of the container")
    await c.run(lambda: c.engine().remove(ref, force=force, volumes=volumes))
    return web.Response(status=204)


async def rename(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    name = params.text(request, "name")
    if not name:
        raise InvalidArgument("Neither old nor new names may be empty")
    await c.run(lambda: c.engine().rename(ref, name))
    return web.Response(status=204)


async def update(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.model import HostConfig

    c = ctx(request)
    ref = _ref(request)
    body = await json_body(request)
    check_typed(body, HostConfig, "HostConfig")
    resources = {k: v for k, v in body.items() if v is not None}
    warnings = await c.run(lambda: c.engine().update(ref, resources))
    return reply({"Warnings": warnings})


async def commit(request: web.Request) -> web.StreamResponse:
    """``docker commit``: ``container``, ``repo``, ``tag``, ``comment``, ``author``,
    ``pause`` and ``changes`` (Dockerfile instructions) in the query."""
    c = ctx(request)
    ref = params.text(request, "container")
    if not ref:
        raise InvalidArgument("commit: container: missing")
    repo, tag = params.text(request, "repo"), params.text(request, "tag")
    repo_tag = f"{repo}:{tag}" if repo and tag else repo
    changes = [v for v in request.query.getall("changes", []) if v]
    body = await json_body(request)
    if any(v not in (None, "", [], {}) for v in body.values()):
        raise InvalidArgument("commit: a config in the body is not supported; "
                              "pass Dockerfile instructions in changes")
    image_id = await c.run(lambda: c.engine().commit(
        ref, repo_tag, changes, params.text(request, "comment"),
        params.text(request, "author"), params.boolean(request, "pause", True)))
    return reply({"Id": image_id}, status=201)


async def resize(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.monitor import resize as monitor_resize

    c = ctx(request)
    ref = _ref(request)
    h, w = params.integer(request, "h", 0) or 0, params.integer(request, "w", 0) or 0
    if not (0 <= h < 65536 and 0 <= w < 65536):
        raise InvalidArgument(f"invalid terminal size {h}x{w}")

    def apply() -> None:
        eng = c.engine()
        if not eng.inspect(ref)["State"].get("Running"):
            raise Conflict(f"Container {eng.resolve(ref)} is not running")
        monitor_resize(eng.run_dir(ref), h, w)
        eng.log_event(ref, "resize", height=str(h), width=str(w))

    await c.run(apply)
    return web.Response(status=200)


async def top(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    ps_args = params.text(request, "ps_args") or "-ef"
    return reply(await c.run(lambda: c.engine().top(ref, ps_args)))


async def changes(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = _ref(request)
    return reply(await c.run(lambda: c.engine().changes(ref)) or None)


async def prune(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    unsupported = set(params.filters(request)) - set()
    if unsupported:
        raise InvalidArgument(f"invalid filter '{sorted(unsupported)[0]}'")
    result = await c.run(lambda: c.engine().prune())
    return reply(result)


def routes(r: Router) -> None:
    from dockyard.api import attach, container_io

    r.get("/containers/json", list_containers)
    r.post("/containers/create", create)
    r.post("/containers/prune", prune)
    r.get("/containers/{id}/json", inspect)
    r.post("/containers/{id}/start", start)
    r.post("/containers/{id}/stop", stop)
    r.post("/containers/{id}/restart", restart)
    r.post("/containers/{id}/kill", kill)
    r.post("/containers/{id}/pause", pause)
    r.post("/containers/{id}/unpause", unpause)
    r.post("/containers/{id}/wait", wait)
    r.delete("/containers/{id}", remove)
    r.post("/containers/{id}/rename", rename)
    r.post("/containers/{id}/update", update)
    r.post("/containers/{id}/resize", resize)
    r.get("/containers/{id}/top", top)
    r.get("/containers/{id}/changes", changes)
    r.post("/commit", commit)
    container_io.routes(r)
    attach.routes(r)
