"""How long the kernel objects of a bridge network live: the bridge and its nft rules
stay between containers (until ``network rm``), a veth goes with its container's
namespace, or at once when something else still holds that namespace."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path
from typing import Any

from dockyard.network import bridge, names, netns
from tests.integration.network import core_world
from tests.integration.network.core_world import (
    bridges,
    free_subnet,
    links_with,
    run,
    start,
    veths_left,
)

net_engine = core_world.net_engine  # fixture


def _ifindex(link: str) -> int:
    return int(Path(f"/sys/class/net/{link}/ifindex").read_text())


def _rule_handles(net_id: str) -> list[str]:
    out = subprocess.run(["nft", "-a", "list", "table", "ip", names.nft_table()],
                         capture_output=True, text=True).stdout  # no table: no rules
    return [line.rsplit("handle", 1)[1].strip() for line in out.splitlines()
            if f"net:{net_id}" in line]


def test_sequential_runs_reuse_the_bridge_and_its_rules(net_engine: Any) -> None:
    assert run(net_engine, "true") == 0
    doc = net_engine.networks.store.get("bridge")
    name = doc["Dockyard"]["Bridge"]
    index, handles = _ifindex(name), _rule_handles(doc["Id"])
    assert len(handles) == 3  # forward, isolate, masquerade
    assert run(net_engine, "true") == 0
    # the same link and the same rules: nothing was deleted and made again
    assert _ifindex(name) == index and _rule_handles(doc["Id"]) == handles
    assert veths_left() == [] and bridges() == [name]


def test_a_bridge_routing_an_old_subnet_is_made_again(net_engine: Any) -> None:
    """After its network moved to another pool, the bridge still up with the old
    gateway is replaced, and so are the network's rules."""
    subnet = ipaddress.IPv4Network(free_subnet(31))
    doc = net_engine.networks.store.get(net_engine.networks.create(
        "moving", subnet=str(subnet))["Id"])
    name = doc["Dockyard"]["Bridge"]
    old = ipaddress.IPv4Network(free_subnet(41))
    assert old != subnet
    bridge.ensure_bridge(name, str(old.network_address + 1), old.prefixlen)
    index = _ifindex(name)
    assert run(net_engine, "sh", "-c", f"ping -c 1 -W 2 {subnet.network_address + 1}",
               network="moving") == 0
    assert _ifindex(name) != index
    from dockyard.network.store import host_routes

    assert host_routes(dev=name) == [subnet]


def test_a_namespace_held_by_another_process_loses_its_veth_at_rm(
        net_engine: Any) -> None:
    """The kernel would keep the veth on the bridge while the namespace lives: the
    engine deletes it itself then."""
    cid = start(net_engine, "sleep", "60")
    ep = net_engine.inspect(cid)["NetworkSettings"]["Networks"]["bridge"]
    veth = names.veth_name(ep["EndpointID"])
    sandbox = net_engine.lc.networking.netns_path(cid)
    holder = subprocess.Popen(["nsenter", f"--net={sandbox}", "sleep", "60"])
    try:
        assert core_world.wait_for(lambda: netns.in_use(sandbox))
        net_engine.remove(cid, force=True)
        assert veth not in links_with(names.prefix())  # at once, not later
        assert not netns.exists(sandbox)
    finally:
        holder.kill()
        holder.wait()


def test_network_rm_takes_the_bridge_and_its_rules(net_engine: Any) -> None:
    net_id = net_engine.networks.create("brief", subnet=free_subnet(33))["Id"]
    assert run(net_engine, "true", network="brief") == 0
    name = net_engine.networks.store.get(net_id)["Dockyard"]["Bridge"]
    assert name in bridges() and _rule_handles(net_id)
    net_engine.networks.remove("brief")
    assert veths_left() == [] and name not in bridges() and _rule_handles(net_id) == []


def test_a_namespace_kept_by_a_socket_leaves_a_veth_check_finds(net_engine: Any) -> None:
    """No process is in the namespace, but an open socket keeps it (and the veth on
    the bridge) alive after rm: system check reports the veth and repair deletes it;
    network rm deletes such veths with the bridge."""
    from dockyard.network.dns_netns import netns_socket

    net_engine.networks.create("kept", subnet=free_subnet(35))
    for repair_by in ("check", "network rm"):
        cid = start(net_engine, "sleep", "60", network="kept")
        ep = net_engine.inspect(cid)["NetworkSettings"]["Networks"]["kept"]
        veth = names.veth_name(ep["EndpointID"])
        sock = netns_socket(str(net_engine.lc.networking.netns_path(cid)))
        try:
            net_engine.remove(cid, force=True)
            assert veth in links_with(names.prefix())
            if repair_by == "check":
                problems = net_engine.check()
                assert {"kind": "veth without endpoint", "id": "", "detail": veth,
                        "repaired": False} in problems
                net_engine.check(repair=True)
                assert veth not in links_with(names.prefix())
                assert not [p for p in net_engine.check() if "veth" in p["kind"]]
            else:
                net_engine.networks.remove("kept")
                assert veths_left() == [] and bridges() == []
        finally:
            sock.close()
