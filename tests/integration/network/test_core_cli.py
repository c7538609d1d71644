"""``dockyard network …`` and the run flags through the real command, beside a private
dockerd: inspect's shape, ls's layout, and the bad-input messages and exit codes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import Dockyard
from tests.integration.network.core_world import free_subnet, links_with, veths_left
from tests.support.netclean import clean_networks

IMAGE = "dytest/busybox:1"


@pytest.fixture
def dy(tmp_path: Path, cgroup_parent: str) -> Iterator[Dockyard]:
    d = Dockyard(tmp_path, cgroup_parent)
    try:
        yield d
    finally:
        ids = d("ps", "-a", "-q", "--no-trunc").out.split()
        if ids:
            d("rm", "-f", *ids)
        clean_networks(d.root, d.run_root)


@pytest.fixture
def docker(dockerd: Any, busybox_rootfs_template: Path) -> Any:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    return dockerd


def _keys(obj: Any, path: str = "") -> set[str]:
    if isinstance(obj, dict):
        return {f"{path}/{k}" for k in obj} | {p for k, v in obj.items()
                                               for p in _keys(v, f"{path}/{k}")}
    if isinstance(obj, list):
        return {p for v in obj for p in _keys(v, f"{path}[]")}
    return set()


def test_network_inspect_has_dockers_shape(dy: Dockyard, docker: Any,
                                           session_token: str) -> None:
    name = f"{session_token}in"
    flags = ["--label", "team=net", "--subnet"]
    docker.docker("network", "create", *flags, free_subnet(51), "-o",
                  f"com.docker.network.bridge.name={name}", name)
    try:
        theirs = json.loads(docker.docker("network", "inspect", name).stdout)[0]
    finally:
        docker.docker("network", "rm", name)
    dy.ok("network", "create", *flags, free_subnet(52), "mine")
    ours = json.loads(dy.ok("network", "inspect", "mine"))[0]
    assert _keys(ours) - {"/Options/com.docker.network.bridge.name"} == \
        _keys(theirs) - {"/Options/com.docker.network.bridge.name"}
    skip = {"Name", "Id", "Created", "IPAM", "Options"}
    assert {k: v for k, v in ours.items() if k not in skip} == \
        {k: v for k, v in theirs.items() if k not in skip}
    assert ours["IPAM"]["Options"] == theirs["IPAM"]["Options"] == {}
    assert re.fullmatch(r"[0-9a-f]{64}", ours["Id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", ours["Created"])


def test_network_ls_layout_matches_docker(dy: Dockyard, docker: Any) -> None:
    theirs = docker.docker("network", "ls").stdout.splitlines()
    ours = dy.ok("network", "ls").splitlines()
    assert ours[0] == theirs[0]
    none_theirs = next(line for line in theirs if " none " in line)
    none_ours = next(line for line in ours if " none " in line)
    assert re.sub(r"^[0-9a-f]{12}", "ID", none_ours) == \
        re.sub(r"^[0-9a-f]{12}", "ID", none_theirs)
    assert [line.split()[1] for line in ours[1:]] == ["bridge", "host", "none"]
    assert dy.ok("network", "ls", "-q").split() == [line.split()[0] for line in ours[1:]]
    assert dy.ok("network", "ls", "--filter", "type=custom").splitlines()[1:] == []


def test_bad_input_gets_dockers_message_and_exit_code(dy: Dockyard, docker: Any) -> None:
    subnet = free_subnet(53)
    dy.ok("network", "create", "--subnet", subnet, "taken")
    docker.docker("network", "create", "--subnet", subnet, "--internal", "taken")
    try:
        cases = [
            ("network", "create", "--subnet", subnet, "other"),
            ("network", "create", "taken"),
            ("network", "rm", "nope"),
        ]
        for args in cases:
            mine, peer = dy(*args), docker.docker(*args, check=False)
            assert (mine.code, mine.err.strip()) == (peer.returncode, peer.stderr.strip())
        # a used network cannot go; docker says the same words with its own id
        dy.ok("run", "-d", "--name", "user", "--network", "taken", "busybox", "sleep", "60")
        refused = dy("network", "rm", "taken")
        assert refused.code == 1 and re.fullmatch(
            r"Error response from daemon: error while removing network: network taken id "
            r"[0-9a-f]{64} has active endpoints", refused.err.strip())
        for args, words in [
            (("--network", "nosuch"), "network nosuch not found"),
            (("--network", "taken", "--ip", "192.0.2.7"),
             "Invalid address 192.0.2.7: It does not belong to any of this network's subnets"),
            (("--ip", "172.17.9.9"),
             "user specified IP address is supported on user defined networks only"),
        ]:
            r = dy("run", "--rm", *args, "busybox", "true")
            assert r.code == 125 and words in r.err, r.err
        assert dy.ok("ps", "-a", "--format", "{{.Names}}").split() == ["user"]
        pre = dy("network", "rm", "bridge")
        assert pre.code == 1 and pre.err.strip() == (
            "Error response from daemon: bridge is a pre-defined network and cannot be "
            "removed")
        missing = dy("network", "inspect", "nope")
        assert (missing.code, missing.err.strip()) == (1, "Error: No such network: nope")
    finally:
        docker.docker("network", "rm", "taken", check=False)
    dy.ok("rm", "-f", "user")
    dy.ok("network", "rm", "taken")
    assert "taken" not in dy.ok("network", "ls")
    prefix = dy.env.get("DOCKYARD_NET_PREFIX", "dy")
    assert veths_left(prefix) == [] and links_with(prefix) == []


def test_publish_and_port_command(dy: Dockyard) -> None:
    cid = dy.ok("run", "-d", "-p", "127.0.0.1:18391:80", "--expose", "90",
                "busybox", "sleep", "60").strip()
    ports = json.loads(dy.ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", cid))
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18391"}],
                     "90/tcp": None}
    assert dy.ok("port", cid).strip() == "80/tcp -> 127.0.0.1:18391"


def test_publish_all_maps_every_exposed_port(dy: Dockyard) -> None:
    cid = dy.ok("run", "-d", "-P", "--expose", "7070", "--expose", "53/udp",
                "busybox", "sleep", "60").strip()
    ports = json.loads(dy.ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", cid))
    assert set(ports) == {"7070/tcp", "53/udp"}
    for key in ports:
        (binding,) = ports[key]
        assert binding["HostIp"] == "0.0.0.0" and int(binding["HostPort"]) > 1024


def test_a_host_port_in_use_fails_the_start_and_releases_the_endpoint(dy: Dockyard) -> None:
    first = dy.ok("run", "-d", "-p", "127.0.0.1:18393:80", "busybox", "sleep", "60").strip()
    second = dy("run", "-d", "--name", "late", "-p", "127.0.0.1:18393:80", "busybox",
                "sleep", "60")
    assert second.code == 125
    assert "Bind for 127.0.0.1:18393 failed: port is already allocated" in second.err
    bridge = json.loads(dy.ok("network", "inspect", "bridge"))[0]
    assert list(bridge["Containers"]) == [first]
    assert dy.ok("inspect", "-f", "{{.State.Status}}", "late").strip() == "created"


def test_prune_removes_unused_user_networks_and_ls_formats(dy: Dockyard) -> None:
    dy.ok("network", "create", "--subnet", free_subnet(54), "--label", "keep=no", "idle")
    dy.ok("network", "create", "--subnet", free_subnet(55), "busy")
    dy.ok("run", "-d", "--network", "busy", "busybox", "sleep", "60")
    assert dy.ok("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}",
                 "--filter", "label=keep").strip() == "idle bridge keep=no"
    out = dy.ok("network", "prune", "-f")
    assert out == "Deleted Networks:\nidle\n"
    names_left = dy.ok("network", "ls", "--format", "{{.Name}}").split()
    assert names_left == ["bridge", "busy", "host", "none"]
    assert dy.ok("network", "prune", "-f") == ""
