"""The -p parser's messages, checked against the docker 28 CLI itself.

The CLI parses ``-p`` before it contacts a daemon, so pointing it at a socket that does
not exist shows its parse error without any daemon: valid specs reach the connect step.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network.ports import parse_publish
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
