"""Exec endpoints: create, start (hijacked or detached), resize, inspect.

A started exec gets pipes for its stdio; the handler relays them to the hijacked
connection (multiplexed frames without a tty). When the client goes away the exec's
input is closed and, if it still runs, it is killed: nothing is left hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx, json_body, reply
from dockyard.api.context import ApiContext
from dockyard.api.streams import frame, hijack
from dockyard.api.validate import expect_dict, normalise_strslices
from dockyard.errors import InvalidArgument

__all__ = ["routes"]

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "User": str, "Privileged": bool, "Tty": bool, "AttachStdin": bool, "AttachStderr": bool,
    "AttachStdout": bool, "Detach": bool, "DetachKeys": str, "Env": list, "WorkingDir": str,
    "Cmd": list, "ConsoleSize": list,
}


async def create(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    body = await json_body(request, required=True)
    normalise_strslices(body)
    config: dict[str, Any] = {}
    value: Any
    for key, value in body.items():
        if key not in _FIELDS or value is None:
            continue
        kind = _FIELDS[key]
        right_type = isinstance(value, kind)
        if not right_type or (kind is not bool and isinstance(value, bool)):
            raise InvalidArgument(f"ExecConfig.{key}: wrong type {type(value).__name__}")
        if key in ("Cmd", "Env") and not all(isinstance(v, str) and "\x00" not in v
                                              for v in value):
            raise InvalidArgument(f"ExecConfig.{key}: expected a list of strings")
        if key == "ConsoleSize" and not (len(value) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 65536
                for v in value)):
            raise InvalidArgument("ExecConfig.ConsoleSize: expected two sizes")
        if isinstance(value, str) and "\x00" in value:
            raise InvalidArgument(f"ExecConfig.{key}: contains a NUL byte")
        config[key] = value
    exec_id = await c.run(lambda: c.engine().exec_create(ref, config))
    return reply({"Id": exec_id}, status=201)


async def inspect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    exec_id = request.match_info["id"]
    return reply(await c.run(lambda: c.engine().exec_inspect(exec_id)))


async def resize(request: web.Request) -> web.StreamResponse:
    """Checked and accepted; the runtime's exec proxy keeps its pty at the size it had
    (no channel to resize it yet)."""
    c = ctx(request)
    exec_id = request.match_info["id"]
    params.integer(request, "h")
    params.integer(request, "w")
    await c.run(lambda: c.engine().exec_inspect(exec_id))
    return web.Response(status=200)


async def _pipe_to_conn(fd: int, send: Any, stream: int, tty: bool) -> None:
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    ready = asyncio.Event()
    loop.add_reader(fd, ready.set)
    try:
        while True:
            await ready.wait()
            ready.clear()
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                return
            if not await send(data if tty else frame(stream, data)):
                return
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def start(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    exec_id = request.match_info["id"]
    body = expect_dict(await json_body(request), "ExecStartConfig")
    detach = bool(body.get("Detach"))
    info = await c.run(lambda: c.engine().exec_inspect(exec_id))
    if detach:
        await c.run(lambda: c.engine().exec_start(exec_id, detach=True))
        return web.Response(status=200)
    tty = bool(info["ProcessConfig"]["tty"])
    want_in = bool(info["OpenStdin"])
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC) if not tty else (-1, -1)
    conn = await hijack(request, "application/vnd.docker.raw-stream" if tty else
                        "application/vnd.docker.multiplexed-stream")
    run = asyncio.ensure_future(c.run(lambda: c.engine().exec_start(
        exec_id, stdio=(in_r if want_in else None, out_w, err_w if not tty else out_w))))
    # The child has its copies once Popen returned; ours must go for EOF to work.
    await asyncio.sleep(0)

    async def close_parent_ends() -> None:
        for _ in range(500):
            if run.done():
                break
            pid: int = await c.run(_exec_pid, c, exec_id)
            if pid:
                break
            await asyncio.sleep(0.01)
        for fd in (in_r, out_w, err_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    async def feed_input() -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await conn.read()
                if not data:
                    return
                await loop.run_in_executor(c.pool, _write_all, in_w, data)
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                os.close(in_w)

    closer = asyncio.ensure_future(close_parent_ends())
    pumps = [asyncio.ensure_future(_pipe_to_conn(out_r, conn.write, 1, tty))]
    if not tty:
        pumps.append(asyncio.ensure_future(_pipe_to_conn(err_r, conn.write, 2, tty)))
    feeder = asyncio.ensure_future(feed_input()) if want_in else None
    if feeder is None:
        os.close(in_w)
    gone = asyncio.ensure_future(conn.closed.wait())
    finished: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*pumps, run))
    await asyncio.wait([finished, gone], return_when=asyncio.FIRST_COMPLETED)
    if not finished.done():  # the client left: end the process, then wait for it
        await c.run(lambda: c.engine().exec_kill(exec_id))
        with contextlib.suppress(BaseException):
            await finished
    await closer
    for task in (feeder, gone):
        if task is not None:
            task.cancel()
    with contextlib.suppress(ConnectionError, RuntimeError):
        await conn.resp.write_eof()
    return conn.resp


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _exec_pid(c: ApiContext, exec_id: str) -> int:
    with contextlib.suppress(Exception):
        return int(c.engine().exec_inspect(exec_id).get("Pid") or 0)
    return 0


def routes(r: Router) -> None:
    r.post("/containers/{id}/exec", create)
    r.post("/exec/{id}/start", start)
    r.post("/exec/{id}/resize", resize)
    r.get("/exec/{id}/json", inspect)
