"""The network store: records, names, overlaps, endpoints and addresses under its lock."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from dockyard.errors import AlreadyExists, Conflict, Forbidden, InvalidArgument, NotFound
from dockyard.network.store import NetworkStore, host_routes


@pytest.fixture
def store(tmp_path: Path) -> NetworkStore:
    return NetworkStore(tmp_path / "networks")


def _files(store: NetworkStore) -> dict[str, str]:
    return {p.name: p.read_text() for p in store.dir.glob("*.json")}


def test_predefined_networks_appear_in_dockers_shape(store: NetworkStore) -> None:
    docs = {d["Name"]: d for d in store.all()}
    assert set(docs) == {"bridge", "host", "none"}
    bridge = docs["bridge"]
    assert bridge["Driver"] == "bridge" and docs["host"]["Driver"] == "host"
    assert docs["none"]["Driver"] == "null" and docs["none"]["IPAM"]["Config"] == []
    assert set(bridge) - {"Dockyard"} == {
        "Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal",
        "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options",
        "Labels"}
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    subnet = bridge["IPAM"]["Config"][0]["Subnet"]
    from ipaddress import IPv4Network
    assert not any(IPv4Network(subnet).overlaps(r) for r in host_routes())
    assert store.get("bridge") == bridge == store.get(bridge["Id"][:10])


def test_create_checks_like_dockerd_and_stores_nothing_on_error(store: NetworkStore) -> None:
    store.create("front", subnet="10.200.0.0/24", labels={"a": "b"})
    before = _files(store)
    cases: list[tuple[dict[str, str], type[Exception], str]] = [
        ({"name": "front"}, AlreadyExists, "network with name front already exists"),
        ({"name": "bridge"}, AlreadyExists, "network with name bridge already exists"),
        ({"name": "x", "subnet": "10.200.0.128/25"}, Conflict, "Pool overlaps"),
        ({"name": "x", "subnet": "10.0.0.0/8"}, Conflict, "Pool overlaps"),
        ({"name": "x", "subnet": "bogus"}, InvalidArgument, "invalid CIDR address: bogus"),
        ({"name": "x", "gateway": "10.1.0.1"}, InvalidArgument, "need a subnet"),
        ({"name": "bad name"}, InvalidArgument, 'invalid network name "bad name"'),
        ({"name": "x", "driver": "overlay"}, NotFound, 'plugin "overlay" not found'),
    ]
    for kwargs, error, message in cases:
        name = kwargs.pop("name")
        with pytest.raises(error, match=message):
            store.create(name, **kwargs)  # type: ignore[arg-type]
    assert _files(store) == before


def test_user_network_without_subnet_gets_a_free_default_pool(store: NetworkStore) -> None:
    a = store.create("a")
    b = store.create("b")
    sa, sb = (d["IPAM"]["Config"][0]["Subnet"] for d in (a, b))
    assert sa != sb and sa != store.get("bridge")["IPAM"]["Config"][0]["Subnet"]
    assert a["IPAM"]["Options"] == {} and a["Options"] == {}


def test_remove_refuses_predefined_in_use_and_unknown(store: NetworkStore) -> None:
    store.create("n1", subnet="10.201.0.0/24")
    ep = store.attach("n1", "c" * 64, "web")
    with pytest.raises(Conflict, match=r"network n1 id [0-9a-f]{64} has active endpoints"):
        store.remove("n1")
    with pytest.raises(Forbidden, match="bridge is a pre-defined network"):
        store.remove("bridge")
    with pytest.raises(NotFound, match="network nope not found"):
        store.remove("nope")
    assert store.detach("n1", "c" * 64) == ep
    store.remove("n1")
    with pytest.raises(NotFound):
        store.get("n1")


def test_attach_detach_and_requested_addresses(store: NetworkStore) -> None:
    store.create("n", subnet="10.202.0.0/24")
    a = store.attach("n", "a" * 64, "a", aliases=["db"])
    b = store.attach("n", "b" * 64, "b", ip="10.202.0.50")
    assert (a.address, a.gateway, a.prefixlen) == ("10.202.0.2", "10.202.0.1", 24)
    assert a.mac == "02:42:0a:ca:00:02" and a.aliases == ["db"]
    assert b.address == "10.202.0.50" and b.ipam_address == "10.202.0.50"
    with pytest.raises(Conflict, match=r"Address already in use: 10\.202\.0\.50"):
        store.attach("n", "c" * 64, "c", ip="10.202.0.50")
    with pytest.raises(InvalidArgument, match="does not belong"):
        store.attach("n", "c" * 64, "c", ip="10.9.9.9")
    with pytest.raises(InvalidArgument, match="user defined networks only"):
        store.attach("bridge", "c" * 64, "c", ip="172.17.0.9")
    doc = store.get("n")
    assert doc["Containers"]["a" * 64] == {
        "Name": "a", "EndpointID": a.endpoint_id, "MacAddress": a.mac,
        "IPv4Address": "10.202.0.2/24", "IPv6Address": ""}
    assert [e.container_id for e in store.endpoints("a" * 64)] == ["a" * 64]
    store.detach("n", "a" * 64)
    c = store.attach("n", "c" * 64, "c")
    assert c.address == "10.202.0.3"  # serial: the freed .2 is not reused at once


def test_failed_kernel_side_forgets_the_endpoint(store: NetworkStore) -> None:
    store.create("n", subnet="10.203.0.0/24")

    def boom(*_: object) -> None:
        raise OSError("no veth")

    with pytest.raises(OSError):
        store.attach("n", "a" * 64, "a", then=boom)
    assert store.get("n")["Containers"] == {}
    assert store.get("n")["Dockyard"]["Endpoints"] == {}


def test_sweep_releases_stale_endpoints(store: NetworkStore) -> None:
    store.create("n", subnet="10.204.0.0/24")
    store.attach("n", "a" * 64, "a")
    store.attach("n", "b" * 64, "b")
    seen: list[str] = []
    dropped = store.sweep(lambda cid: cid.startswith("a"),
                          then=lambda ep, doc: seen.append(ep.container_id))
    assert [e.container_id for e in dropped] == seen == ["a" * 64]
    assert list(store.get("n")["Containers"]) == ["b" * 64]


def _attach_one(args: tuple[str, int]) -> str:
    directory, n = args
    return NetworkStore(Path(directory)).attach("n", f"{n:064x}", f"c{n}").address


def test_concurrent_attaches_from_processes_get_distinct_addresses(
        store: NetworkStore) -> None:
    store.create("n", subnet="10.205.0.0/24")
    with multiprocessing.get_context("fork").Pool(8) as pool:
        got = pool.map(_attach_one, [(str(store.dir), n) for n in range(50)])
    assert len(set(got)) == 50
    assert len(store.get("n")["Containers"]) == 50
    json.loads((store.dir / f"{store.get('n')['Id']}.json").read_text())


def test_an_automatic_subnet_moves_when_the_host_now_routes_it(
        store: NetworkStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from ipaddress import IPv4Network

    from dockyard.network import store as store_mod

    subnet = store.get("bridge")["IPAM"]["Config"][0]["Subnet"]
    fixed = store.create("fixed", subnet="10.206.0.0/24")
    routes = [IPv4Network(subnet)]  # say a docker0 came up with our subnet
    monkeypatch.setattr(store_mod, "host_routes", lambda **_: list(routes))
    ep = store.attach("bridge", "a" * 64, "a")
    moved = store.get("bridge")["IPAM"]["Config"][0]
    assert moved["Subnet"] != subnet
    assert not IPv4Network(moved["Subnet"]).overlaps(IPv4Network(subnet))
    assert ep.address.startswith(moved["Subnet"].rsplit(".", 2)[0])
    # with an endpoint (a bridge up) it stays; a subnet the user gave never moves
    routes.append(IPv4Network(moved["Subnet"]))
    store.attach("bridge", "b" * 64, "b")
    assert store.get("bridge")["IPAM"]["Config"][0] == moved
    routes.append(IPv4Network("10.206.0.0/24"))
    store.attach("fixed", "c" * 64, "c")
    assert store.get("fixed")["IPAM"]["Config"] == fixed["IPAM"]["Config"]


def test_endpoint_changes_skip_the_fsync_definitions_keep_it(
        store: NetworkStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Endpoints mean nothing after a reboot, so attach/detach/sweep write without an
    fsync (a killed process still finds the old record or the new: rename); creating a
    network, or moving its subnet, is made durable."""
    import os

    from dockyard.network import store as store_mod

    store.all()  # the predefined networks (written durably)
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    store.create("durable", subnet="10.207.0.0/24")
    assert len(synced) == 1
    store.attach("durable", "a" * 64, "a")
    store.detach("durable", "a" * 64)
    store.attach("durable", "b" * 64, "b")
    store.sweep(lambda cid: True)
    with pytest.raises(RuntimeError):
        store.attach("durable", "c" * 64, "c",
                     then=lambda ep, doc: (_ for _ in ()).throw(RuntimeError("wire")))
    assert len(synced) == 1
    assert store.get("durable")["Containers"] == {}
    subnet = store.get("bridge")["IPAM"]["Config"][0]["Subnet"]
    from ipaddress import IPv4Network

    monkeypatch.setattr(store_mod, "host_routes", lambda **_: [IPv4Network(subnet)])
    store.attach("bridge", "d" * 64, "d")  # moves to a free pool: durable
    assert len(synced) == 2


