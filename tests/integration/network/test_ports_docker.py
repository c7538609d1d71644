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

from dockyard.errors import InvalidArgument, NotFound
from dockyard.network.ports import (
    PublishedPort,
    format_port,
    network_settings_ports,
    parse_publish,
    parse_publish_specs,
    split_port_key,
)
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


@pytest.mark.parametrize("specs", [
    ["127.0.0.1:18095:80", "18096:80", "127.0.0.2:18094:80", "18093:80"],
    ["18093:80", "127.0.0.1:18099:80", "18092:80/udp", "18091:81"],
], ids=["one port", "several"])
def test_network_settings_ports_order_matches_dockerd(specs: list[str], dockerd: Any,
                                                      peer_image: str,
                                                      session_token: str) -> None:
    """Bindings of a port in dockerd's order (the reverse of -p's), from the same specs."""
    net = f"{session_token}po"
    dockerd.docker("network", "create", "--subnet", "10.213.78.0/24", net)
    name = f"po{session_token}"
    try:
        dockerd.docker("run", "-d", "--name", name, "--network", net,
                       *[a for s in specs for a in ("-p", s)], peer_image, "sleep", "60")
        theirs = json.loads(dockerd.docker("inspect", name).stdout)[0][
            "NetworkSettings"]["Ports"]
    finally:
        dockerd.docker("rm", "-f", name, check=False)
        dockerd.docker("network", "rm", net, check=False)
    exposed, _ = parse_publish_specs(specs)
    published = [PublishedPort(split_port_key(m.port)[1], split_port_key(m.port)[0],
                               m.host_ip or "0.0.0.0", int(m.host_port))
                 for spec in specs for m in parse_publish(spec)]
    assert network_settings_ports(exposed, published) == theirs


def test_port_lines_match_docker_cli(dockerd: Any, peer_image: str, session_token: str
                                     ) -> None:
    """``format_port`` over docker's own NetworkSettings.Ports prints what ``docker port``
    prints (the docker 28 CLI; the daemon publishes nothing on the host here: it runs
    without iptables or proxy, but it still allocates and reports the bindings)."""
    net = f"{session_token}pt"
    dockerd.docker("network", "create", "--subnet", "10.213.77.0/24", net)
    name = f"pt{session_token}"
    try:
        dockerd.docker("run", "-d", "--name", name, "--network", net,
                       "-p", "127.0.0.1:18095:80", "-p", "18096:80", "-p", "18097:53/udp",
                       "-p", "9:9", peer_image, "sleep", "60")
        ports = json.loads(dockerd.docker("inspect", name).stdout)[0][
            "NetworkSettings"]["Ports"]
        # the docker 28 client prints the lines in Go's random map order (seen: 80/tcp
        # first in one run, 53/udp in another), so compare them as a set; ours are sorted
        lines = dockerd.docker("port", name).stdout.splitlines()
        assert sorted(lines) == format_port(ports, name)
        for arg in ("80", "80/tcp", "53/udp"):
            assert dockerd.docker("port", name, arg).stdout.splitlines() == \
                format_port(ports, name, arg)
        missing = dockerd.docker("port", name, "81", check=False)
        with pytest.raises(NotFound) as err:
            format_port(ports, name, "81")
        assert str(err.value) in missing.stderr and missing.returncode == 1
    finally:
        dockerd.docker("rm", "-f", name, check=False)
        dockerd.docker("network", "rm", net, check=False)
