"""Running the registry: parse ``--addr``, bind, serve until cancelled."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from dockyard.distribution.server.tokens import TokenAuth
from dockyard.errors import InvalidArgument

__all__ = ["parse_addr", "serve", "start", "tls_context"]


def parse_addr(addr: str) -> tuple[str, int]:
    """``127.0.0.1:5000`` / ``[::1]:5000`` / ``:5000`` → (host, port)."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidArgument(f"invalid --addr {addr!r}: want host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context (TLS 1.2+) from a PEM certificate chain and key."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise InvalidArgument(f"--tls-cert {cert} / --tls-key {key}: {err}") from None
    return ctx


async def start(root: Path, host: str, port: int, read_only: bool = False,
                htpasswd: Path | None = None, *, tls: tuple[Path, Path] | None = None,
                tokens: TokenAuth | None = None, max_blob: int = 0
                ) -> tuple[int, Callable[[], Awaitable[None]]]:
    """Start serving (https with ``tls=(cert, key)``); returns the bound port and a
    coroutine function that stops it."""
    from aiohttp import web

    from dockyard.distribution.server.app import make_app

    context = tls_context(*tls) if tls else None
    runner = web.AppRunner(make_app(root, read_only, htpasswd, tokens, max_blob),
                           access_log=None,
                           shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=context)
    await site.start()
    bound = int(runner.addresses[0][1])
    return bound, runner.cleanup


def serve(root: Path, addr: str, read_only: bool = False,
          ready: Callable[[int], None] | None = None, htpasswd: Path | None = None,
          tls: tuple[Path, Path] | None = None, tokens: TokenAuth | None = None,
          max_blob: int = 0) -> None:
    """Serve until interrupted; ``ready`` gets the bound port."""
    host, port = parse_addr(addr)

    async def main() -> None:
        bound, stop = await start(root, host, port, read_only, htpasswd, tls=tls,
                                  tokens=tokens, max_blob=max_blob)
        if ready is not None:
            ready(bound)
        try:
            await asyncio.Event().wait()
        finally:
            await stop()

    asyncio.run(main())
