"""Raw streams: docker's hijacked connections and its 8-byte multiplexing frames.

``hijack`` answers ``101 UPGRADED`` (``Upgrade: tcp``) when the client asked for an
upgrade, else ``200`` with the raw stream, and returns a ``RawConn`` to read the
client's bytes from and write ours to. ``frame`` builds docker's stream headers
(``[stream, 0, 0, 0, size32be]``); a tty stream is sent raw. ``pump`` runs a blocking
generator (log reading) in a worker thread and yields its items to the event loop,
stopping the thread when the client goes away.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from aiohttp import web

__all__ = ["Conn", "RawConn", "WsConn", "frame", "hijack", "pump"]

T = TypeVar("T")
STDIN, STDOUT, STDERR = 0, 1, 2


def frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame."""
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


class _RawResponse(web.StreamResponse):
    # No chunked encoding and no length: after the headers the bytes are the stream.
    _length_check = False


class Conn(Protocol):
    """A client stream: the hijacked connection or a websocket."""

    closed: asyncio.Event

    async def read(self) -> bytes: ...

    async def write(self, data: bytes) -> bool: ...


class WsConn:
    """A websocket as a ``Conn`` (``attach/ws``): binary or text messages in, binary out.
    A reader task runs from the start so that a close from the client is seen."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.closed = asyncio.Event()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read_all())

    async def _read_all(self) -> None:
        from aiohttp import WSMsgType

        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.BINARY:
                    self.queue.put_nowait(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    self.queue.put_nowait(msg.data.encode())
        finally:
            self.closed.set()
            self.queue.put_nowait(b"")

    async def read(self) -> bytes:
        return await self.queue.get()

    async def write(self, data: bytes) -> bool:
        if self.closed.is_set() or self.ws.closed:
            return False
        try:
            await self.ws.send_bytes(data)
        except (ConnectionError, RuntimeError):
            self.closed.set()
            return False
        return True


class RawConn:
    """The hijacked connection: ``read()`` the client's bytes (b"" at its end),
    ``write()`` ours; ``closed`` is set once the client has gone."""

    def __init__(self, resp: web.StreamResponse, queue: asyncio.Queue[bytes]) -> None:
        self.resp = resp
        self.queue = queue
        self.closed = asyncio.Event()

    async def read(self) -> bytes:
        return await self.queue.get()

    async def write(self, data: bytes) -> bool:
        """False once the client is gone."""
        if self.closed.is_set():
            return False
        try:
            await self.resp.write(data)
        except (ConnectionError, RuntimeError):
            self.closed.set()
            return False
        return True


async def hijack(request: web.Request, content_type: str) -> RawConn:
    """Take over the connection for a raw bidirectional stream."""
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp" and \
        "upgrade" in request.headers.get("Connection", "").lower()
    resp = _RawResponse(status=101 if upgrade else 200,
                        reason="UPGRADED" if upgrade else "OK")
    resp.headers["Content-Type"] = content_type
    if upgrade:
        resp.headers["Connection"] = "Upgrade"
        resp.headers["Upgrade"] = "tcp"
    resp.force_close()
    await request.read()  # a body sent with the upgrade request is not the stream
    request._hijacked = True  # type: ignore[attr-defined]
    from dockyard.api.app import _common_headers

    _common_headers(resp)
    await resp.prepare(request)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    conn = RawConn(resp, queue)
    original: Any = request.protocol
    transport = request.transport
    if transport is None or original is None:
        conn.closed.set()
        queue.put_nowait(b"")
        return conn
    raw = _RawProtocol(original, conn, queue)
    transport.set_protocol(raw)
    # Bytes that came with the request (the parser keeps them once it sees the upgrade).
    tail = getattr(original, "_message_tail", b"")
    if tail:
        original._message_tail = b""
        queue.put_nowait(bytes(tail))
    return conn


class _RawProtocol(asyncio.Protocol):
    """Takes the connection from aiohttp's handler once hijacked: the client's bytes go
    to the queue; a half-close (end of the client's stdin) keeps the transport open for
    our output; write flow control and the final close go back to aiohttp's protocol."""

    def __init__(self, original: Any, conn: RawConn, queue: asyncio.Queue[bytes]) -> None:
        self.original = original
        self.conn = conn
        self.queue = queue
        self.transport: asyncio.BaseTransport | None = original.transport

    def data_received(self, data: bytes) -> None:
        self.queue.put_nowait(data)

    def eof_received(self) -> bool:
        self.queue.put_nowait(b"")
        self._check_hangup()
        return True

    def _check_hangup(self) -> None:
        """After the client's EOF: a half-close (its stdin ended) keeps reading our
        output, a full close is gone. A unix socket tells them apart (POLLHUP); a
        silent stream would otherwise notice only at its next write."""
        import select

        if self.conn.closed.is_set() or self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is None or sock.family != socket.AF_UNIX:
            return
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLHUP)
        if any(ev & select.POLLHUP for _, ev in poller.poll(0)):
            self.conn.closed.set()
            self.transport.close()
            return
        asyncio.get_running_loop().call_later(0.5, self._check_hangup)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.conn.closed.set()
        self.queue.put_nowait(b"")
        self.original.connection_lost(exc)

    def pause_writing(self) -> None:
        self.original.pause_writing()

    def resume_writing(self) -> None:
        self.original.resume_writing()


async def pump(executor: Executor, gen_factory: Callable[[Callable[[], bool]], Iterator[T]],
               ) -> AsyncIterator[T]:
    """Items of a blocking generator made in a worker thread, as they come.

    ``gen_factory(stopped)`` makes the generator; ``stopped()`` turns true once the
    consumer has gone, so loops inside it (log follow) can end and free the thread.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue(maxsize=256)
    stop = threading.Event()

    def put(item: tuple[int, Any]) -> None:
        fut = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while not stop.is_set():
            try:
                fut.result(timeout=0.5)
                return
            except TimeoutError:
                continue
        fut.cancel()

    def work() -> None:
        try:
            for item in gen_factory(stop.is_set):
                if stop.is_set():
                    break
                put((0, item))
        except BaseException as err:  # handed to the consumer
            put((2, err))
            return
        put((1, None))

    future = loop.run_in_executor(executor, work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == 1:
                break
            if kind == 2:
                raise value
            yield value
    finally:
        stop.set()
        while not queue.empty():
            queue.get_nowait()
        await asyncio.shield(future) if future.done() else None
