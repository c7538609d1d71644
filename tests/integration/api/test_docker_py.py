"""Must-show 2: docker-py (PyPI ``docker``) as a client of ``dockyard serve``."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import docker
import pytest

from tests.integration.api.conftest import Served


@pytest.fixture
def client(served: Served) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=served.host, version="auto", timeout=60)
    try:
        yield c
    finally:
        c.close()


def test_ping_and_version_negotiation(client: docker.DockerClient) -> None:
    assert client.ping() is True
    assert client.api.api_version == "1.43"
    assert client.version()["ApiVersion"] == "1.43"


def test_containers_lifecycle(client: docker.DockerClient, name: str) -> None:
    out = client.containers.run("busybox", ["sh", "-c", "echo hello; echo err >&2"],
                                network_mode="none", remove=True, stderr=True)
    assert b"hello" in out
    c = client.containers.run("busybox", ["sleep", "60"], name=name, detach=True,
                              network_mode="none", labels={"suite": "api"})
    try:
        c.reload()
        assert c.status == "running" and c.name == name
        assert [x.id for x in client.containers.list(filters={"label": "suite=api"})] == [c.id]
        c.pause()
        c.reload()
        assert c.status == "paused"
        c.unpause()
        c.rename(name + "x")
        c.reload()
        assert c.name == name + "x"
        assert "sleep" in str(c.top()["Processes"])
        c.kill()
        assert c.wait(timeout=30)["StatusCode"] == 137
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(c.id)


def test_exec(client: docker.DockerClient, name: str) -> None:
    c = client.containers.run("busybox", ["sleep", "60"], name=name, detach=True,
                              network_mode="none")
    try:
        code, out = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 2"], demux=True)
        assert code == 2 and out == (b"out\n", b"err\n")
        code, out = c.exec_run(["echo", "tty"], tty=True)
        assert code == 0 and out.strip() == b"tty"
    finally:
        c.remove(force=True)


def test_streamed_logs(client: docker.DockerClient, name: str) -> None:
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo line$i; "
                                          "sleep 0.2; done"], name=name, detach=True,
                              network_mode="none")
    try:
        lines = list(c.logs(stream=True, follow=True))
        assert b"".join(lines) == b"line1\nline2\nline3\n"
        assert c.logs(tail=1) == b"line3\n"
        assert c.logs(timestamps=True).split(b" ", 1)[0].endswith(b"Z")
    finally:
        c.remove(force=True)


def test_images_and_build(client: docker.DockerClient) -> None:
    client.containers.run("busybox", "true", network_mode="none", remove=True)
    img = client.images.get("busybox")
    assert "busybox:latest" in img.tags
    img.tag("example.test/pyimg", "v2")
    assert "example.test/pyimg:v2" in client.images.get("example.test/pyimg:v2").tags
    assert img.history()
    client.images.remove("example.test/pyimg:v2")
    ctx = io.BytesIO()
    with tarfile.open(fileobj=ctx, mode="w") as tar:
        data = b"FROM busybox\nRUN echo from-py-build > /f\nCMD [\"cat\", \"/f\"]\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ctx.seek(0)
    built, logs = client.images.build(fileobj=ctx, custom_context=True, tag="pybuilt:1")
    assert any("from-py-build" in str(entry.get("stream", "")) for entry in logs)
    assert client.containers.run("pybuilt:1", network_mode="none",
                                 remove=True) == b"from-py-build\n"
    client.images.remove(built.id, force=True)


def test_errors_are_docker_errors(client: docker.DockerClient) -> None:
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("no-such-container")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image:1")
    with pytest.raises(docker.errors.APIError) as err:
        client.api.create_container("busybox", command=["true"], environment={"A": "1"},
                                    host_config={"Memory": "lots"})
    assert err.value.status_code == 400 and "Memory" in str(err.value)
