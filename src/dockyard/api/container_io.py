"""Container streams: logs, attach (hijacked), export.

Output comes from the container's log (which holds every byte from the first) where
its driver can be read, so an attach made before start, or a little after, misses
nothing; input goes through the monitor's attach. With the ``none`` driver the
monitor's attach carries the output too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx
from dockyard.api.containers import wait_started
from dockyard.api.context import ApiContext
from dockyard.api.streams import RawConn, frame, hijack, pump
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["routes"]

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

    def gen(stopped: Callable[[], bool]) -> Iterator[Any]:
        return _entries(c, cid, cdir, driver, stdout=stdout, stderr=stderr, since_ns=since_ns,
                        until_ns=until_ns, tail=tail, follow=follow, stopped=stopped)

    try:
        async for entry in pump(c.pool, gen):
            data = format_entry(entry, timestamps, details)
            await resp.write(data if tty else frame(2 if entry.stream == "stderr" else 1, data))
    except (ConnectionError, asyncio.CancelledError):
        raise
    with contextlib.suppress(ConnectionError):
        await resp.write_eof()
    return resp


async def _relay_input(c: ApiContext, conn: RawConn, run_dir: str, tty: bool,
                       detach_keys: bytes) -> None:
    """Client bytes → the container's stdin, through the monitor, until either ends."""
    from dockyard.engine.monitor import DetachFilter, connect
    from dockyard.engine.monitor import protocol as P

    loop = asyncio.get_running_loop()
    sock: socket.socket = await c.run(connect, run_dir, None)
    try:
        sock.sendall(b'{"op": "attach", "stdin": true, "stdout": false, "stderr": false}\n')
        sock.setblocking(False)
        data = b""
        while b"\n" not in data:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                return
            data += chunk
        keys = DetachFilter(detach_keys)
        while True:
            chunk = await conn.read()
            if not chunk:
                await loop.sock_sendall(sock, P.encode_frame(P.STDIN_CLOSE))
                # The monitor closes stdin for StdinOnce; keep the socket a moment so
                # the close frame is read before we hang up.
                await asyncio.sleep(0.05)
                return
            forward, detached = keys.feed(chunk)
            if forward:
                await loop.sock_sendall(sock, P.encode_frame(P.STDIN, forward))
            if detached:
                conn.closed.set()
                return
    finally:
        sock.close()


async def _relay_monitor_output(c: ApiContext, conn: RawConn, run_dir: str, tty: bool,
                                stdout: bool, stderr: bool) -> None:
    """Output through the monitor's attach (for the ``none`` log driver)."""
    from dockyard.engine.monitor import connect
    from dockyard.engine.monitor import protocol as P

    loop = asyncio.get_running_loop()
    sock: socket.socket = await c.run(connect, run_dir, None)
    try:
        sock.sendall(b'{"op": "attach", "stdin": false, "stdout": true, "stderr": true}\n')
        sock.setblocking(False)
        reader = P.FrameReader()
        data = b""
        while b"\n" not in data:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                return
            data += chunk
        pending = data.partition(b"\n")[2]
        while True:
            for kind, payload in reader.feed(pending):
                if kind == P.EXIT:
                    return
                if (kind == P.STDOUT and stdout) or (kind == P.STDERR and stderr):
                    out = payload if tty else frame(kind, payload)
                    if not await conn.write(out):
                        return
            pending = await loop.sock_recv(sock, 65536)
            if not pending:
                return
    finally:
        sock.close()


async def attach(request: web.Request) -> web.StreamResponse:
    from dockyard.engine.logs import format_entry
    from dockyard.engine.monitor import DEFAULT_DETACH_KEYS, parse_detach_keys

    c = ctx(request)
    ref = request.match_info["id"]
    want_in = params.boolean(request, "stdin")
    want_out, want_err = params.boolean(request, "stdout"), params.boolean(request, "stderr")
    stream, past = params.boolean(request, "stream"), params.boolean(request, "logs")
    keys_text = params.text(request, "detachKeys")
    keys = parse_detach_keys(keys_text) if keys_text else DEFAULT_DETACH_KEYS
    if not stream and not past:
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    info = await c.run(lambda: c.engine().inspect(ref))
    cid, cfg, state = info["Id"], info["Config"], info["State"]
    tty, driver = bool(cfg.get("Tty")), _driver(info)
    cdir = await c.run(lambda: c.engine().container_dir(cid))
    run_dir = await c.run(lambda: c.engine().run_dir(cid))
    arrived_ns = time.time_ns()
    conn = await hijack(request, RAW if tty else MULTIPLEXED)
    tasks: list[asyncio.Future[Any]] = []
    gone = conn.closed

    async def output() -> None:
        since: int | None = None if past else arrived_ns
        if stream and not state.get("Running"):
            started = await c.run(wait_started, c, cid, state.get("StartedAt", ""),
                                  gone.is_set)
            if not started:
                return
        if driver == "none":
            if stream:
                await _relay_monitor_output(c, conn, run_dir, tty, want_out, want_err)
            return

        def gen(stopped: Callable[[], bool]) -> Iterator[Any]:
            return _entries(c, cid, cdir, driver, stdout=want_out, stderr=want_err,
                            since_ns=since, until_ns=None, tail=None, follow=stream,
                            stopped=lambda: stopped() or gone.is_set())

        async for entry in pump(c.pool, gen):
            data = format_entry(entry)
            if not await conn.write(data if tty else
                                    frame(2 if entry.stream == "stderr" else 1, data)):
                return

    async def input_() -> None:
        if stream and not state.get("Running") and not await c.run(
                wait_started, c, cid, state.get("StartedAt", ""), gone.is_set):
            return
        with contextlib.suppress(DockyardError, OSError):
            await _relay_input(c, conn, run_dir, tty, keys)

    out_task = asyncio.ensure_future(output())
    tasks.append(out_task)
    if want_in and stream and cfg.get("OpenStdin"):
        tasks.append(asyncio.ensure_future(input_()))
    closed = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait([out_task, closed], return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.set()
        for t in [*tasks, closed]:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
    with contextlib.suppress(ConnectionError, RuntimeError):
        await conn.resp.write_eof()
    return conn.resp


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
    r.post("/containers/{id}/attach", attach)
    r.get("/containers/{id}/export", export)
