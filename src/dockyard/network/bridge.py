"""The bridge driver's kernel side, over rtnetlink (:mod:`dockyard.network.rtnl`).

A network's bridge comes up with its first endpoint (with the gateway address) and
stays, like docker0, until ``network rm`` deletes it (the default bridge stays): making
and deleting a link costs the kernel an RCU grace period each, 15-40 ms here, which
every sequential ``run --rm`` would pay twice. Each endpoint is a veth pair: the host
side on the bridge, the peer made directly inside the container's namespace as
``eth<N>`` with the address, MAC, MTU and (for the first network) the default route.
Callers serialise changes to one network under the network store's lock.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
from pathlib import Path

from dockyard.errors import SystemFailure
from dockyard.network import netns, rtnl
from dockyard.network.model import Endpoint
from dockyard.network.store import host_routes

__all__ = ["add_endpoint", "bridge_exists", "ensure_bridge", "link_exists", "next_ifname",
           "ports", "remove_bridge", "remove_endpoint"]

DEFAULT_MTU = 1500


def _fail(what: str, err: BaseException) -> SystemFailure:
    text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return SystemFailure(f"{what}: {text}".lower())


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def bridge_exists(name: str) -> bool:
    return Path("/sys/class/net", name, "bridge").exists()


def ports(name: str) -> list[str]:
    """The links on the bridge ``name`` (none when it does not exist)."""
    try:
        return sorted(os.listdir(f"/sys/class/net/{name}/brif"))
    except OSError:
        return []


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int = DEFAULT_MTU) -> None:
    """Make the bridge ``name`` with the gateway address, up; tolerate it existing.

    A bridge that is up with the gateway's subnet routed through it (the common case:
    it stays up between containers) costs only a look at the routing table; one that
    routes another subnet (its network moved to a free pool) is made again."""
    subnet = ipaddress.IPv4Interface(f"{gateway}/{prefixlen}").network
    if bridge_exists(name):
        routed = host_routes(dev=name)
        if routed == [subnet]:
            _enable_forwarding()
            return
        if routed:
            remove_bridge(name)
    try:
        with contextlib.suppress(FileExistsError):
            rtnl.bridge_add(name, mtu)
        with contextlib.suppress(FileExistsError):
            rtnl.addr_add(name, gateway, prefixlen)
        rtnl.link_set(name, up=True)
    except OSError as e:
        raise _fail(f"bridge {name}", e) from None
    _enable_forwarding()


def _enable_forwarding() -> None:
    """Routing between the bridge and the host's other links needs ip_forward (docker
    turns it on too)."""
    path = Path("/proc/sys/net/ipv4/ip_forward")
    with contextlib.suppress(OSError):
        if path.read_text().strip() != "1":
            path.write_text("1\n")


def remove_bridge(name: str) -> None:
    """Delete the bridge (its address and routes go with it); missing is fine."""
    _delete(name, "bridge")


def _delete(name: str, what: str) -> None:
    if not name or not link_exists(name):
        return
    try:
        rtnl.link_del(name)
    except OSError as e:
        if e.errno != errno.ENODEV:
            raise _fail(f"{what} {name}", e) from None


def add_endpoint(ns_path: Path, ep: Endpoint, ifname: str = "eth0", *,
                 default_route: bool = True, mtu: int = DEFAULT_MTU) -> None:
    """The veth pair of ``ep``: host side ``ep.veth`` on ``ep.bridge``, peer ``ifname``
    inside the namespace at ``ns_path`` with the endpoint's address and MAC."""
    fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:  # the host end up and on the bridge, in one request
        rtnl.veth_add(ep.veth, ifname, fd, mtu, ep.mac, master=ep.bridge, up=True)
    except OSError as e:
        remove_endpoint(ep.veth)
        raise _fail(f"endpoint {ep.veth} on {ep.bridge}", e) from None
    finally:
        os.close(fd)

    def configure() -> None:
        rtnl.configure(ifname, ep.address, ep.prefixlen,
                       ep.gateway if default_route else "")

    try:
        netns.inside(ns_path, configure)
    except OSError as e:
        remove_endpoint(ep.veth)
        raise _fail(f"endpoint {ifname} in {ns_path}", e) from None


def remove_endpoint(veth: str) -> None:
    """Delete the host side of an endpoint's veth (the peer goes with it)."""
    _delete(veth, "veth")


def next_ifname(ns_path: Path) -> str:
    """The first free ``eth<N>`` inside the namespace (for ``network connect``)."""
    def find() -> str:
        have = set(rtnl.link_names())
        n = 0
        while f"eth{n}" in have:
            n += 1
        return f"eth{n}"

    return netns.inside(ns_path, find)
