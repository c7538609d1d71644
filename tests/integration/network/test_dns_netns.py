"""The embedded DNS on the real kernel: bound in a test-made namespace, asked by
busybox nslookup from inside it and from another namespace; relaying to a fake
upstream on 127.0.0.x (never a real resolver)."""

from __future__ import annotations

import json
import random
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.network import dns_wire as wire
from dockyard.network.dns import DNS_ADDRESS, DnsServer
from dockyard.network.dns_netns import netns_socket
from dockyard.network.dns_records import StoreRecords
from tests.integration.network.ports_world import Endpoint, World


@pytest.fixture
def world(session_token: str) -> Iterator[World]:
    w = World(session_token)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def servers() -> Iterator[list[DnsServer]]:
    started: list[DnsServer] = []
    yield started
    for s in started:
        s.stop()


def nslookup(ns: str, name: str, server: str = DNS_ADDRESS) -> list[str]:
    out = subprocess.run(["ip", "netns", "exec", ns, "busybox", "nslookup", "-type=a", name,
                          server], capture_output=True, text=True, timeout=20).stdout
    answers = out.split("Name:", 1)[1] if "Name:" in out else ""
    return [line.split()[-1] for line in answers.splitlines() if line.startswith("Address")]


def query(name: str) -> bytes:
    return struct.pack("!HHHHHH", 99, 0x0100, 1, 0, 0, 0) + wire.encode_name(name) + b"\0\1\0\1"


def store(tmp_path: Path, eps: dict[str, tuple[Endpoint, list[str]]]) -> StoreRecords:
    doc: dict[str, Any] = {"Name": "appnet", "Id": "n1", "Containers": {},
                           "Dockyard": {"Endpoints": {}}}
    for i, (name, (ep, aliases)) in enumerate(eps.items()):
        cid = f"{i:x}" * 64
        doc["Containers"][cid] = {"Name": name, "IPv4Address": f"{ep.address}/{ep.prefixlen}"}
        doc["Dockyard"]["Endpoints"][cid] = {"Aliases": aliases}
    (tmp_path / "n1.json").write_text(json.dumps(doc))
    return StoreRecords(tmp_path, "0" * 64)  # as the first container sees them


@pytest.fixture
def upstream(servers: list[DnsServer]) -> str:
    """A fake "host resolver" on 127.0.0.x that knows one outside name."""
    fake = DnsServer(lambda n: ["10.99.0.7"] if n == "outside.example" else [], [])
    fake.start(None, f"127.0.0.{random.randint(20, 250)}", 0)
    servers.append(fake)
    host, port = fake.address
    return f"{host}:{port}"


def test_names_aliases_round_robin_and_relay(world: World, servers: list[DnsServer],
                                             upstream: str, tmp_path: Path) -> None:
    bridge, subnet = world.bridge()
    a, b, c = (world.container(bridge, subnet, h) for h in (2, 3, 4))
    records = store(tmp_path, {"web": (a, []), "db1": (b, ["db"]), "db2": (c, ["db"])})
    server = DnsServer(records.lookup, [upstream], records.ptr)
    server.start(f"/run/netns/{a.netns}")
    servers.append(server)
    assert nslookup(a.netns, "db1") == [b.address]
    assert nslookup(a.netns, "web.appnet") == [a.address]
    firsts = {nslookup(a.netns, "db")[0] for _ in range(2)}
    assert firsts == {b.address, c.address}
    assert nslookup(a.netns, "outside.example") == ["10.99.0.7"]  # relayed from the host
    assert nslookup(a.netns, "nothing.example") == []  # the upstream knows no such name
    # 127.0.0.11 answers only in a's namespace
    probe = netns_socket(f"/run/netns/{b.netns}", kind=socket.SOCK_DGRAM)
    with probe:
        probe.settimeout(0.3)
        probe.sendto(query("db1"), (DNS_ADDRESS, 53))
        with pytest.raises(OSError):
            probe.recv(512)


def test_served_on_an_address_to_another_namespace_over_udp_and_tcp(
        world: World, servers: list[DnsServer], tmp_path: Path) -> None:
    bridge, subnet = world.bridge()
    a, b = world.container(bridge, subnet, 2), world.container(bridge, subnet, 3)
    records = store(tmp_path, {"web": (a, ["www"])})
    server = DnsServer(records.lookup, [])
    server.start(f"/run/netns/{a.netns}", a.address)
    servers.append(server)
    assert nslookup(b.netns, "www", a.address) == [a.address]
    q = query("web")
    sock = netns_socket(f"/run/netns/{b.netns}")
    with sock:
        sock.settimeout(3)
        sock.connect((a.address, 53))
        sock.sendall(len(q).to_bytes(2, "big") + q)
        size = int.from_bytes(sock.recv(2), "big")
        reply = b""
        while len(reply) < size:
            reply += sock.recv(size)
    assert reply[:2] == q[:2] and reply.endswith(socket.inet_aton(a.address))
    # garbage gets no answer and the server keeps serving
    junk = netns_socket(f"/run/netns/{b.netns}", kind=socket.SOCK_DGRAM)
    with junk:
        junk.sendto(b"\xff" * 7, (a.address, 53))
    assert nslookup(b.netns, "web", a.address) == [a.address]


def test_internal_network_names_resolve_but_nothing_is_relayed(
        world: World, servers: list[DnsServer], upstream: str, tmp_path: Path) -> None:
    bridge, subnet = world.bridge()
    a = world.container(bridge, subnet, 2)
    records = store(tmp_path, {"web": (a, [])})
    doc = json.loads((tmp_path / "n1.json").read_text())
    (tmp_path / "n1.json").write_text(json.dumps({**doc, "Internal": True}))
    server = DnsServer(records.lookup, [upstream], records.ptr, records.may_relay)
    server.start(f"/run/netns/{a.netns}")
    servers.append(server)
    assert nslookup(a.netns, "web") == [a.address]
    assert nslookup(a.netns, "outside.example") == []  # the upstream knows it; not asked
