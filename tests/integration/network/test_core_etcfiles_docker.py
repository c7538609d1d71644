"""/etc/hosts and /etc/resolv.conf inside containers have docker's shape, mode by mode
(must-show 5), compared with a private dockerd 20.10 running the same image.

The ``dockerd`` fixture runs with ``--bridge=none``; the default bridge is compared with
a second dockerd whose default network is a bridge this test creates.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.network import core_world
from tests.integration.network.core_world import free_subnet

net_engine = core_world.net_engine  # fixture
IMAGE = "dytest/busybox:1"
_IP = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b")
SCRIPT = "cat /etc/hosts; echo ---; cat /etc/resolv.conf"


def _shape(text: str, hostname: str) -> str:
    """Container addresses and names vary; the lines and their order must not."""
    text = text.replace(hostname, "<host>")
    return _IP.sub(lambda m: m.group(0) if m.group(0).startswith(("127.", "8.8.")) or
                   m.group(0) in _HOST_NS else "<ip>", text)


_HOST_NS = set(re.findall(r"nameserver\s+(\S+)", Path("/etc/resolv.conf").read_text()))


@pytest.fixture
def docker_net(dockerd: Any, session_token: str,
               busybox_rootfs_template: Path) -> Iterator[str]:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    name = f"{session_token}dk"
    dockerd.docker("network", "create", "--subnet", free_subnet(41),
                   "-o", f"com.docker.network.bridge.name={name}", name)
    try:
        yield name
    finally:
        dockerd.docker("network", "rm", name, check=False)


def _docker_files(dockerd: Any, *flags: str) -> tuple[str, str]:
    out = dockerd.docker("run", "--rm", "-h", "peerhost", *flags, IMAGE, "sh", "-c",
                         SCRIPT).stdout
    hosts, _, resolv = out.partition("---\n")
    return hosts, resolv


def _our_files(eng: Any, network: str, **hc: Any) -> tuple[str, str]:
    cid = eng.create(None, {"Image": "busybox", "Cmd": ["sleep", "30"],
                            "Hostname": "peerhost"}, {"NetworkMode": network, **hc})["Id"]
    eng.start(cid)
    info = eng.inspect(cid)
    files = Path(info["HostsPath"]).read_text(), Path(info["ResolvConfPath"]).read_text()
    eng.remove(cid, force=True)
    return files


DNS_FLAGS = ("--dns", "10.1.2.53", "--dns-search", "example.test", "--dns-option",
             "ndots:2")
DNS_HC = {"Dns": ["10.1.2.53"], "DnsSearch": ["example.test"], "DnsOptions": ["ndots:2"]}


@pytest.mark.parametrize("mode", ["none", "host", "user", "none+dns", "user+dns"])
def test_hosts_and_resolv_conf_match_docker(mode: str, net_engine: Any, dockerd: Any,
                                            docker_net: str) -> None:
    base, _, dns = mode.partition("+")
    flags = DNS_FLAGS if dns else ()
    hc = DNS_HC if dns else {}
    if base == "user":
        net_engine.networks.create("usernet", subnet=free_subnet(42))
        theirs = _docker_files(dockerd, "--network", docker_net, *flags)
        ours = _our_files(net_engine, "usernet", **hc)
    else:
        theirs = _docker_files(dockerd, "--network", base, *flags)
        ours = _our_files(net_engine, base, **hc)
    assert [_shape(t, "peerhost") for t in ours] == [_shape(t, "peerhost") for t in theirs]
    if base == "user":
        assert ours[0].splitlines()[-1].endswith("\tpeerhost")  # the address line
        assert "nameserver 127.0.0.11" in ours[1]


@pytest.fixture
def bridged_dockerd(session_token: str, cgroup_parent: str,
                    busybox_rootfs_template: Path) -> Iterator[Any]:
    """A second private dockerd whose default network is a bridge made here."""
    from tests.support.dockerd import DOCKERD, start_dockerd, stop_dockerd

    if DOCKERD is None:
        pytest.skip("dockerd is not installed (scripts/test installs docker.io)")
    name, parent = f"{session_token}db", f"{cgroup_parent}-dockerb"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        net = ipaddress.IPv4Network(free_subnet(44))
        subprocess.run(["ip", "addr", "add", f"{net.network_address + 1}/{net.prefixlen}",
                        "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        daemon = start_dockerd(Path(f"/tmp/dy-{session_token}-dockerb"), parent, bridge=name)
        try:
            daemon.import_rootfs(busybox_rootfs_template, IMAGE)
            yield daemon
        finally:
            stop_dockerd(daemon, parent)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.mark.slow
def test_default_bridge_matches_dockers_default_bridge(net_engine: Any,
                                                       bridged_dockerd: Any) -> None:
    ours = _our_files(net_engine, "default")
    theirs = _docker_files(bridged_dockerd)  # docker's default network: its bridge
    assert [_shape(t, "peerhost") for t in ours] == [_shape(t, "peerhost") for t in theirs]
    assert ours[0].splitlines()[-1].endswith("\tpeerhost")  # the address line
    assert "127.0.0.11" not in ours[1]  # no embedded DNS on the default bridge


def test_network_settings_of_a_running_container_match_docker(
        net_engine: Any, dockerd: Any, docker_net: str) -> None:
    import json

    net_engine.networks.create("usernet", subnet=free_subnet(43))
    theirs_id = dockerd.docker("run", "-d", "--network", docker_net, "--network-alias",
                               "db", IMAGE, "sleep", "30").stdout.strip()
    try:
        theirs = json.loads(dockerd.docker("inspect", theirs_id).stdout)[0]["NetworkSettings"]
    finally:
        dockerd.docker("rm", "-f", theirs_id)
    cid = net_engine.create(None, {"Image": "busybox", "Cmd": ["sleep", "30"]},
                            {"NetworkMode": "usernet"},
                            {"EndpointsConfig": {"usernet": {"Aliases": ["db"]}}})["Id"]
    net_engine.start(cid)
    ours = net_engine.inspect(cid)["NetworkSettings"]
    their_ep, our_ep = theirs["Networks"][docker_net], ours["Networks"]["usernet"]
    assert ours.keys() == theirs.keys() and our_ep.keys() == their_ep.keys()
    same = ("Bridge", "HairpinMode", "Ports", "SecondaryIPAddresses", "EndpointID",
            "Gateway", "IPAddress", "IPPrefixLen", "MacAddress")
    assert {k: ours[k] for k in same} == {k: theirs[k] for k in same}
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
    assert {k: type(v) for k, v in our_ep.items()} == {k: type(v) for k, v in their_ep.items()}
    assert our_ep["Aliases"] == ["db", cid[:12]] and their_ep["Aliases"] == ["db", theirs_id[:12]]
    assert re.fullmatch(r"[0-9a-f]{64}", ours["SandboxID"])
    assert our_ep["MacAddress"] == "02:42:" + ":".join(
        f"{int(b):02x}" for b in our_ep["IPAddress"].split("."))


def test_joining_another_containers_network_shares_its_files_like_docker(
        net_engine: Any, dockerd: Any, docker_net: str) -> None:
    script = "hostname; echo ---; " + SCRIPT
    target = dockerd.docker("run", "-d", "-h", "tgt", "--network", docker_net, IMAGE,
                            "sleep", "30").stdout.strip()
    try:
        theirs = dockerd.docker("run", "--rm", "--network", f"container:{target}", IMAGE,
                                "sh", "-c", script).stdout
    finally:
        dockerd.docker("rm", "-f", target)
    net_engine.networks.create("usernet", subnet=free_subnet(44))
    start_cfg = {"Image": "busybox", "Cmd": ["sleep", "30"], "Hostname": "tgt"}
    tid = net_engine.create("tgt", start_cfg, {"NetworkMode": "usernet"})["Id"]
    net_engine.start(tid)
    jid = net_engine.create(None, {"Image": "busybox", "Cmd": ["sh", "-c", script]},
                            {"NetworkMode": f"container:{tid}"})["Id"]
    net_engine.start(jid)
    assert net_engine.wait(jid)["StatusCode"] == 0
    info = net_engine.inspect(jid)
    ours = (Path(info["HostsPath"]).read_text(), Path(info["ResolvConfPath"]).read_text())
    hostname, _, rest = theirs.partition("---\n")
    their_hosts, _, their_resolv = rest.partition("---\n")
    assert hostname.strip() == "tgt"
    assert Path(info["HostnamePath"]).read_text() == "tgt\n"
    assert [_shape(t, "tgt") for t in ours] == [_shape(t, "tgt")
                                               for t in (their_hosts, their_resolv)]
