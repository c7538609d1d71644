"""The docker CLI through a private dockerd pushes to and pulls from
``dockyard registry serve`` (dockerd treats 127.0.0.0/8 as insecure, plain http)."""

from __future__ import annotations

import json
import re
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


def _shape(out: str) -> tuple[list[str], dict[str, list[str]]]:
    """Lines that name no layer, and each layer's statuses. Dropped: "Waiting" (shown
    only when more layers than the client's parallel downloads are queued) and
    "Verifying Checksum" (docker skips it now and then under load)."""
    plain: list[str] = []
    layers: dict[str, list[str]] = {}
    for line in out.splitlines():
        m = re.fullmatch(r"([0-9a-f]{12}): (.+)", line)
        if m is None:
            plain.append(line)
        elif m[2] not in ("Waiting", "Verifying Checksum"):
            layers.setdefault(m[1], []).append(m[2])
    return plain, layers


@pytest.mark.peer
@pytest.mark.slow
def test_plain_pull_output_matches_docker(dockerd: Dockerd, registry: RegistryThread,
                                          tmp_path: Path, session_token: str) -> None:
    import asyncio

    from dockyard.distribution import push
    from dockyard.images import ImageStore
    from dockyard.oci import parse_reference
    from dockyard.settings import Roots
    from tests.integration.distribution.test_cli import dockyard
    from tests.integration.distribution.test_extract import layered_image

    name = f"127.0.0.1:{registry.port}/{session_token}/layers:v1"
    more = name[:-1] + "2"  # the same four layers and one more
    with ImageStore(Roots(tmp_path / "src", tmp_path / "src-run")) as store:
        layered_image(store, "local/layers:v1", seed=11)
        asyncio.run(push(store, "local/layers:v1", parse_reference(name)))
        layered_image(store, "local/layers:v2", seed=11, count=5)
        asyncio.run(push(store, "local/layers:v2", parse_reference(more)))
    try:
        theirs = dockerd.docker("pull", name).stdout
        ours = dockyard(tmp_path, "pull", name, root="dst")
        assert ours.returncode == 0, ours.stderr
        assert _shape(ours.stdout) == _shape(theirs), (ours.stdout, theirs)
        digests = json.loads(dockerd.docker("image", "inspect", name).stdout)[0]["RepoDigests"]
        mine = json.loads(dockyard(tmp_path, "image", "inspect", name, root="dst").stdout)
        assert mine[0]["RepoDigests"] == digests
        # again: both find the image up to date
        theirs = dockerd.docker("pull", name).stdout
        ours = dockyard(tmp_path, "pull", name, root="dst")
        assert _shape(ours.stdout) == _shape(theirs), (ours.stdout, theirs)
        theirs = dockerd.docker("pull", more).stdout
        ours = dockyard(tmp_path, "pull", more, root="dst")
        assert _shape(ours.stdout) == _shape(theirs), (ours.stdout, theirs)
        assert "Already exists" in ours.stdout
        # push what was pulled to another repository: both mount the layers from the
        # one they came from, and name them by diff id
        copies = {"docker": name.replace("/layers:", "/dcopy:"),
                  "dockyard": name.replace("/layers:", "/ocopy:")}
        dockerd.docker("tag", name, copies["docker"])
        theirs = dockerd.docker("push", copies["docker"]).stdout
        assert dockyard(tmp_path, "tag", name, copies["dockyard"], root="dst").returncode == 0
        out = dockyard(tmp_path, "push", copies["dockyard"], root="dst")
        assert out.returncode == 0, out.stderr

        def pushed(text: str) -> tuple[list[str], dict[str, list[str]]]:
            text = re.sub(r"/[do]copy\]", "/copy]", text)
            text = re.sub(r"digest: sha256:[0-9a-f]{64} size: [0-9]+", "digest: D size: N",
                          text)
            return _shape(text)

        assert pushed(out.stdout) == pushed(theirs), (out.stdout, theirs)
        assert f"Mounted from {session_token}/layers" in out.stdout
    finally:
        dockerd.docker("rmi", "-f", name, more, check=False)
