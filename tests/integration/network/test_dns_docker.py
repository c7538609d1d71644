"""The embedded DNS answers like docker's (20.10, a private dockerd) for the same setup:
a user network with ``web`` and two containers sharing the alias ``db``; queries go
from a socket inside a third container's namespace to 127.0.0.11 on each side, and
the kinds of answer (response code, record count, TTL, which names resolve) must
match. Addresses differ between the two and are compared as sets of members."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.network import dns_wire as wire
from dockyard.network.dns_netns import netns_socket
from tests.integration.network import core_world
from tests.integration.network.core_world import free_subnet, start

net_engine = core_world.net_engine  # fixtures

TYPES = {"A": wire.TYPE_A, "AAAA": wire.TYPE_AAAA, "PTR": wire.TYPE_PTR}


def reverse(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def ask(netns: str, name: str, qtype: int) -> tuple[int, int, list[str], list[int]]:
    """(rcode, answer count, A addresses or PTR names, TTLs) for one query to
    127.0.0.11."""
    q = (struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + wire.encode_name(name)
         + struct.pack("!HH", qtype, 1))
    sock = netns_socket(netns, socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        sock.settimeout(3)
        sock.sendto(q, ("127.0.0.11", 53))
        reply = sock.recv(512)
    count = struct.unpack_from("!H", reply, 6)[0]
    offset = 12 + len(wire.parse_query(reply).question)
    addrs, ttls = [], []
    for _ in range(count):
        _, offset = wire._read_name(reply, offset)  # a pointer (ours) or labels (docker's)
        rtype, _, ttl, size = struct.unpack_from("!HHIH", reply, offset)
        offset += 10
        if rtype == wire.TYPE_A:
            addrs.append(socket.inet_ntoa(reply[offset:offset + 4]))
        elif rtype == wire.TYPE_PTR:
            addrs.append(wire._read_name(reply, offset)[0])
        ttls.append(ttl)
        offset += size
    return reply[3] & 0xF, count, addrs, ttls


@pytest.fixture
def docker_side(dockerd: Any, session_token: str, busybox_rootfs_template: Path
                ) -> Iterator[tuple[str, dict[str, str], str]]:
    image = f"dydns-{session_token}:latest"
    dockerd.import_rootfs(busybox_rootfs_template, image)
    net = f"{session_token}dns"
    dockerd.docker("network", "create", "--subnet", free_subnet(71), net)
    names: dict[str, str] = {}
    try:
        for name, alias in (("web", None), ("db1", "db"), ("db2", "db"), ("asker", None)):
            flags = ["--network-alias", alias] if alias else []
            dockerd.docker("run", "-d", "--name", name, "--network", net, *flags, image,
                           "sleep", "120")
            info = json.loads(dockerd.docker("inspect", name).stdout)[0]
            names[name] = info["NetworkSettings"]["Networks"][net]["IPAddress"]
            names[f"{name}-id"] = info["Id"][:12]
        sandbox = json.loads(dockerd.docker("inspect", "asker").stdout)[0][
            "NetworkSettings"]["SandboxKey"]
        yield sandbox, names, net
    finally:
        dockerd.docker("rm", "-f", "web", "db1", "db2", "asker", check=False)
        dockerd.docker("network", "rm", net, check=False)


def our_side(eng: Any) -> tuple[str, dict[str, str], str]:
    eng.networks.create("appnet", subnet=free_subnet(72))
    names = {}
    for name, alias in (("web", None), ("db1", "db"), ("db2", "db"), ("asker", None)):
        cid = start(eng, "sleep", "120", network="appnet", name=name,
                    aliases=(alias,) if alias else ())
        names[name] = eng.inspect(cid)["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]
        names[f"{name}-id"] = cid[:12]
    return eng.inspect("asker")["NetworkSettings"]["SandboxKey"], names, "appnet"


def test_answers_match_dockers(net_engine: Any,
                               docker_side: tuple[str, dict[str, str], str]) -> None:
    theirs_ns, theirs, t_net = docker_side
    ours_ns, ours, o_net = our_side(net_engine)
    cases = [("web", "A", ["web"]), ("WEB", "A", ["web"]), ("db", "A", ["db1", "db2"]),
             ("db1", "A", ["db1"]), ("web", "AAAA", []), ("db", "AAAA", []),
             ("web.{net}", "A", ["web"]), ("{web-id}", "A", ["web"]),
             ("{web-ptr}", "PTR", [])]
    for spelling, qtype, members in cases:
        t_name = spelling.format(net=t_net, **{"web-id": theirs["web-id"],
                                               "web-ptr": reverse(theirs["web"])})
        o_name = spelling.format(net=o_net, **{"web-id": ours["web-id"],
                                               "web-ptr": reverse(ours["web"])})
        t_rcode, t_count, t_addrs, t_ttls = ask(theirs_ns, t_name, TYPES[qtype])
        o_rcode, o_count, o_addrs, o_ttls = ask(ours_ns, o_name, TYPES[qtype])
        assert (o_rcode, o_count, o_ttls) == (t_rcode, t_count, t_ttls), (spelling, qtype)
        if qtype == "PTR":  # the name on the container's network
            assert (t_addrs, o_addrs) == ([f"web.{t_net}"], [f"web.{o_net}"])
            continue
        assert sorted(t_addrs) == sorted(theirs[m] for m in members)
        assert sorted(o_addrs) == sorted(ours[m] for m in members)
