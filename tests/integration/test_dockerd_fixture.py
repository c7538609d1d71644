"""The private dockerd fixture comes up, runs a container, and goes away cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.dockerd import Dockerd


@pytest.mark.peer
@pytest.mark.slow
def test_private_dockerd_runs_busybox(dockerd: Dockerd, busybox_rootfs_template: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "dytest/busybox:1")
    out = dockerd.docker("run", "--rm", "--network", "none", "dytest/busybox:1",
                         "sh", "-c", "echo hi from docker; hostname -s >/dev/null")
    assert out.stdout == "hi from docker\n"
