"""The docker CLI through a private dockerd pushes to and pulls from
``dockyard registry serve`` (dockerd treats 127.0.0.0/8 as insecure, plain http)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.distribution.conftest import RegistryThread
from tests.support.dockerd import Dockerd


@pytest.mark.peer
@pytest.mark.slow
def test_docker_push_pull_run(dockerd: Dockerd, registry: RegistryThread,
                              busybox_rootfs_template: Path, session_token: str) -> None:
    name = f"127.0.0.1:{registry.port}/{session_token}/busybox:v1"
    dockerd.import_rootfs(busybox_rootfs_template, name)
    try:
        pushed = dockerd.docker("push", name)
        assert "digest: sha256:" in pushed.stdout
        digest = pushed.stdout.split("digest: ")[1].split()[0]
        got = registry.call("GET", f"/v2/{session_token}/busybox/manifests/v1")
        assert got.headers["Docker-Content-Digest"] == digest
        assert got.headers["Content-Type"] == (
            "application/vnd.docker.distribution.manifest.v2+json")
        dockerd.docker("rmi", name)
        pulled = dockerd.docker("pull", name)
        assert f"Digest: {digest}" in pulled.stdout
        out = dockerd.docker("run", "--rm", "--network", "none", name, "echo", "pulled")
        assert out.stdout == "pulled\n"
        ids = json.loads(dockerd.docker("image", "inspect", name).stdout)[0]["RepoDigests"]
        assert ids == [f"127.0.0.1:{registry.port}/{session_token}/busybox@{digest}"]
    finally:
        dockerd.docker("rmi", "-f", name, check=False)
