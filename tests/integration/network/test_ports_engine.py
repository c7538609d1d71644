"""Must-show 2 through the engine: published ports of a busybox httpd from the host
(127.0.0.1 and a non-loopback local address) and from an "outside" namespace, UDP,
``-P``, a taken port, and nothing left after rm."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from dockyard.errors import Conflict
from dockyard.network import names, nft
from dockyard.network.dns_netns import netns_socket
from dockyard.network.ports import format_port
from dockyard.network.ports_alloc import ephemeral_range
from tests.integration.network import core_world
from tests.integration.network.core_world import Outside, start
from tests.integration.network.ports_world import ask

net_engine = core_world.net_engine  # fixtures
outside = core_world.outside

HTTPD = ("sh", "-c", "mkdir -p /www && echo hello-dockyard > /www/index.html && "
         "exec httpd -f -p 80 -h /www")


def get(addr: str, port: int, ns: str | None = None, timeout: float = 3.0) -> str:
    """The body of ``GET /`` (a raw request: busybox wget crashes on this machine)."""
    sock = netns_socket(ns) if ns else socket.socket()
    sock.settimeout(timeout)
    with sock:
        try:
            sock.connect((addr, port))
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
        except OSError:
            return ""
    return data.decode(errors="replace").partition("\r\n\r\n")[2].strip()


def wait_page(addr: str, port: int) -> str:
    for _ in range(50):
        body = get(addr, port, timeout=0.5)
        if body:
            return body
        threading.Event().wait(0.1)
    return ""


def udp_responder(netns: str, port: int) -> socket.socket:
    """Stands in for a UDP server in the container (this busybox's nc has no -u)."""
    sock = netns_socket(netns, kind=socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))

    def serve() -> None:
        while True:
            try:
                data, peer = sock.recvfrom(512)
            except OSError:
                return
            if peer is None:
                return
            sock.sendto(b"hello from " + data, peer)

    threading.Thread(target=serve, daemon=True).start()
    return sock


def test_published_tcp_and_udp_from_loopback_local_address_and_outside(
        net_engine: Any, outside: Outside) -> None:
    bindings = {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"},
                   {"HostIp": "", "HostPort": "18081"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "18053"}],
    }
    cid = start(net_engine, *HTTPD, PortBindings=bindings)
    info = net_engine.inspect(cid)
    ports = info["NetworkSettings"]["Ports"]
    assert ports == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"},
                   {"HostIp": "0.0.0.0", "HostPort": "18081"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "18053"}],
    }
    # docker 28's order: natural sort of the whole line
    assert format_port(ports, "web") == ["53/udp -> 127.0.0.1:18053",
                                         "80/tcp -> 0.0.0.0:18081", "80/tcp -> 127.0.0.1:18080"]
    responder = udp_responder(info["NetworkSettings"]["SandboxKey"], 53)
    try:
        assert wait_page("127.0.0.1", 18080) == "hello-dockyard"
        assert get(outside.host_ip, 18081) == "hello-dockyard"  # a non-loopback local address
        assert get("127.0.0.1", 18081) == "hello-dockyard"
        assert get(outside.host_ip, 18080, timeout=0.5) == ""  # bound to 127.0.0.1 only
        assert get(outside.host_ip, 18081, ns=str(outside.path)) == "hello-dockyard"
        assert ask("127.0.0.1", 18053, kind=socket.SOCK_DGRAM).startswith("hello from hi")
    finally:
        responder.close()
    net_engine.remove(cid, force=True)
    assert not [p for _, p in nft.published(names.nft_table()) if p.host_port in (18080, 18081)]
    assert get("127.0.0.1", 18080, timeout=0.5) == ""


def test_publish_all_maps_exposed_ports_to_ephemeral_host_ports(net_engine: Any) -> None:
    cid = net_engine.create(None, {"Image": "busybox", "Cmd": list(HTTPD),
                                   "ExposedPorts": {"80/tcp": {}, "81/tcp": {}}},
                            {"NetworkMode": "default", "PublishAllPorts": True})["Id"]
    net_engine.start(cid)
    ports = net_engine.inspect(cid)["NetworkSettings"]["Ports"]
    low, high = ephemeral_range()
    host_ports = {key: int(b[0]["HostPort"]) for key, b in ports.items()}
    assert set(host_ports) == {"80/tcp", "81/tcp"}
    assert all(low <= p <= high for p in host_ports.values())
    assert host_ports["80/tcp"] != host_ports["81/tcp"]
    assert wait_page("127.0.0.1", host_ports["80/tcp"]) == "hello-dockyard"


def test_a_taken_host_port_is_dockers_error_and_leaves_nothing(net_engine: Any) -> None:
    first = start(net_engine, "sleep", "60",
                  PortBindings={"80/tcp": [{"HostIp": "", "HostPort": "18082"}]})
    with pytest.raises(Conflict, match=r"^Bind for 0\.0\.0\.0:18082 failed: port is already "
                                       r"allocated$"):
        start(net_engine, "sleep", "60", name="second",
              PortBindings={"80/tcp": [{"HostIp": "", "HostPort": "18082"}]})
    second = net_engine.inspect("second")
    assert not second["State"]["Running"]
    assert net_engine.lc.networking.store.endpoints(second["Id"]) == []
    assert second["Id"] not in net_engine.networks.inspect("bridge")["Containers"]
    published = [p.host_port for _, p in nft.published(names.nft_table())]
    assert published == [18082]
    net_engine.remove(first, force=True)
