"""Hostile clients: a slow or vanishing uploader does not stall others and leaves its
upload as it was; the CLI serves and stops cleanly."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.distribution.conftest import RegistryThread


def test_slow_client_does_not_block_others(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/slow/blobs/uploads/").headers["Location"]
    registry.call("PATCH", loc, b"x" * 100)
    with socket.create_connection(("127.0.0.1", registry.port), timeout=5) as sock:
        sock.sendall(f"PATCH {loc} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + b"y" * 5000)
        start = time.monotonic()
        for _ in range(5):  # meanwhile the server answers everyone else
            data = b"other %d" % _
            d = "sha256:" + hashlib.sha256(data).hexdigest()
            assert registry.call("POST", f"/v2/fast/blobs/uploads/?digest={d}",
                                 data).status == 201
        assert time.monotonic() - start < 5
    # the slow client vanished mid-body: its upload is back to the last good size
    deadline = time.monotonic() + 5
    while registry.call("GET", loc).headers.get("Range") != "0-99":
        assert time.monotonic() < deadline, registry.call("GET", loc).headers
        time.sleep(0.05)
    done = registry.call("PUT", f"{loc}?digest=sha256:{hashlib.sha256(b'x' * 100).hexdigest()}")
    assert done.status == 201


def test_cli_serve(tmp_path: Path) -> None:
    code = ("import sys; from dockyard.cli.registry import registry; "
            "registry(sys.argv[1:], standalone_mode=True)")
    proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--addr", "127.0.0.1:0",
                             "--root", str(tmp_path / "reg")], stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        assert (tmp_path / "reg" / "blobs").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    assert proc.returncode == 0


def test_cli_bad_addr(tmp_path: Path) -> None:
    code = ("import sys; from dockyard.cli.main import main; from dockyard.cli import "
            "registry; from dockyard.cli.main import cli; registry.register(cli); "
            "sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "registry", "serve", "--addr", "nope",
                          "--root", str(tmp_path / "r")], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 1
    assert out.stderr.strip() == "Error: invalid --addr 'nope': want host:port"



def test_blob_size_limit(tmp_path: Path) -> None:
    server = RegistryThread(tmp_path / "reg", max_blob=1000)
    try:
        small = b"s" * 1000
        d = "sha256:" + hashlib.sha256(small).hexdigest()
        assert server.call("POST", f"/v2/r/blobs/uploads/?digest={d}", small).status == 201
        big = b"b" * 1001
        d = "sha256:" + hashlib.sha256(big).hexdigest()
        r = server.call("POST", f"/v2/r/blobs/uploads/?digest={d}", big)
        assert r.status == 413 and r.error_codes() == ["SIZE_INVALID"]
        loc = server.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
        assert server.call("PATCH", loc, b"x" * 600).status == 202
        r = server.call("PATCH", loc, b"x" * 600)  # would make 1200
        assert r.status == 413 and server.call("GET", loc).headers["Range"] == "0-599"
        assert not (server.root / "blobs" / "sha256" / d.split(":")[1]).exists()
    finally:
        server.close()
