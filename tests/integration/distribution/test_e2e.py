"""End to end against Debian's distribution 2.8, all through the ``dockyard`` command:
build an image, push it, pull it into an empty store, run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.distribution.peers import start_distribution, stop

DOCKYARD = Path(sys.executable).with_name("dockyard")


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    proc, host = start_distribution(tmp_path / "distribution")
    try:
        yield host
    finally:
        stop(proc)


@pytest.mark.peer
@pytest.mark.slow
def test_build_push_pull_run(tmp_path: Path, distribution: str, cgroup_parent: str) -> None:
    env = {**os.environ, "DOCKYARD_CGROUP_PARENT": cgroup_parent,
           "DOCKER_CONFIG": str(tmp_path / "docker-config")}

    def dockyard(root: str, *args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([str(DOCKYARD), "--root", str(tmp_path / root), "--run-root",
                              str(tmp_path / f"{root}-run"), *args], env=env, text=True,
                             capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, (args, out.stderr)
        return out

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nRUN echo built by dockyard > /msg\nCOPY extra /extra\n"
        'CMD ["sh", "-c", "cat /msg /extra"]\n')
    (ctx / "extra").write_text("copied in\n")
    name = f"{distribution}/e2e/app:v1"
    dockyard("build", "build", "-q", "-t", name, str(ctx))
    pushed = dockyard("build", "push", name).stdout.splitlines()
    digest = re.fullmatch(r"v1: digest: (sha256:[0-9a-f]{64}) size: [0-9]+", pushed[-1])
    assert digest, pushed
    pulled = dockyard("empty", "pull", name).stdout.splitlines()
    assert pulled[-3] == f"Digest: {digest[1]}"
    ran = dockyard("empty", "run", "--rm", "--network", "none", name)
    assert ran.stdout == "built by dockyard\ncopied in\n"
    for root in ("build", "empty"):  # RepoDigests on both sides, as docker records them
        info = json.loads(dockyard(root, "image", "inspect", name).stdout)
        assert info[0]["RepoDigests"] == [f"{distribution}/e2e/app@{digest[1]}"]
