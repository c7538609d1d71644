"""Published ports, masquerade, isolation and the firewall hook on the real kernel.

Containers here are test-made namespaces on test-made bridges (see ports_world); the
rules go into a per-session table that the leak check looks for.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.errors import Conflict
from dockyard.network import nft
from dockyard.network.ports import parse_publish
from tests.integration.network.ports_world import Endpoint, World, ask

UDP = socket.SOCK_DGRAM


@pytest.fixture
def table(session_token: str) -> Iterator[str]:
    name = f"dyservices_{session_token}"  # not the engine tests' table
    yield name
    subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True)


@pytest.fixture
def world(session_token: str) -> Iterator[World]:
    w = World(session_token)
    try:
        yield w
    finally:
        w.close()


def net_record(net_id: str, bridge: str, subnet: str, internal: bool = False) -> dict[str, Any]:
    return {"Id": net_id, "Name": net_id, "Internal": internal,
            "IPAM": {"Config": [{"Subnet": subnet}]}, "Dockyard": {"Bridge": bridge}}


def one_net(world: World, table: str, internal: bool = False) -> tuple[Endpoint, str]:
    bridge, subnet = world.bridge()
    nft.network_rules(table, net_record("n1", bridge, str(subnet), internal))
    return world.container(bridge, subnet, 2), bridge


def subnet_of(ep: Endpoint) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{ep.gateway}/{ep.prefixlen}", strict=False)


def test_localhost_and_local_address_reach_published_tcp_and_udp(
        world: World, table: str) -> None:
    ep, _ = one_net(world, table)
    world.serve(ep.netns, 80)
    world.serve(ep.netns, 53, UDP)
    local = world.local_address()
    assert ask("127.0.0.1", 18080) == ""  # nothing before publishing
    got = nft.publish(table, ep, parse_publish("18080:80") + parse_publish("18053:53/udp"))
    assert [(p.host_ip, p.host_port, p.container_port) for p in got] == [
        ("0.0.0.0", 18080, 80), ("0.0.0.0", 18053, 53)]
    assert ask("127.0.0.1", 18080).startswith("hello from ")
    assert ask(local, 18080).startswith("hello from ")
    assert ask("127.0.0.1", 18053, kind=UDP).startswith("hello from ")
    assert ask(local, 18053, kind=UDP).startswith("hello from ")
    nft.unpublish(table, ep.endpoint_id)
    assert ask("127.0.0.1", 18080) == ""


def test_loopback_binding_only_answers_on_loopback(world: World, table: str) -> None:
    ep, _ = one_net(world, table)
    world.serve(ep.netns, 80)
    local = world.local_address()
    nft.publish(table, ep, parse_publish("127.0.0.1:18081:80"))
    assert ask("127.0.0.1", 18081).startswith("hello from ")
    assert ask(local, 18081, timeout=0.5) == ""


def test_outside_reaches_published_port_and_sees_masquerade(world: World, table: str) -> None:
    ep, _ = one_net(world, table)
    outside, outside_addr, host_addr = world.outside()
    world.serve(ep.netns, 80)
    world.serve(outside, 9000)
    nft.publish(table, ep, parse_publish("18082:80"))
    # In through the host's address: the container sees the outside peer itself.
    assert ask(host_addr, 18082, ns=outside) == f"hello from {outside_addr}"
    # Out to the "outside": masqueraded to the host's address on that link.
    assert ask(outside_addr, 9000, ns=ep.netns) == f"hello from {host_addr}"


def test_hairpin_container_reaches_its_own_published_port(world: World, table: str) -> None:
    ep, bridge = one_net(world, table)
    neighbour = world.container(bridge, subnet_of(ep), 3)
    world.serve(ep.netns, 80)
    nft.publish(table, ep, parse_publish("18083:80"))
    assert ask(ep.gateway, 18083, ns=ep.netns).startswith("hello from ")
    assert ask(ep.gateway, 18083, ns=neighbour.netns).startswith("hello from ")


def test_taken_port_is_refused_with_dockers_message_and_nothing_added(
        world: World, table: str) -> None:
    ep, bridge = one_net(world, table)
    other = world.container(bridge, subnet_of(ep), 3)
    nft.publish(table, ep, parse_publish("18084:80"))
    before = nft.published(table)
    with pytest.raises(Conflict, match=r"^Bind for 0.0.0.0:18084 failed: port is already "
                                       r"allocated$"):
        nft.publish(table, other, parse_publish("18085:81") + parse_publish("18084:80"))
    with pytest.raises(Conflict, match=r"Bind for 127\.0\.0\.1:18084 failed"):
        nft.publish(table, other, parse_publish("127.0.0.1:18084:80"))
    assert nft.published(table) == before
    # A host process holding the port is a conflict too.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 18086))
    holder.listen(1)
    with holder, pytest.raises(Conflict, match=r"Bind for 0\.0\.0\.0:18086 failed"):
        nft.publish(table, other, parse_publish("18086:80"))
    # UDP on the same number is a different port.
    assert nft.publish(table, other, parse_publish("18084:80/udp"))[0].host_port == 18084


def test_unspecified_host_ports_are_distinct_and_ranges_skip_taken(
        world: World, table: str) -> None:
    ep, bridge = one_net(world, table)
    got = nft.publish(table, ep, parse_publish("80") + parse_publish("81"))
    assert got[0].host_port != got[1].host_port
    other = world.container(bridge, subnet_of(ep), 3)
    nft.publish(table, ep, parse_publish("18087:82"))
    assert nft.publish(table, other, parse_publish("18087-18089:80"))[0].host_port == 18088


def test_isolation_between_networks_and_internal(world: World, table: str) -> None:
    b1, s1 = world.bridge()
    b2, s2 = world.bridge()
    b3, s3 = world.bridge()
    nft.network_rules(table, net_record("n1", b1, str(s1)))
    nft.network_rules(table, net_record("n2", b2, str(s2)))
    nft.network_rules(table, net_record("n3", b3, str(s3), internal=True))
    a, a2 = world.container(b1, s1, 2), world.container(b1, s1, 3)
    b, c = world.container(b2, s2, 2), world.container(b3, s3, 2)
    outside, outside_addr, _ = world.outside()
    for ep in (a, a2, b, c):
        world.serve(ep.netns, 7000)
    world.serve(outside, 9000)
    assert ask(a2.address, 7000, ns=a.netns).startswith("hello")  # same network
    assert ask(b.address, 7000, ns=a.netns, timeout=0.5) == ""
    assert ask(a.address, 7000, ns=b.netns, timeout=0.5) == ""
    assert ask(outside_addr, 9000, ns=b.netns).startswith("hello")
    assert ask(outside_addr, 9000, ns=c.netns, timeout=0.5) == ""  # internal: no way out
    assert ask(c.address, 7000, ns=a.netns, timeout=0.5) == ""
    # A published port stays reachable from another network, through the host.
    nft.publish(table, b, parse_publish("18090:7000"))
    assert ask(a.gateway, 18090, ns=a.netns).startswith("hello")


def test_firewall_hook_blocks_published_port(world: World, table: str,
                                             session_token: str) -> None:
    """The recipe of docs/networking-firewall.md: the user's own table, before ours."""
    ep, _ = one_net(world, table)
    outside, _, host_addr = world.outside()
    world.serve(ep.netns, 80)
    nft.publish(table, ep, parse_publish("18091:80"))
    assert ask(host_addr, 18091, ns=outside).startswith("hello")
    user = f"userfw_{session_token}"
    rules = f"""
    table inet {user} {{
        chain published {{
            type filter hook forward priority filter - 10; policy accept;
            ct status dnat meta l4proto tcp ct original proto-dst 18091 drop
        }}
    }}"""
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
    try:
        assert ask(host_addr, 18091, ns=outside, timeout=0.5) == ""
        assert ask("127.0.0.1", 18091).startswith("hello")  # the host itself: not forwarded
    finally:
        subprocess.run(["nft", "delete", "table", "inet", user], check=True)
    assert ask(host_addr, 18091, ns=outside).startswith("hello")


