"""The docker CLI as an oracle for flag parsing: it talks to a fake daemon here.

The real ``docker`` client turns ``run`` flags into the ``POST /containers/create``
body; a tiny HTTP server on a unix socket under a temp dir records that body and
answers with an error, so no container is ever made. Only the local client binary
and a socket in the test's temp dir are involved.
"""

from __future__ import annotations

import json
import os
import shutil
import socketserver
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

DOCKER = shutil.which("docker")
API_VERSION = "1.41"  # docker 20.10, the version dockyard's inspect follows


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def address_string(self) -> str:
        return "local"

    def _reply(self, status: int, body: Any = None) -> None:
        data = json.dumps({} if body is None else body).encode()
        self.send_response(status)
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Ostype", "linux")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self) -> None:
        self._reply(200)

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        for prefix, answer in self.server.routes.items():
            if route.endswith(prefix):
                self._reply(200, answer)
                return
        if self.path.endswith("/_ping"):
            self._reply(200)
        elif self.path.endswith("/info"):
            self._reply(200, {"OSType": "linux"})
        else:
            self._reply(404, {"message": "not here"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "/containers/create" in self.path:
            self.server.bodies.append(json.loads(body))
        self._reply(500, {"message": "oracle: recorded"})


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    bodies: list[dict[str, Any]]
    routes: dict[str, Any]


def docker_create_body(tmp: Path, args: list[str]) -> tuple[dict[str, Any] | None, str]:
    """The create body the docker CLI sends for ``docker <args>``, and its stderr."""
    bodies, _, stderr = _run_docker(tmp, args, {})
    return (bodies[0] if bodies else None), stderr


def docker_output(tmp: Path, args: list[str], routes: dict[str, Any]) -> tuple[str, str]:
    """What ``docker <args>`` prints when GETs ending in a route's key get its value."""
    _, stdout, stderr = _run_docker(tmp, args, routes)
    return stdout, stderr


def _run_docker(tmp: Path, args: list[str],
                routes: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str]:
    assert DOCKER is not None
    sock = tmp / "fake-docker.sock"
    server = _Server(str(sock), _Handler)
    server.bodies = []
    server.routes = routes
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp / "cfg"),
                   DOCKER_API_VERSION=API_VERSION)
        # A pty for stdin, since ``-t`` insists on one.
        controller, terminal = os.openpty()
        try:
            proc = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True,
                                  timeout=20, stdin=terminal)
        finally:
            os.close(controller)
            os.close(terminal)
    finally:
        server.shutdown()
        server.server_close()
        sock.unlink(missing_ok=True)
    return server.bodies, proc.stdout, proc.stderr
