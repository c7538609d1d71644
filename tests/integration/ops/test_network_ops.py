"""Operations on bridge networking: network events around a container's life (dockerd's
order), volume events (compared with dockerd), and stats' counters on a real bridge."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.events import read_events
from dockyard.engine.stats import summarize
from tests.integration.network import core_world
from tests.integration.network.core_world import start
from tests.integration.ops.conftest import eventually
from tests.support.dockerd import Dockerd

net_engine = core_world.net_engine  # fixture


def _seq(eng: Any, since: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [(str(e["Type"]), str(e["Action"]), dict(e["Actor"]["Attributes"]))  # type: ignore[call-overload]
            for e in read_events(eng.roots.root, since_ns=since)]


def test_network_events_around_run_and_stop(net_engine: Any) -> None:
    since = time.time_ns()
    cid = start(net_engine, "sleep", "60")
    net_engine.stop(cid, timeout=0)
    bridge_id = net_engine.networks.inspect("bridge")["Id"]
    seq = eventually(lambda: (s := _seq(net_engine, since)) and s[-1][1] == "stop" and s)
    actions = [(t, a) for t, a, _ in seq]
    # dockerd's order: the endpoint before start, its removal between die and stop
    assert actions == [("container", "create"), ("network", "connect"),
                       ("container", "start"), ("container", "kill"),
                       ("container", "kill"), ("container", "die"),
                       ("network", "disconnect"), ("container", "stop")]
    connect = seq[1][2]
    assert connect == {"container": cid, "name": "bridge", "type": "bridge"}
    assert seq[6][2] == connect
    evs = [e for e in read_events(net_engine.roots.root, since_ns=since)
           if e["Type"] == "network"]
    assert {e["Actor"]["ID"] for e in evs} == {bridge_id}  # type: ignore[index]
    assert all("status" not in e for e in evs)


def test_network_create_and_rm_events(net_engine: Any, session_token: str) -> None:
    since = time.time_ns()
    name = f"ev-{session_token}"
    net_id = net_engine.networks.create(name, subnet=core_world.free_subnet(77))["Id"]
    net_engine.networks.remove(name)
    assert [(e["Action"], e["Actor"]) for e in
            read_events(net_engine.roots.root, since_ns=since)] == [
        ("create", {"ID": net_id, "Attributes": {"name": name, "type": "bridge"}}),
        ("destroy", {"ID": net_id, "Attributes": {"name": name, "type": "bridge"}})]


def test_net_counters_grow_on_the_bridge(net_engine: Any) -> None:
    gateway = net_engine.networks.inspect("bridge")["IPAM"]["Config"][0]["Gateway"]
    cid = start(net_engine, "sh", "-c", f"touch /go; ping -c 5 -i 0.2 -s 1000 {gateway}; "
                "touch /done; sleep 60")
    before = summarize(net_engine.stats(cid), None)
    eventually(lambda: net_engine.exec_start(net_engine.exec_create(
        cid, {"Cmd": ["test", "-e", "/done"]})) == 0, timeout=20)
    after = summarize(net_engine.stats(cid), None)
    assert set(net_engine.stats(cid)["networks"]) == {"eth0"}
    assert after["net_tx"] - before["net_tx"] >= 4 * 1000
    assert after["net_rx"] - before["net_rx"] >= 4 * 1000


@pytest.mark.peer
@pytest.mark.slow
def test_volume_events_match_docker(dockerd: Dockerd, net_engine: Any,
                                    tmp_path: Path) -> None:
    since = time.time()
    dockerd.docker("volume", "create", "dyvol")
    dockerd.docker("volume", "rm", "dyvol")
    until = time.time() + 0.5
    time.sleep(0.6)
    out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                         "--filter", "type=volume", "--format", "{{json .}}").stdout
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]
    start_ns = time.time_ns()
    net_engine.volume_create("dyvol")
    net_engine.volume_remove("dyvol")
    ours = list(read_events(net_engine.roots.root, since_ns=start_ns))
    assert [(e["Action"], e["Actor"]) for e in theirs] == [("create", {
        "ID": "dyvol", "Attributes": {"driver": "local"}}), ("destroy", {
            "ID": "dyvol", "Attributes": {"driver": "local"}})]
    assert [(tuple(e), e["Action"], e["Actor"]) for e in ours] == \
        [(tuple(e), e["Action"], e["Actor"]) for e in theirs]


@pytest.mark.peer
@pytest.mark.slow
def test_volume_mount_and_unmount_events_match_docker(
        dockerd: Dockerd, net_engine: Any, busybox_rootfs_template: Path) -> None:
    """A container using a named volume: ``mount`` at its start, ``unmount`` at its stop,
    with dockerd's attributes (regression: these were not logged)."""
    dockerd.import_rootfs(busybox_rootfs_template, "busybox")
    since = time.time()
    dockerd.docker("volume", "create", "dymnt")
    theirs_id = dockerd.docker("run", "-d", "--network", "none", "-v", "dymnt:/data:ro",
                               "busybox", "sleep", "100").stdout.strip()
    dockerd.docker("stop", "-t", "1", theirs_id)
    dockerd.docker("rm", theirs_id)
    dockerd.docker("volume", "rm", "dymnt")
    until = time.time() + 0.5
    time.sleep(0.6)
    out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                         "--filter", "type=volume", "--filter", "event=mount",
                         "--filter", "event=unmount", "--format", "{{json .}}").stdout
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]
    start_ns = time.time_ns()
    net_engine.volume_create("dymnt")
    cid = net_engine.create(None, {"Image": "busybox", "Cmd": ["sleep", "100"]},
                            {"NetworkMode": "none", "Binds": ["dymnt:/data:ro"]})["Id"]
    net_engine.start(cid)
    net_engine.stop(cid, timeout=1)
    net_engine.remove(cid)
    net_engine.volume_remove("dymnt")
    ours = [e for e in read_events(net_engine.roots.root, since_ns=start_ns)
            if e["Action"] in ("mount", "unmount")]

    def shape(events: list[dict[str, Any]], container: str) -> list[Any]:
        return [(tuple(e), e["Type"], e["Action"], e["Actor"]["ID"],
                 {k: (v if v != container else "<id>")
                  for k, v in e["Actor"]["Attributes"].items()}) for e in events]

    assert [e["Action"] for e in theirs] == ["mount", "unmount"]
    assert shape(ours, cid) == shape(theirs, theirs_id)