def test_remove_runs_the_kernel_side_before_the_record_goes(store: NetworkStore) -> None:
    """Killed while deleting the bridge and rules, the record stays for a next rm."""
    nid = store.create("doomed", subnet="10.208.0.0/24")["Id"]
    seen: list[bool] = []

    def kernel(doc: dict[str, object]) -> None:
        seen.append((store.dir / f"{doc['Id']}.json").exists())
        raise KeyboardInterrupt  # as a kill would stop it

    with pytest.raises(KeyboardInterrupt):
        store.remove("doomed", then=kernel)
    assert seen == [True] and store.get("doomed")["Id"] == nid
    store.remove("doomed", then=lambda doc: seen.append(True))
    with pytest.raises(NotFound):
        store.get("doomed")


def test_host_routes_by_device(tmp_path: Path) -> None:
    """/proc/net/route's lines: default routes never count; ``dev`` keeps one link's,
    ``skip_dev`` drops them."""
    from ipaddress import IPv4Network

    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "dyb1\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n")
    everything = [IPv4Network("192.168.1.0/24"), IPv4Network("172.17.0.0/16")]
    assert host_routes(str(table)) == everything
    assert host_routes(str(table), dev="dyb1") == [IPv4Network("172.17.0.0/16")]
    assert host_routes(str(table), skip_dev="dyb1") == [IPv4Network("192.168.1.0/24")]
    assert host_routes(str(table), dev="nosuch") == []
    assert host_routes(str(tmp_path / "missing")) == []
