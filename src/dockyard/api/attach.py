"""Attach: the hijacked ``/containers/{id}/attach`` and the websocket ``attach/ws``.

An attach made before start (``docker run`` makes one) waits for the start. Without
stdin or a tty, output is read from the container's log, which has every byte from the
first; with a tty or stdin it goes through the monitor's attach (a prompt has no
newline, so it is not in the log yet), after replaying what was logged before. With the
``none`` log driver the monitor's attach carries the output too. For those, an attach
made before the start holds an ``AttachPoint`` the start hands to the new monitor, which
connects to it before the container exists: no output is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx
from dockyard.api.container_io import MULTIPLEXED, RAW, _driver, _entries
from dockyard.api.containers import wait_started
from dockyard.api.context import ApiContext
from dockyard.api.streams import Conn, WsConn, frame, hijack, pump
from dockyard.errors import Conflict, DockyardError, InvalidArgument

__all__ = ["routes"]

log = logging.getLogger("dockyard.api")


@dataclass(frozen=True)
class _Want:
    stdin: bool
    stdout: bool
    stderr: bool
    stream: bool
    past: bool
    keys: bytes


def _want(request: web.Request) -> _Want:
    from dockyard.engine.monitor import DEFAULT_DETACH_KEYS, parse_detach_keys

    keys_text = params.text(request, "detachKeys")
    want = _Want(params.boolean(request, "stdin"), params.boolean(request, "stdout"),
                 params.boolean(request, "stderr"), params.boolean(request, "stream"),
                 params.boolean(request, "logs"),
                 parse_detach_keys(keys_text) if keys_text else DEFAULT_DETACH_KEYS)
    if not want.stream and not want.past:
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    return want


@contextlib.contextmanager
def _attach_point(c: ApiContext, cid: str, wanted: bool) -> Iterator[Any]:
    """While an attach made before start waits: the ``AttachPoint`` the start hands to
    the new monitor (one a container; the first attach to wait has it)."""
    if not wanted or cid in c.attach_points:
        yield None
        return
    from dockyard.engine.monitor import AttachPoint

    point = AttachPoint()
    c.attach_points[cid] = point
    try:
        yield point
    finally:
        if c.attach_points.get(cid) is point:
            del c.attach_points[cid]
        point.close()


async def _relay_monitor(c: ApiContext, conn: Conn, run_dir: str, *, tty: bool,
                         stdin: bool, stdout: bool, stderr: bool, detach_keys: bytes,
                         multiplex: bool,
                         on_attached: Callable[[], Awaitable[None]] | None,
                         sock: socket.socket | None = None) -> None:
    """Both directions through the monitor's attach until the container ends, the
    client leaves or types the detach keys. ``on_attached`` runs once the monitor has
    accepted (to replay what was logged before). ``sock``: the monitor's connection to
    our attach point (its reply line comes next), else we connect."""
    from dockyard.engine.monitor import DetachFilter, connect
    from dockyard.engine.monitor import protocol as P

    loop = asyncio.get_running_loop()
    ours = sock is None
    # The State says running a moment before the monitor's socket takes connections.
    for _ in range(200 if ours else 0):
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
        if ours:
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
                if wanted and not await conn.write(frame(kind, payload) if multiplex else payload):
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


async def _serve(c: ApiContext, conn: Conn, info: dict[str, Any], want: _Want,
                 arrived_ns: int, multiplex: bool) -> None:
    """Relay until the container ends, the client leaves or detaches."""
    from dockyard.engine.logs import format_entry

    cid, cfg, state = info["Id"], info["Config"], info["State"]
    tty, driver = bool(cfg.get("Tty")), _driver(info)
    cdir = await c.run(lambda: c.engine().container_dir(cid))
    run_dir = await c.run(lambda: c.engine().run_dir(cid))
    gone = conn.closed
    stdin = want.stdin and bool(cfg.get("OpenStdin"))

    def entries_gen(since_ns: int | None, until_ns: int | None,
                    follow: bool) -> Callable[[Callable[[], bool]], Iterator[Any]]:
        def gen(stopped: Callable[[], bool]) -> Iterator[Any]:
            return _entries(c, cid, cdir, driver, stdout=want.stdout, stderr=want.stderr,
                            since_ns=since_ns, until_ns=until_ns, tail=None, follow=follow,
                            stopped=lambda: stopped() or gone.is_set())
        return gen

    async def send_entries(gen: Callable[[Callable[[], bool]], Iterator[Any]]) -> None:
        async for entry in pump(c.pool, gen):
            data = format_entry(entry)
            if not await conn.write(frame(2 if entry.stream == "stderr" else 1, data)
                                    if multiplex else data):
                return

    async def output() -> None:
        since: int | None = None if want.past else arrived_ns
        early: socket.socket | None = None  # the monitor's, connected before the start
        if want.stream and not state.get("Running"):
            with _attach_point(c, cid, tty or stdin or driver == "none") as point:
                started = await c.run(wait_started, c, cid, state.get("StartedAt", ""),
                                      gone.is_set)
                if started is not None and point is not None:
                    early = point.accept()
            if started is None:
                return
        if not want.stream:
            if driver != "none":
                await send_entries(entries_gen(None, None, False))
            return
        if tty or stdin or driver == "none":
            # an early attach has all of this run's output: replay only what came before
            until = arrived_ns if early is not None else time.time_ns()

            async def replay() -> None:
                if driver != "none":
                    await send_entries(entries_gen(since, until - 1, False))

            try:
                await _relay_monitor(c, conn, run_dir, tty=tty, stdin=stdin,
                                     stdout=want.stdout, stderr=want.stderr,
                                     detach_keys=want.keys, multiplex=multiplex,
                                     on_attached=replay, sock=early)
            except (DockyardError, OSError) as err:
                log.debug("attach %s: %s", cid, err)
            return
        await send_entries(entries_gen(since, None, True))

    out_task = asyncio.ensure_future(output())
    closed = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait([out_task, closed], return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.set()
        for t in (out_task, closed):
            t.cancel()
        with contextlib.suppress(BaseException):
            await out_task


async def _begin(request: web.Request) -> tuple[Any, _Want, dict[str, Any], int]:
    """What both attach endpoints start with: the context, the streams asked for, the
    container's inspect (its ``attach`` event logged) and when the client arrived."""
    c = ctx(request)
    ref = request.match_info["id"]
    want = _want(request)
    info = await c.run(lambda: c.engine().inspect(ref))
    await c.run(lambda: c.engine().log_event(ref, "attach"))
    return c, want, info, time.time_ns()


async def attach(request: web.Request) -> web.StreamResponse:
    c, want, info, arrived_ns = await _begin(request)
    tty = bool(info["Config"].get("Tty"))
    conn = await hijack(request, RAW if tty else MULTIPLEXED)
    await _serve(c, conn, info, want, arrived_ns, multiplex=not tty)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await conn.resp.write_eof()
    return conn.resp


async def attach_ws(request: web.Request) -> web.StreamResponse:
    """The same over a websocket: raw bytes both ways, no multiplexing."""
    c, want, info, arrived_ns = await _begin(request)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    conn = WsConn(ws)
    try:
        await _serve(c, conn, info, want, arrived_ns, multiplex=False)
    finally:
        conn.reader.cancel()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close()
    return ws


def routes(r: Router) -> None:
    r.post("/containers/{id}/attach", attach)
    r.get("/containers/{id}/attach/ws", attach_ws)
