"""The bridge driver's kernel side, over netlink (pyroute2, imported when used).

A network's bridge exists while it has endpoints: the first endpoint brings it up with
the gateway address, the last one's removal deletes it (like podman's netavark, so an
engine without a daemon leaves nothing behind). Each endpoint is a veth pair: the host
side on the bridge, the peer made directly inside the container's namespace as
``eth<N>`` with the address, MAC, MTU and (for the first network) the default route.
Callers serialise changes to one network under the network store's lock.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import SystemFailure
from dockyard.network import netns
from dockyard.network.model import Endpoint

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = ["add_endpoint", "bridge_exists", "bridge_ports", "container_ifname", "ensure_bridge",
           "link_exists", "next_ifname", "remove_bridge", "remove_endpoint"]

DEFAULT_MTU = 1500
_EEXIST = 17
_ENODEV = 19


def _ipr() -> IPRoute:
    from pyroute2 import IPRoute

    return IPRoute()


def _code(err: BaseException) -> int:
    return int(getattr(err, "code", 0) or 0)


def _fail(what: str, err: BaseException) -> SystemFailure:
    return SystemFailure(f"{what}: {err}".lower())


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def bridge_exists(name: str) -> bool:
    return Path("/sys/class/net", name, "bridge").exists()


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int = DEFAULT_MTU) -> None:
    """Make the bridge ``name`` with the gateway address, up; tolerate it existing."""
    try:
        with _ipr() as ipr:
            if not link_exists(name):
                try:
                    ipr.link("add", ifname=name, kind="bridge", mtu=mtu)
                except Exception as e:
                    if _code(e) != _EEXIST:
                        raise
            idx = ipr.link_lookup(ifname=name)[0]
            try:
                ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
            except Exception as e:
                if _code(e) != _EEXIST:
                    raise
            ipr.link("set", index=idx, state="up")
    except SystemFailure:
        raise
    except Exception as e:
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
    if not link_exists(name):
        return
    try:
        with _ipr() as ipr:
            ipr.link("del", ifname=name)
    except Exception as e:
        if _code(e) != _ENODEV:
            raise _fail(f"bridge {name}", e) from None


def bridge_ports(name: str) -> list[str]:
    try:
        return sorted(p.name for p in Path("/sys/class/net", name, "brif").iterdir())
    except OSError:
        return []


def add_endpoint(ns_path: Path, ep: Endpoint, ifname: str = "eth0", *,
                 default_route: bool = True, mtu: int = DEFAULT_MTU) -> None:
    """The veth pair of ``ep``: host side ``ep.veth`` on ``ep.bridge``, peer ``ifname``
    inside the namespace at ``ns_path`` with the endpoint's address and MAC."""
    import os

    fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with _ipr() as ipr:
            ipr.link("add", ifname=ep.veth, kind="veth", mtu=mtu,
                     peer={"ifname": ifname, "net_ns_fd": fd, "mtu": mtu,
                           "address": ep.mac})
            idx = ipr.link_lookup(ifname=ep.veth)[0]
            master = ipr.link_lookup(ifname=ep.bridge)[0]
            ipr.link("set", index=idx, master=master, state="up")
    except Exception as e:
        remove_endpoint(ep.veth)
        raise _fail(f"endpoint {ep.veth} on {ep.bridge}", e) from None
    finally:
        os.close(fd)

    def configure() -> None:
        with _ipr() as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            idx = ipr.link_lookup(ifname=ifname)[0]
            ipr.addr("add", index=idx, address=ep.address, prefixlen=ep.prefixlen)
            ipr.link("set", index=idx, state="up")
            if default_route and ep.gateway and not _has_default(ipr):
                ipr.route("add", dst="0.0.0.0/0", gateway=ep.gateway, oif=idx)

    try:
        netns.inside(ns_path, configure)
    except Exception as e:
        remove_endpoint(ep.veth)
        raise _fail(f"endpoint {ifname} in {ns_path}", e) from None


def _has_default(ipr: Any) -> bool:
    return any(r.get("dst_len") == 0 for r in ipr.get_default_routes(family=2))


def remove_endpoint(veth: str) -> None:
    """Delete the host side of an endpoint's veth (the peer goes with it)."""
    if not veth or not link_exists(veth):
        return
    try:
        with _ipr() as ipr:
            ipr.link("del", ifname=veth)
    except Exception as e:
        if _code(e) != _ENODEV:
            raise _fail(f"veth {veth}", e) from None


def container_ifname(ns_path: Path, mac: str) -> str:
    """The name of the link with ``mac`` inside the namespace ("" when absent)."""
    def find() -> str:
        with _ipr() as ipr:
            for link in ipr.get_links():
                if link.get("address") == mac:
                    return str(link.get("ifname"))
        return ""

    try:
        return netns.inside(ns_path, find)
    except OSError:
        return ""


def next_ifname(ns_path: Path) -> str:
    """The first free ``eth<N>`` inside the namespace (for ``network connect``)."""
    def find() -> str:
        with _ipr() as ipr:
            have = {str(link.get("ifname")) for link in ipr.get_links()}
        n = 0
        while f"eth{n}" in have:
            n += 1
        return f"eth{n}"

    return netns.inside(ns_path, find)
