"""What a crash leaves is removed by the next start; 50 concurrent runs get 50 distinct
addresses and leave nothing after rm (must-show 3)."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dockyard.network import names, netns
from dockyard.settings import Roots
from tests.integration.network import core_world
from tests.integration.network.core_world import (
    bridges,
    free_subnet,
    links_with,
    start,
    veths_left,
)

net_engine = core_world.net_engine  # fixture


def _nft_rules_for(ids: list[str]) -> list[str]:
    out = subprocess.run(["nft", "-a", "list", "table", "ip", names.nft_table()],
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if any(i in line for i in ids)]


def test_a_killed_engine_and_monitor_leave_state_the_next_start_removes(
        net_engine: Any) -> None:
    net_engine.networks.create("crashy", subnet=free_subnet(21))
    cid = start(net_engine, "sleep", "60", network="crashy")
    ep = net_engine.inspect(cid)["NetworkSettings"]["Networks"]["crashy"]
    veth = names.veth_name(ep["EndpointID"])
    sandbox = net_engine.lc.networking.netns_path(cid)
    monitor = int((net_engine.lc.run_dir(cid) / "monitor.pid").read_text())
    init = int(net_engine.inspect(cid)["State"]["Pid"])
    assert init > 1 and monitor > 1
    os.kill(monitor, signal.SIGKILL)  # no exit hook, no tidy: as after a crash
    os.kill(init, signal.SIGKILL)
    time.sleep(0.2)
    assert veth in links_with(names.prefix()) and netns.exists(sandbox)
    assert cid in net_engine.networks.store.get("crashy")["Containers"]

    other = start(net_engine, "sleep", "60", network="crashy")  # sweeps on the way
    assert veth not in links_with(names.prefix())
    assert not netns.exists(sandbox)
    assert list(net_engine.networks.store.get("crashy")["Containers"]) == [other]
    net_engine.remove(other, force=True)
    net_engine.remove(cid, force=True)
    assert veths_left() == []


def test_a_half_done_attach_killed_mid_way_is_swept(net_engine: Any, roots: Roots) -> None:
    """A process killed between recording an endpoint and wiring it: the record stays
    (its container is not running), the next start releases it."""
    net_engine.networks.create("half", subnet=free_subnet(22))
    cid = net_engine.create("victim", {"Image": "busybox", "Cmd": ["true"]},
                            {"NetworkMode": "half"})["Id"]
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from dockyard.network.store import NetworkStore\n"
        "s = NetworkStore(Path(sys.argv[1]))\n"
        "s.attach('half', sys.argv[2], 'victim', then=lambda ep, doc: (print('in', flush=True),"
        " time.sleep(60)))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(roots.root / "networks"), cid],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "in\n"
        proc.kill()
    finally:
        proc.wait()
    assert cid in net_engine.networks.store.get("half")["Containers"]
    other = start(net_engine, "sleep", "60", network="half")
    assert list(net_engine.networks.store.get("half")["Containers"]) == [other]
    net_engine.remove(other, force=True)
    assert veths_left() == []


@pytest.mark.slow
def test_fifty_concurrent_runs_get_distinct_addresses_and_rm_leaves_nothing(
        net_engine: Any, roots: Roots) -> None:
    net = net_engine.networks.create("many", subnet=free_subnet(23))["Id"]
    env = dict(os.environ, DOCKYARD_CGROUP_PARENT=net_engine.lc.cgroup_parent)
    driver = [sys.executable, "-m", "tests.integration.network.core_driver", str(roots.root),
              str(roots.run_root), str(net_engine.images.lower)]

    def run_one(n: int) -> str:
        p = subprocess.run([*driver, f"c{n}", "--network", "many", "-p", f"{20000 + n}:80"],
                           capture_output=True, text=True, env=env, timeout=300,
                           cwd=Path(__file__).parents[3])
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    with ThreadPoolExecutor(50) as pool:
        ids = list(pool.map(run_one, range(50)))
    doc = net_engine.networks.inspect(net)
    addresses = [c["IPv4Address"] for c in doc["Containers"].values()]
    assert len(doc["Containers"]) == 50 and len(set(addresses)) == 50
    eps = [c["EndpointID"] for c in doc["Containers"].values()]
    assert len(_nft_rules_for(eps)) >= 50  # each published its port
    veths = {names.veth_name(e) for e in eps}
    assert veths <= set(links_with(names.prefix()))

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda c: net_engine.remove(c, force=True), ids))
    assert net_engine.networks.inspect(net)["Containers"] == {}
    assert veths_left() == []
    assert _nft_rules_for(eps) == []
    assert not any(netns.exists(net_engine.lc.networking.netns_path(c)) for c in ids)
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if str(roots.run_root) in line and "netns" in line]
    # the bridge and the network's own rules stay for its next containers, until rm
    assert bridges() != [] and _nft_rules_for([net]) != []
    net_engine.networks.remove(net)
    assert links_with(names.prefix()) == [] and _nft_rules_for([net]) == []


def test_system_check_reports_and_repairs_endpoints_a_crash_left(net_engine: Any) -> None:
    cid = start(net_engine, "sleep", "60")
    info = net_engine.inspect(cid)
    ep = info["NetworkSettings"]["Networks"]["bridge"]
    init = int(info["State"]["Pid"])  # before the monitor dies: then the state says 0
    assert init > 1
    os.kill(int((net_engine.lc.run_dir(cid) / "monitor.pid").read_text()), signal.SIGKILL)
    os.kill(init, signal.SIGKILL)
    time.sleep(0.2)
    kinds = [p["kind"] for p in net_engine.check()]
    assert "network endpoint of a stopped or missing container" in kinds
    assert names.veth_name(ep["EndpointID"]) in links_with(names.prefix())
    net_engine.check(repair=True)
    assert veths_left() == []
    assert net_engine.networks.inspect("bridge")["Containers"] == {}
    assert not [p for p in net_engine.check() if p["kind"].startswith("network")]


def test_network_rm_removes_a_bridge_a_crash_left_up(net_engine: Any) -> None:
    from dockyard.network import bridge

    subnet = ipaddress.IPv4Network(free_subnet(24))
    doc = net_engine.networks.create("leftover", subnet=str(subnet))
    name = net_engine.networks.store.get(doc["Id"])["Dockyard"]["Bridge"]
    # up with its gateway and no endpoint, as after a crash
    bridge.ensure_bridge(name, str(subnet.network_address + 1), subnet.prefixlen)
    assert name in links_with(names.prefix())
    net_engine.networks.remove("leftover")
    assert links_with(names.prefix()) == []
