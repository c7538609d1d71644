"""Listeners for ``dockyard serve``: unix sockets (root:docker 0660) and TCP.

TCP is allowed on loopback only, unless TLS with client certificates is configured
(``--tlsverify --tlscacert --tlscert --tlskey``): the socket is root on this host.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import ipaddress
import logging
import os
import socket
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from dockyard.errors import Forbidden, InvalidArgument

__all__ = ["Listener", "TlsOptions", "parse_host", "serve"]

log = logging.getLogger("dockyard.api")


@dataclass(frozen=True)
class Listener:
    """``unix`` with a path, or ``tcp`` with host and port."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class TlsOptions:
    verify: bool = False
    cacert: str = ""
    cert: str = ""
    key: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.cert and self.key)


def parse_host(text: str) -> Listener:
    """``unix:///path``, ``tcp://host:port`` (``fd://`` is refused)."""
    if text.startswith("unix://"):
        path = text[len("unix://"):]
        if not path.startswith("/"):
            raise InvalidArgument(f"--host {text}: the socket path must be absolute")
        return Listener("unix", path=path)
    if text.startswith("tcp://"):
        parts = urlsplit(text)
        try:
            port = parts.port
        except ValueError:
            raise InvalidArgument(f"--host {text}: invalid port") from None
        if not parts.hostname or port is None or parts.path not in ("", "/"):
            raise InvalidArgument(f"--host {text}: expected tcp://HOST:PORT")
        return Listener("tcp", host=parts.hostname, port=port)
    raise InvalidArgument(f"--host {text}: expected unix:///PATH or tcp://HOST:PORT")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ssl_context(tls: TlsOptions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(tls.cert, tls.key)
        if tls.verify:
            ctx.load_verify_locations(tls.cacert)
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as err:
        raise InvalidArgument(f"tls: {err}") from None
    return ctx


def check_listeners(listeners: list[Listener], tls: TlsOptions) -> None:
    """Refuse TCP off loopback without TLS client verification."""
    if tls.verify and not (tls.cacert and tls.enabled):
        raise InvalidArgument("--tlsverify needs --tlscacert, --tlscert and --tlskey")
    for lst in listeners:
        if lst.kind == "tcp" and not _is_loopback(lst.host) and not tls.verify:
            raise Forbidden(f"refusing to listen on tcp://{lst.host}:{lst.port} without "
                            "--tlsverify: the API is root on this host")


def _unix_socket(path: str) -> socket.socket:
    if os.path.exists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise InvalidArgument(f"{path}: exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale, from a server that died
        else:
            raise InvalidArgument(f"{path}: another server is listening there")
        finally:
            probe.close()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Bound and listening under a temporary name first, so that the socket never shows
    # at its path before it accepts connections, nor with the wrong owner or mode.
    tmp = f"{path}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)
    try:
        sock.bind(tmp)
    finally:
        os.umask(old)
    gid = 0
    with contextlib.suppress(KeyError):
        gid = grp.getgrnam("docker").gr_gid
    os.chown(tmp, 0, gid)
    os.chmod(tmp, 0o660)
    sock.listen(128)
    os.rename(tmp, path)
    return sock


async def serve(app: object, listeners: list[Listener], tls: TlsOptions,
                ready: Callable[[], None] | None = None) -> None:
    """Serve ``app`` on every listener until cancelled or SIGTERM/SIGINT."""
    import signal

    from aiohttp import web

    assert isinstance(app, web.Application)
    check_listeners(listeners, tls)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2)
    await runner.setup()
    unix_paths = []
    try:
        for lst in listeners:
            if lst.kind == "unix":
                site: web.BaseSite = web.SockSite(runner, _unix_socket(lst.path))
                unix_paths.append(lst.path)
            else:
                site = web.TCPSite(runner, lst.host, lst.port,
                                   ssl_context=_ssl_context(tls) if tls.enabled else None)
            await site.start()
            log.info("listening on %s", lst)
        if ready is not None:
            ready()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        from dockyard.api.app import CTX

        if CTX in app:
            app[CTX].stopping.set()
        await runner.cleanup()
        for path in unix_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
