"""The -p parser's messages, checked against the docker 28 CLI itself.

The CLI parses ``-p`` before it contacts a daemon, so pointing it at a socket that does
not exist shows its parse error without any daemon: valid specs reach the connect step.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network.ports import parse_publish, parse_publish_specs
from tests.unit.network.test_ports_parse import BAD

DOCKER = shutil.which("docker")
pytestmark = pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")

GOOD = ["80", "80/udp", "127.0.0.1:18080:80", "127.0.0.1::80", ":80", "[::1]:8080:80",
        "8000-8001:80", "8000-8002:80-82", "80/UDP"]


def _docker_says(spec: str, tmp_path: Path) -> str:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "DOCKER_CONFIG": str(tmp_path),
           "PATH": "/usr/local/bin:/usr/bin:/bin"}
    assert DOCKER is not None
    out = subprocess.run([DOCKER, "create", "-p", spec, "busybox"], env=env,
                         capture_output=True, text=True, timeout=30)
    return out.stderr.splitlines()[0]


@pytest.mark.parametrize("spec, message", BAD)
def test_bad_spec_message_is_dockers(spec: str, message: str, tmp_path: Path) -> None:
    assert _docker_says(spec, tmp_path) == f"docker: {message}"
    with pytest.raises(InvalidArgument) as err:
        parse_publish(spec)
    assert str(err.value) == message


@pytest.mark.parametrize("spec", GOOD)
def test_good_spec_accepted_by_both(spec: str, tmp_path: Path) -> None:
    assert "Cannot connect to the Docker daemon" in _docker_says(spec, tmp_path)
    assert parse_publish(spec)


SPECS = [["8080:80"], ["127.0.0.1:18080:80", "18081:80"], ["53/udp", "9000-9002:7000-7002/tcp"],
         ["127.0.0.1::80"], ["8000-8005:80"], ["[::1]:8080:80"], ["80", "80/udp", "80/sctp"]]


@pytest.fixture(scope="module")
def peer_image(dockerd: Any, busybox_rootfs_template: Path, session_token: str) -> str:
    name = f"dyports-{session_token}:latest"
    dockerd.import_rootfs(busybox_rootfs_template, name)
    return name


@pytest.mark.parametrize("specs", SPECS, ids=lambda s: " ".join(s))
def test_port_bindings_match_dockerd(specs: list[str], dockerd: Any, peer_image: str) -> None:
    """What ``docker create -p ...`` stores (ExposedPorts, PortBindings) is what we build."""
    flags = [arg for spec in specs for arg in ("-p", spec)]
    cid = dockerd.docker("create", *flags, peer_image, "true").stdout.strip()
    try:
        info = json.loads(dockerd.docker("inspect", cid).stdout)[0]
    finally:
        dockerd.docker("rm", cid, check=False)
    exposed, bindings = parse_publish_specs(specs)
    assert info["Config"]["ExposedPorts"] == exposed
    assert info["HostConfig"]["PortBindings"] == bindings
