"""``dockyard serve`` on a private root and socket, and clients pointed at it."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.cli.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


@dataclass
class Served:
    """A running ``dockyard serve``: its socket, its engine (as the CLI) and process."""

    dockyard: Dockyard
    sock: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def host(self) -> str:
        return f"unix://{self.sock}"

    def env(self) -> dict[str, str]:
        """Environment for the docker CLI against this server (no user config)."""
        env = dict(os.environ, DOCKER_HOST=self.host, DOCKER_BUILDKIT="0")
        env["DOCKER_CONFIG"] = str(self.dockyard.root.parent / "docker-config")
        return env

    def docker(self, *args: str, input: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env=self.env(), capture_output=True,
                              text=True, input=input, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args: str, input: str | None = None, timeout: float = 60) -> str:
        r = self.docker(*args, input=input, timeout=timeout)
        assert r.returncode == 0, f"docker {' '.join(args)}: {r.returncode}: {r.stderr}" \
                                  f"\nserver log: {self.log.read_text()[-3000:]}"
        return r.stdout


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(self.unix_path)
        self.sock = s


def api_call(sock: str, method: str, path: str, body: bytes | None = None
             ) -> tuple[int, bytes]:
    """One raw HTTP request over a unix socket: (status, body)."""
    conn = _UnixConnection(sock)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def start_serve(d: Dockyard, sock: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``dockyard serve`` and wait until it answers."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(d.argv("serve", "--host", f"unix://{sock}"), env=d.env,
                                stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + 30
    while not _answers(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_serve(proc)
            raise AssertionError(f"dockyard serve did not start: {log.read_text()}")
        time.sleep(0.05)
    return proc


def _answers(sock: str) -> bool:
    """Whether a server answers ``GET /_ping`` on the socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(sock)
        s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
        return b" 200 " in s.recv(64)
    except OSError:
        return False
    finally:
        s.close()


def stop_serve(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cleanup(d: Dockyard) -> None:
    from tests.support.netclean import clean_networks

    ids = d("ps", "-a", "-q", "--no-trunc").out.split()
    if ids:
        d("rm", "-f", *ids)
    d("network", "prune", "-f")
    for target in reversed(d.mounts()):
        subprocess.run(["umount", "-l", target], check=False)
    clean_networks(d.root, d.run_root)


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory, cgroup_parent: str,
           session_token: str) -> Iterator[Served]:
    """One server for the API tests (they use their own container names). Package scope:
    its default bridge stays up until the network is removed (as docker0 does), and the
    network tests that run later count the bridges of the session."""
    tmp = tmp_path_factory.mktemp("api")
    d = Dockyard(tmp, cgroup_parent)
    sock = f"/tmp/dy-{session_token}-api-{secrets.token_hex(3)}.sock"
    log = tmp / "serve.log"
    proc = start_serve(d, sock, log)
    try:
        yield Served(d, sock, proc, log)
    finally:
        stop_serve(proc)
        _cleanup(d)
        if os.path.exists(sock):
            os.unlink(sock)


@pytest.fixture
def private_served(tmp_path: Path, cgroup_parent: str, session_token: str) -> Iterator[Served]:
    """A server of the test's own (restart tests)."""
    d = Dockyard(tmp_path, cgroup_parent)
    sock = f"/tmp/dy-{session_token}-api-{secrets.token_hex(3)}.sock"
    log = tmp_path / "serve.log"
    served = Served(d, sock, start_serve(d, sock, log), log)
    try:
        yield served
    finally:
        stop_serve(served.proc)
        _cleanup(d)
        if os.path.exists(sock):
            os.unlink(sock)


@pytest.fixture
def name() -> str:
    """A container name unique in the session's server."""
    return "t" + secrets.token_hex(4)
