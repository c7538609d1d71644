"""/etc/hosts and /etc/resolv.conf inside containers have docker's shape, mode by mode
(must-show 5), compared with a private dockerd 20.10 running the same image.

The ``dockerd`` fixture runs with ``--bridge=none``, so docker has no default bridge to
compare with; for ``bridge`` the expected shape is docker's documented one (the
localhost block, then ``<address>\\t<hostname>``; the host's resolv.conf without
loopback nameservers), and it is the same shape docker gives a user network's hosts
file, which is compared for real.
"""

from __future__ import annotations

import re
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


def test_default_bridge_has_dockers_documented_shape(net_engine: Any,
                                                     dockerd: Any, docker_net: str) -> None:
    hosts, resolv = _our_files(net_engine, "default")
    user_hosts, _ = _docker_files(dockerd, "--network", docker_net)
    _, none_resolv = _docker_files(dockerd, "--network", "none")
    assert _shape(hosts, "peerhost") == _shape(user_hosts, "peerhost")
    assert resolv == none_resolv  # the host's, without loopback nameservers


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
