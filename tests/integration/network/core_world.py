"""Fixtures and helpers of net-core's integration tests: an engine over the session's
busybox rootfs (no image store), containers whose exit codes carry the results, and an
"outside" network namespace joined to the host by a veth, playing a server."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.settings import Roots
from tests.integration.engine.conftest import DirImages, cleanup_engine
from tests.support.leaks import remove_cgroup_parent
from tests.support.netclean import clean_networks


@pytest.fixture
def net_engine(roots: Roots, busybox_rootfs_template: Path,
               cgroup_parent: str) -> Iterator[Any]:
    """An Engine whose containers and networks are all gone after the test."""
    from dockyard.engine import Engine

    eng = Engine(roots, images=DirImages(roots, busybox_rootfs_template),
                 cgroup_parent=cgroup_parent)
    try:
        yield eng
    finally:
        for c in eng.list(all=True):
            with contextlib.suppress(Exception):
                eng.remove(c["Id"], force=True)
        cleanup_engine(roots)
        clean_networks(roots.root, roots.run_root)
        remove_cgroup_parent(cgroup_parent)


def start(eng: Any, *cmd: str, network: str = "default", name: str | None = None,
          ip: str = "", aliases: tuple[str, ...] = (), **hc: Any) -> str:
    """create + start; returns the id."""
    endpoints = {}
    if ip or aliases:
        endpoints = {network: {"IPAMConfig": {"IPv4Address": ip} if ip else None,
                               "Aliases": list(aliases) or None}}
    cid = eng.create(name, {"Image": "busybox", "Cmd": list(cmd)},
                     {"NetworkMode": network, **hc}, {"EndpointsConfig": endpoints})["Id"]
    eng.start(cid)
    return str(cid)


def exit_code(eng: Any, cid: str, timeout: float = 20) -> int:
    return int(eng.wait(cid, timeout=timeout)["StatusCode"])


def run(eng: Any, *cmd: str, **kw: Any) -> int:
    """Run to the end; the container's exit code."""
    return exit_code(eng, start(eng, *cmd, **kw))


def links_with(prefix: str) -> list[str]:
    return sorted(n for n in os.listdir("/sys/class/net") if n.startswith(prefix))


def wait_for(pred: Any, timeout: float = 5.0) -> bool:
    """Whether ``pred()`` came true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def veths_left(prefix: str = "", timeout: float = 5.0) -> list[str]:
    """The engine's host-side veths still there once ``timeout`` has passed without
    them all going: the kernel deletes a pair with the container's namespace a moment
    after the engine unpins it (tens of ms)."""
    from dockyard.network import names

    head = (prefix or names.prefix()) + "v"
    deadline = time.monotonic() + timeout
    while links_with(head) and time.monotonic() < deadline:
        time.sleep(0.01)
    return links_with(head)


def bridges(prefix: str = "") -> list[str]:
    """The engine's bridges (they stay up until ``network rm``)."""
    from dockyard.network import names

    return links_with((prefix or names.prefix()) + "b")


def free_subnet(seed: int) -> str:
    """A /24 in 10.0.0.0/8 that no host route overlaps (tests pick their own)."""
    from dockyard.network.store import host_routes

    routes = host_routes()
    for n in range(256):
        net = ipaddress.IPv4Network(f"10.{(seed + n) % 200 + 20}.{os.getpid() % 250}.0/24")
        if not any(net.overlaps(r) for r in routes):
            return str(net)
    raise AssertionError("no free 10.x subnet on this host")


@dataclass
class Outside:
    """A namespace joined to the host: host side ``host_ip``, server at ``server_ip``."""

    name: str
    path: Path
    host_ip: str
    server_ip: str


@pytest.fixture
def outside(session_token: str) -> Iterator[Outside]:
    name = f"{session_token}out"
    host_if, peer_if = f"{session_token}o0", f"{session_token}o1"
    subnet = ipaddress.IPv4Network(free_subnet(97))
    host_ip, server_ip = str(subnet.network_address + 1), str(subnet.network_address + 2)
    cmds = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if,
         "netns", name],
        ["ip", "addr", "add", f"{host_ip}/24", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        ["ip", "-n", name, "addr", "add", f"{server_ip}/24", "dev", peer_if],
        ["ip", "-n", name, "link", "set", peer_if, "up"],
        ["ip", "-n", name, "link", "set", "lo", "up"],
    ]
    try:
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True)
        yield Outside(name, Path("/run/netns") / name, host_ip, server_ip)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        time.sleep(0.05)
