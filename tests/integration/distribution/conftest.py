"""A dockyard registry on 127.0.0.1 (ephemeral port) in a thread, the peer
(distribution 2.8) as a process, and a small aiohttp-driven HTTP helper for the tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.distribution.server import start
from dockyard.images import ImageStore
from dockyard.settings import Roots


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def error_codes(self) -> list[str]:
        return [e["code"] for e in self.json()["errors"]]


class RegistryThread:
    """The server's own event loop in a daemon thread."""

    def __init__(self, root: Path, read_only: bool = False,
                 htpasswd: Path | None = None, tls: tuple[Path, Path] | None = None,
                 tokens: Any = None, max_blob: int = 0) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            start(root, "127.0.0.1", 0, read_only, htpasswd, tls=tls, tokens=tokens,
                  max_blob=max_blob),
            self.loop)
        self.port, self._stop = fut.result(10)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        return asyncio.run(request(method, self.url + path, body, headers))


async def request(method: str, url: str, body: bytes | None = None,
                  headers: dict[str, str] | None = None) -> Reply:
    import aiohttp
    from yarl import URL

    # encoded=True: the path goes out exactly as written (no ``..`` folding)
    async with aiohttp.ClientSession() as session, session.request(
            method, URL(url, encoded=True), data=body, headers=headers,
            allow_redirects=False) as resp:
        data = await resp.read()
        return Reply(resp.status, dict(resp.headers), data)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[ImageStore, ImageStore]]:
    """Two empty image stores: a source and a destination."""
    with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
            ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
        yield src, dst


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1."""
    from tests.integration.distribution.peers import start_distribution, stop

    proc, host = start_distribution(tmp_path / "distribution")
    try:
        yield host
    finally:
        stop(proc)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryThread]:
    server = RegistryThread(tmp_path / "registry")
    try:
        yield server
    finally:
        server.close()


class GateThread:
    """A :class:`Gate` in front of ``upstream``, on its own loop and thread."""

    def __init__(self, upstream: str, users: dict[str, str]) -> None:
        from aiohttp import web

        from tests.integration.distribution.gate import Gate

        self.gate = Gate(upstream, users)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = web.AppRunner(self.gate.app(), access_log=None, shutdown_timeout=1)

        async def up() -> int:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            return int(self.runner.addresses[0][1])

        self.port = asyncio.run_coroutine_threadsafe(up(), self.loop).result(10)
        self.gate.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def gated(registry: RegistryThread) -> Iterator[GateThread]:
    gate = GateThread(registry.url, {"alice": "s3cret"})
    try:
        yield gate
    finally:
        gate.close()


class AppThread:
    """Any aiohttp application on 127.0.0.1 (ephemeral port), in its own thread."""

    def __init__(self, app: Any) -> None:
        from aiohttp import web

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)

        async def up() -> int:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            return int(self.runner.addresses[0][1])

        self.port = asyncio.run_coroutine_threadsafe(up(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
