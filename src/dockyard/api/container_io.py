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
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, client_gone, ctx
from dockyard.api.containers import wait_started
from dockyard.api.context import ApiContext
from dockyard.api.streams import RawConn, frame, hijack, pump
from dockyard.errors import Conflict, DockyardError, InvalidArgument

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


async def _relay_monitor(c: ApiContext, conn: RawConn, run_dir: str, *, tty: bool,
                         stdin: bool, stdout: bool, stderr: bool, detach_keys: bytes,
                         on_attached: Callable[[], Awaitable[None]] | None) -> None:
    """Both directions through the monitor's attach until the container ends, the
    client leaves or types the detach keys. ``on_attached`` runs once the monitor has
    accepted (to replay what was logged before)."""
    from dockyard.engine.monitor import DetachFilter, connect
    from dockyard.engine.monitor import protocol as P

    loop = asyncio.get_running_loop()
    sock: socket.socket | None = None
    # The State says running a moment before the monitor's socket takes connections.
    for _ in range(200):
        try:
            sock = await c.run(connect, run_dir, None)
            break
        except Conflict:
            if conn.closed.is_set():
                return
            await asyncio.sleep(0.025)
    if sock is None:
        raise Conflict(f"container is not running: no monitor in {run_dir}")
    feeder: asyncio.Future[None] | None = None
    try:
        sock.sendall(P.dumps({"op": "attach", "stdin": stdin, "stdout": True,
                              "stderr": True}).encode() + b"\n")
        sock.setblocking(False)
        data = b""
        while b"\n" not in data:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                return
            data += chunk
        if on_attached is not None:
            await on_attached()

        async def feed() -> None:
            keys = DetachFilter(detach_keys)
            while True:
                chunk = await conn.read()
                if not chunk:
                    await loop.sock_sendall(sock, P.encode_frame(P.STDIN_CLOSE))
                    return
                forward, detached = keys.feed(chunk)
                if forward:
                    await loop.sock_sendall(sock, P.encode_frame(P.STDIN, forward))
                if detached:
                    conn.closed.set()
                    sock.shutdown(socket.SHUT_RDWR)
                    return

        if stdin:
            feeder = asyncio.ensure_future(feed())
        reader = P.FrameReader()
        pending = data.partition(b"\n")[2]
        while True:
            for kind, payload in reader.feed(pending):
                if kind == P.EXIT:
                    return
                wanted = (kind == P.STDOUT and stdout) or (kind == P.STDERR and stderr)
                if wanted and not await conn.write(payload if tty else frame(kind, payload)):
                    return
            pending = await loop.sock_recv(sock, 65536)
            if not pending:
                return
    finally:
        if feeder is not None:
            feeder.cancel()
            with contextlib.suppress(BaseException):
                await feeder
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

    def entries_gen(since_ns: int | None, until_ns: int | None,
                    follow: bool) -> Callable[[Callable[[], bool]], Iterator[Any]]:
        def gen(stopped: Callable[[], bool]) -> Iterator[Any]:
            return _entries(c, cid, cdir, driver, stdout=want_out, stderr=want_err,
                            since_ns=since_ns, until_ns=until_ns, tail=None, follow=follow,
                            stopped=lambda: stopped() or gone.is_set())
        return gen

    async def send_entries(gen: Callable[[Callable[[], bool]], Iterator[Any]]) -> None:
        async for entry in pump(c.pool, gen):
            data = format_entry(entry)
            if not await conn.write(data if tty else
                                    frame(2 if entry.stream == "stderr" else 1, data)):
                return

    async def output() -> None:
        since: int | None = None if past else arrived_ns
        if stream and not state.get("Running"):
            started = await c.run(wait_started, c, cid, state.get("StartedAt", ""),
                                  gone.is_set)
            if started is None:
                return
        if not stream:
            if driver != "none":
                await send_entries(entries_gen(None, None, False))
            return
        interactive = tty or (want_in and bool(cfg.get("OpenStdin")))
        if interactive or driver == "none":
            # Live bytes (a prompt without its newline, typed input echoed) come only
            # through the monitor; the log fills in what came before the attach.
            async def replay() -> None:
                if driver != "none":
                    await send_entries(entries_gen(since, time.time_ns() - 1, False))

            try:
                await _relay_monitor(c, conn, run_dir, tty=tty,
                                     stdin=want_in and bool(cfg.get("OpenStdin")),
                                     stdout=want_out, stderr=want_err, detach_keys=keys,
                                     on_attached=replay)
            except (DockyardError, OSError) as err:
                log.debug("attach %s: %s", cid, err)
            return
        await send_entries(entries_gen(since, None, True))

    out_task = asyncio.ensure_future(output())
    tasks.append(out_task)
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
