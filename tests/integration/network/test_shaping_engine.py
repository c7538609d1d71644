"""Must-show 4 through the engine: ``--egress-rate 20mbit`` holds 20 Mbit/s ± 15% over
3 s to a peer on its network, an unlimited container is much faster; inspect shows the
limit and ``update`` changes it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network import shaping
from dockyard.network.dns_netns import netns_socket
from tests.integration.network import core_world
from tests.integration.network.core_world import start

net_engine = core_world.net_engine  # fixtures

WARMUP, WINDOW = 0.5, 3.0


def received_rate(sink_ns: str, sink_ip: str, port: int, eng: Any, network: str,
                  **hc: Any) -> tuple[float, str]:
    """Bits/s a container sending zeros with ``nc`` delivers to a sink in ``sink_ns``."""
    server = netns_socket(sink_ns)
    server.bind((sink_ip, port))
    server.listen(1)
    server.settimeout(15)
    sender = start(eng, "sh", "-c", f"cat /dev/zero | nc {sink_ip} {port}; sleep 60",
                   network=network,
                   **hc)
    total = 0
    try:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            start_at = time.monotonic() + WARMUP
            while (now := time.monotonic()) < start_at + WINDOW:
                data = conn.recv(1 << 20)
                if not data:
                    break
                if now >= start_at:
                    total += len(data)
    finally:
        server.close()
    return total * 8 / WINDOW, sender


@pytest.mark.slow
def test_egress_rate_holds_through_the_engine_and_update_changes_it(net_engine: Any) -> None:
    net_engine.networks.create("shaped", subnet=core_world.free_subnet(41))
    peer = start(net_engine, "sleep", "60", network="shaped")
    info = net_engine.inspect(peer)
    sink_ns = info["NetworkSettings"]["SandboxKey"]
    sink_ip = info["NetworkSettings"]["Networks"]["shaped"]["IPAddress"]

    limited, cid = received_rate(sink_ns, sink_ip, 5001, net_engine, "shaped",
                                 EgressRate=20_000_000)
    assert 17_000_000 <= limited <= 23_000_000, f"{limited / 1e6:.1f} Mbit/s"
    hc = net_engine.inspect(cid)["HostConfig"]
    assert hc["EgressRate"] == 20_000_000 and "IngressRate" not in hc
    ns = net_engine.inspect(cid)["NetworkSettings"]["SandboxKey"]
    assert shaping.get_rate("eth0", ns) == (20_000_000, 0)

    net_engine.update(cid, {"EgressRate": 5_000_000, "IngressRate": 1_000_000})
    assert shaping.get_rate("eth0", ns) == (5_000_000, 1_000_000)
    assert net_engine.inspect(cid)["HostConfig"]["EgressRate"] == 5_000_000
    net_engine.update(cid, {"EgressRate": 0, "IngressRate": 0})
    assert shaping.get_rate("eth0", ns) == (0, 0)
    assert "EgressRate" not in net_engine.inspect(cid)["HostConfig"]
    net_engine.remove(cid, force=True)

    unlimited, other = received_rate(sink_ns, sink_ip, 5002, net_engine, "shaped")
    assert unlimited > 3 * 20_000_000, f"{unlimited / 1e6:.1f} Mbit/s"
    net_engine.remove(other, force=True)


def test_rates_need_the_containers_own_network(net_engine: Any) -> None:
    with pytest.raises(InvalidArgument, match="need the container's own network"):
        start(net_engine, "true", network="none", EgressRate=1_000_000)
    assert net_engine.list(all=True) == []  # refused at create: nothing half-made
    cid = start(net_engine, "sleep", "30", network="host")
    with pytest.raises(InvalidArgument, match="need the container's own network"):
        net_engine.update(cid, {"EgressRate": 1_000_000})
    assert "EgressRate" not in net_engine.inspect(cid)["HostConfig"]
