"""Bridge networking on the real kernel: addresses, routes, reachability, isolation,
masquerade to an "outside" namespace, and that nothing is left after rm."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.network import names, netns
from tests.integration.network import core_world
from tests.integration.network.core_world import (
    Outside,
    bridges,
    exit_code,
    free_subnet,
    links_with,
    run,
    start,
    veths_left,
)

net_engine = core_world.net_engine  # fixtures
outside = core_world.outside


def _listen(port: int, word: str) -> str:
    """A shell server: accept one TCP connection, succeed if ``word`` came. Its stdin
    is a FIFO held open, since busybox nc ends at once when its stdin ends (a race
    with the data coming in)."""
    return (f"mkfifo /in; exec 3<>/in; nc -l -p {port} <&3 > /got; "
            f"grep -q {word} /got")


def _send(word: str, host: str, port: int) -> str:
    """A shell client that retries while the server is not listening yet."""
    return (f"for i in 1 2 3 4 5 6 7 8 9 10; do echo {word} | nc -w 3 {host} {port} "
            "&& exit 0; sleep 0.3; done; exit 1")


def _nsenter(path: str, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={path}", *cmd], capture_output=True,
                          text=True, timeout=20)


def test_default_bridge_address_route_and_nothing_left_after_rm(net_engine: Any) -> None:
    cid = start(net_engine, "sleep", "60")
    info = net_engine.inspect(cid)
    ns = info["NetworkSettings"]
    ep = ns["Networks"]["bridge"]
    bridge = net_engine.networks.inspect("bridge")
    subnet = ipaddress.IPv4Network(bridge["IPAM"]["Config"][0]["Subnet"])
    assert ipaddress.IPv4Address(ep["IPAddress"]) in subnet
    assert ep["Gateway"] == bridge["IPAM"]["Config"][0]["Gateway"] == ns["Gateway"]
    assert ns["IPAddress"] == ep["IPAddress"] and ep["IPPrefixLen"] == subnet.prefixlen
    assert ep["MacAddress"].startswith("02:42:") and ep["NetworkID"] == bridge["Id"]
    assert bridge["Containers"][cid]["IPv4Address"] == f"{ep['IPAddress']}/{subnet.prefixlen}"
    sandbox = ns["SandboxKey"]
    addr = _nsenter(sandbox, "ip", "-4", "-o", "addr", "show", "eth0").stdout
    assert f"{ep['IPAddress']}/{subnet.prefixlen}" in addr
    assert f"default via {ep['Gateway']} dev eth0" in _nsenter(sandbox, "ip", "route").stdout
    assert _nsenter(sandbox, "busybox", "ping", "-c", "1", "-W", "2", ep["Gateway"]).returncode == 0
    veth = names.veth_name(ep["EndpointID"])
    assert veth in links_with(names.prefix())
    hosts = Path(info["HostsPath"]).read_text()
    assert hosts.endswith(f"{ep['IPAddress']}\t{info['Config']['Hostname']}\n")

    net_engine.remove(cid, force=True)
    assert veths_left() == []  # the pair goes with the namespace
    # the bridge stays up for the next container, like docker0
    assert bridges() == [net_engine.networks.store.get("bridge")["Dockyard"]["Bridge"]]
    assert not netns.exists(Path(sandbox)) and not Path(sandbox).exists()
    assert net_engine.networks.inspect("bridge")["Containers"] == {}


def test_stop_releases_the_endpoint_and_start_attaches_again(net_engine: Any) -> None:
    cid = start(net_engine, "sleep", "60")
    first = net_engine.inspect(cid)["NetworkSettings"]["IPAddress"]
    net_engine.stop(cid, timeout=0)
    assert net_engine.networks.inspect("bridge")["Containers"] == {}
    assert veths_left() == []
    stopped = net_engine.inspect(cid)["NetworkSettings"]
    assert stopped["Networks"]["bridge"]["IPAddress"] == "" and stopped["SandboxKey"] == ""
    net_engine.start(cid)
    again = net_engine.inspect(cid)["NetworkSettings"]["IPAddress"]
    assert again and again != first  # serial allocation: the next address


def _serve_in(ns: Path, addr: str, port: int) -> socket.socket:
    """A TCP listener created inside the namespace (sockets keep their namespace)."""
    return netns.inside(ns, lambda: socket.create_server((addr, port)))


def _udp_socket(addr: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    sock.settimeout(15)
    return sock


@pytest.mark.slow  # ~6 s: two probes that must time out
def test_user_networks_reach_within_not_across_and_masquerade_outside(
        net_engine: Any, outside: Outside) -> None:
    a = net_engine.networks.create("neta", subnet=free_subnet(11))["Id"]
    net_engine.networks.create("netb", subnet=free_subnet(12))
    pool = net_engine.networks.inspect(a)["IPAM"]["Config"][0]
    server_ip = str(ipaddress.IPv4Network(pool["Subnet"]).network_address + 10)
    server = start(net_engine, "sh", "-c", _listen(7000, "tcp-hi"),
                   network="neta", ip=server_ip)
    client = _send("tcp-hi", server_ip, 7000)
    assert run(net_engine, "sh", "-c", client, network="neta") == 0
    assert exit_code(net_engine, server) == 0  # got it over TCP

    # UDP: busybox-static's nc has no -u, so tftp sends a datagram to a socket held
    # in a running container's namespace at its address
    holder = start(net_engine, "sleep", "60", network="neta", ip=server_ip)
    sandbox = Path(net_engine.inspect(holder)["NetworkSettings"]["SandboxKey"])
    udp = netns.inside(sandbox, lambda: _udp_socket(server_ip, 7001))
    try:
        sender = start(net_engine, "tftp", "-g", "-r", "udp-hi", server_ip, "7001",
                       network="neta")
        data, peer = udp.recvfrom(512)
        assert b"udp-hi" in data
        sender_ip = net_engine.inspect(sender)["NetworkSettings"]["Networks"]["neta"]
        assert peer[0] == sender_ip["IPAddress"]
        net_engine.remove(sender, force=True)
        # from the other network the datagram never arrives
        stranger = start(net_engine, "tftp", "-g", "-r", "udp-x", server_ip, "7001",
                         network="netb")
        udp.settimeout(2)
        with pytest.raises(TimeoutError):
            udp.recvfrom(512)
        net_engine.remove(stranger, force=True)
    finally:
        udp.close()
    net_engine.remove(holder, force=True)

    # another user network: by address, nothing gets through
    listener = start(net_engine, "nc", "-l", "-p", "7002", network="neta", ip=server_ip)
    probe = f"echo x | nc -w 2 {server_ip} 7002"
    assert run(net_engine, "sh", "-c", probe, network="netb") != 0
    assert run(net_engine, "sh", "-c", probe, network="neta") == 0
    assert exit_code(net_engine, listener) == 0

    # both networks reach the outside; the server sees the host's address
    srv = _serve_in(outside.path, outside.server_ip, 8000)
    srv.settimeout(15)
    peers: list[str] = []

    def accept_two() -> None:
        for _ in range(2):
            conn, peer = srv.accept()
            peers.append(peer[0])
            conn.close()

    t = threading.Thread(target=accept_two)
    t.start()
    try:
        for net in ("neta", "netb"):
            assert run(net_engine, "sh", "-c", f"echo hi | nc -w 3 {outside.server_ip} 8000",
                       network=net) == 0
    finally:
        t.join(20)
        srv.close()
    assert peers == [outside.host_ip, outside.host_ip]


def test_requested_address_and_docker_errors_leave_nothing(net_engine: Any) -> None:
    net_engine.networks.create("fixed", subnet=free_subnet(13))
    pool = net_engine.networks.inspect("fixed")["IPAM"]["Config"][0]
    want = str(ipaddress.IPv4Network(pool["Subnet"]).network_address + 77)
    cid = start(net_engine, "sleep", "60", network="fixed", ip=want)
    assert net_engine.inspect(cid)["NetworkSettings"]["Networks"]["fixed"]["IPAddress"] == want
    assert net_engine.inspect(cid)["NetworkSettings"]["Networks"]["fixed"]["IPAMConfig"] == \
        {"IPv4Address": want}
    before = len(net_engine.list(all=True))
    with pytest.raises(InvalidArgument, match="does not belong to any of this network"):
        start(net_engine, "true", network="fixed", ip="192.0.2.9")
    with pytest.raises(InvalidArgument, match="user defined networks only"):
        start(net_engine, "true", ip="172.17.0.50")
    with pytest.raises(NotFound, match="network nosuch not found"):
        start(net_engine, "true", network="nosuch")
    assert len(net_engine.list(all=True)) == before  # nothing created
    dup = net_engine.create(None, {"Image": "busybox", "Cmd": ["true"]},
                            {"NetworkMode": "fixed"},
                            {"EndpointsConfig": {"fixed": {"IPAMConfig": {"IPv4Address": want}}}})
    with pytest.raises(Conflict, match=f"Address already in use: {want}"):
        net_engine.start(dup["Id"])
    assert list(net_engine.networks.inspect("fixed")["Containers"]) == [cid]
    with pytest.raises(Conflict, match="has active endpoints"):
        net_engine.networks.remove("fixed")
    net_engine.remove(cid, force=True)
    net_engine.networks.remove("fixed")
    assert veths_left() == [] and bridges() == []


def test_connect_and_disconnect_a_running_container(net_engine: Any) -> None:
    net_engine.networks.create("side", subnet=free_subnet(14))
    cid = start(net_engine, "sleep", "60", network="none")
    with pytest.raises(InvalidArgument):
        net_engine.networks.connect("side", cid)  # none mode: no network to join
    cid = start(net_engine, "sleep", "60")
    net_engine.networks.connect("side", cid, aliases=["extra"])
    ns = net_engine.inspect(cid)["NetworkSettings"]
    side = ns["Networks"]["side"]
    assert side["IPAddress"] and side["Aliases"][0] == "extra"
    out = _nsenter(ns["SandboxKey"], "ip", "-4", "-o", "addr").stdout
    assert f"eth1    inet {side['IPAddress']}/" in out
    assert _nsenter(ns["SandboxKey"], "busybox", "ping", "-c", "1", "-W", "2",
                    side["Gateway"]).returncode == 0
    with pytest.raises(Conflict, match="already exists in network side"):
        net_engine.networks.connect("side", cid)
    net_engine.networks.disconnect("side", cid)
    assert "side" not in net_engine.inspect(cid)["NetworkSettings"]["Networks"]
    assert side["IPAddress"] not in _nsenter(ns["SandboxKey"], "ip", "-4", "-o", "addr").stdout
    assert net_engine.networks.inspect("side")["Containers"] == {}


def test_containers_find_each_other_by_name_and_alias_only_on_their_network(
        net_engine: Any) -> None:
    """Must-show 1 by name: the embedded DNS (net-services) answers names and aliases of
    the containers on the asker's networks only."""
    net_engine.networks.create("named", subnet=free_subnet(15))
    net_engine.networks.create("other", subnet=free_subnet(16))
    srv = start(net_engine, "sh", "-c", _listen(7000, "by-name"),
                network="named", name="srv", aliases=("api",))
    holder_ip = net_engine.inspect(srv)["NetworkSettings"]["Networks"]["named"]["IPAddress"]
    sandbox = Path(net_engine.inspect(srv)["NetworkSettings"]["SandboxKey"])
    udp = netns.inside(sandbox, lambda: _udp_socket(holder_ip, 7001))
    try:
        sender = start(net_engine, "tftp", "-g", "-r", "udp-by-alias", "api", "7001",
                       network="named")
        data, peer = udp.recvfrom(512)
        assert b"udp-by-alias" in data
        assert peer[0] == net_engine.inspect(sender)["NetworkSettings"]["Networks"][
            "named"]["IPAddress"]
        net_engine.remove(sender, force=True)
    finally:
        udp.close()
    assert run(net_engine, "sh", "-c", _send("by-name", "srv", 7000),
               network="named") == 0
    assert exit_code(net_engine, srv) == 0
    # from another user network the name does not resolve at all
    assert run(net_engine, "nslookup", "srv", network="other") != 0
    assert run(net_engine, "nslookup", "api", network="other") != 0
    assert run(net_engine, "nslookup", "srv", network="named") != 0  # srv has exited