def test_table_goes_with_its_last_rule(world: World, table: str) -> None:
    ep, _ = one_net(world, table)
    nft.publish(table, ep, parse_publish("18092:80"))
    assert not nft.drop_table_if_empty(table)
    nft.unpublish(table, ep.endpoint_id)
    assert not nft.drop_table_if_empty(table)  # the network's rules are still there
    nft.remove_network_rules(table, "n1")
    assert nft.drop_table_if_empty(table)
    out = subprocess.run(["nft", "-j", "list", "tables"], capture_output=True, text=True)
    names = [t["table"]["name"] for t in json.loads(out.stdout)["nftables"] if "table" in t]
    assert table not in names
    nft.unpublish(table, ep.endpoint_id)  # a missing table is not an error
    nft.remove_network_rules(table, "n1")


def test_concurrent_publishers_get_distinct_ports(world: World, table: str) -> None:
    """Several runs at once (threads here; the lock is a file, so processes alike)."""
    from concurrent.futures import ThreadPoolExecutor

    bridge, subnet = world.bridge()
    nft.network_rules(table, net_record("n1", bridge, str(subnet)))
    eps = [world.container(bridge, subnet, h) for h in range(2, 10)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda ep: nft.publish(table, ep, parse_publish("80")), eps))
    ports = [p[0].host_port for p in got]
    assert len(set(ports)) == len(eps)
    assert sorted(p.host_port for _, p in nft.published(table)) == sorted(ports)
    for ep in eps:
        nft.unpublish(table, ep.endpoint_id)
    assert nft.published(table) == []
