"""Attach over the hijacked connection and over a websocket."""

from __future__ import annotations

import asyncio

import docker

from tests.integration.api.conftest import Served


def test_attach_ws_both_ways(served: Served, name: str) -> None:
    import aiohttp

    served.ok("run", "-d", "-i", "--name", name, "--network", "none", "busybox", "sh", "-c",
              "echo ready; read x; echo got-$x; sleep 1")

    async def talk() -> bytes:
        conn = aiohttp.UnixConnector(path=served.sock)
        async with aiohttp.ClientSession(connector=conn) as session, session.ws_connect(
                f"http://localhost/v1.43/containers/{name}/attach/ws"
                "?stream=1&stdin=1&stdout=1&stderr=1&logs=1") as ws:
            seen = b""
            while b"ready" not in seen:
                seen += (await asyncio.wait_for(ws.receive_bytes(), 10))
            await ws.send_bytes(b"hello\n")
            while b"got-hello" not in seen:
                msg = await asyncio.wait_for(ws.receive(), 10)
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                seen += msg.data
            return seen

    try:
        assert b"got-hello" in asyncio.run(talk())
    finally:
        served.ok("rm", "-f", name)


def test_attach_socket_docker_py(served: Served, name: str) -> None:
    client = docker.DockerClient(base_url=served.host, version="auto")
    try:
        c = client.containers.run("busybox", ["sh", "-c", "read x; echo got-$x; echo e >&2"],
                                  name=name, detach=True, stdin_open=True,
                                  network_mode="none")
        sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        raw = sock._sock
        raw.sendall(b"py\n")
        data = b""
        while True:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        # multiplexed: [stream, 0, 0, 0, size32] frames
        frames = []
        while data:
            size = int.from_bytes(data[4:8], "big")
            frames.append((data[0], data[8:8 + size]))
            data = data[8 + size:]
        assert (1, b"got-py\n") in frames and (2, b"e\n") in frames
        assert c.wait(timeout=30)["StatusCode"] == 0
        c.remove()
    finally:
        client.close()


def test_docker_run_with_no_log_gets_the_first_byte(served: Served) -> None:
    """``docker run`` attaches before it starts: with the ``none`` log driver the
    monitor connects to the attach the API holds, so nothing written at once is lost."""
    for attach in ((), ("-a", "stdout")):
        for _ in range(3):
            r = served.docker("run", "--rm", *attach, "--network", "none", "--log-driver",
                              "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
            want_err = "" if attach else "err\n"
            assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", want_err), attach