def test_internal_network_has_no_way_out(net_engine: Any, outside: Outside) -> None:
    net_engine.networks.create("closed", subnet=free_subnet(17), internal=True)
    cid = start(net_engine, "sleep", "60", network="closed")
    ns = net_engine.inspect(cid)["NetworkSettings"]
    assert "default" not in _nsenter(ns["SandboxKey"], "ip", "route").stdout
    peer = ns["Networks"]["closed"]["IPAddress"]
    assert run(net_engine, "ping", "-c", "1", "-W", "2", peer, network="closed") == 0
    srv = _serve_in(outside.path, outside.server_ip, 8001)
    try:
        probe = f"echo hi | nc -w 2 {outside.server_ip} 8001"
        assert run(net_engine, "sh", "-c", probe, network="closed") != 0
    finally:
        srv.close()


def test_a_network_connected_while_stopped_is_attached_at_start(net_engine: Any) -> None:
    net_engine.networks.create("later", subnet=free_subnet(18))
    cid = net_engine.create(None, {"Image": "busybox", "Cmd": ["sleep", "60"]},
                            {"NetworkMode": "default"})["Id"]
    net_engine.networks.connect("later", cid, ip=str(
        ipaddress.IPv4Network(net_engine.networks.inspect("later")["IPAM"]["Config"][0]
                              ["Subnet"]).network_address + 9))
    assert net_engine.networks.inspect("later")["Containers"] == {}  # not running yet
    net_engine.start(cid)
    ns = net_engine.inspect(cid)["NetworkSettings"]
    assert list(ns["Networks"]) == ["bridge", "later"]
    later = ns["Networks"]["later"]["IPAddress"]
    assert later.endswith(".9")
    out = _nsenter(ns["SandboxKey"], "ip", "-4", "-o", "addr").stdout
    assert f"eth0    inet {ns['IPAddress']}/" in out and f"eth1    inet {later}/" in out
    assert f"default via {ns['Gateway']} dev eth0" in _nsenter(ns["SandboxKey"], "ip",
                                                                 "route").stdout


def test_the_network_mtu_option_reaches_bridge_veth_and_eth0(net_engine: Any) -> None:
    with pytest.raises(InvalidArgument, match="invalid MTU 'big'"):
        net_engine.networks.create("mtu", options={"com.docker.network.driver.mtu": "big"})
    doc = net_engine.networks.create("mtu", subnet=free_subnet(19),
                                     options={"com.docker.network.driver.mtu": "1400"})
    cid = start(net_engine, "sleep", "60", network="mtu")
    ns = net_engine.inspect(cid)["NetworkSettings"]
    assert "mtu 1400" in _nsenter(ns["SandboxKey"], "ip", "link", "show", "eth0").stdout
    veth = names.veth_name(ns["Networks"]["mtu"]["EndpointID"])
    assert Path(f"/sys/class/net/{veth}/mtu").read_text().strip() == "1400"
    bridge = net_engine.networks.store.get(doc["Id"])["Dockyard"]["Bridge"]
    assert Path(f"/sys/class/net/{bridge}/mtu").read_text().strip() == "1400"
