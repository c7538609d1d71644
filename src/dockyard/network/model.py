"""A network record in the shape of docker's ``network inspect``, plus Dockyard's own
bookkeeping under the private key ``Dockyard`` (bridge name, last address handed out,
each endpoint's aliases and veth), which :func:`public` strips."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from dockyard.network.ipam import Pool

__all__ = ["PREDEFINED", "Endpoint", "new_network", "now_rfc3339", "pool_of", "public"]

PREDEFINED = ("bridge", "host", "none")


def now_rfc3339() -> str:
    """Local time with nanoseconds and offset, like docker's network ``Created``."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 10**9)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{stamp}.{frac:09d}Z"


@dataclass
class Endpoint:
    """One container's attachment to one network."""

    network_id: str
    network_name: str
    container_id: str
    container_name: str
    endpoint_id: str
    address: str  # "" on networks without addresses (host, none)
    prefixlen: int = 0
    gateway: str = ""
    mac: str = ""
    veth: str = ""
    bridge: str = ""
    aliases: list[str] = field(default_factory=list)
    ipam_address: str = ""  # the --ip the user asked for, kept for IPAMConfig

    def settings(self) -> dict[str, Any]:
        """``NetworkSettings.Networks.<name>`` as docker 20.10 shows it."""
        return {
            "IPAMConfig": {"IPv4Address": self.ipam_address} if self.ipam_address else None,
            "Links": None, "Aliases": list(self.aliases) or None,
            "NetworkID": self.network_id, "EndpointID": self.endpoint_id,
            "Gateway": self.gateway, "IPAddress": self.address,
            "IPPrefixLen": self.prefixlen, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "MacAddress": self.mac, "DriverOpts": None,
        }


def new_network(net_id: str, name: str, driver: str, pool: Pool | None, *,
                internal: bool = False, attachable: bool = False,
                labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
                bridge: str = "", default_bridge: bool = False) -> dict[str, Any]:
    """A fresh record; ``pool`` is None for the host and null drivers."""
    opts = dict(options or {})
    if default_bridge:
        opts = {"com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                "com.docker.network.bridge.name": bridge,
                "com.docker.network.driver.mtu": "1500", **opts}
    return {
        "Name": name, "Id": net_id, "Created": now_rfc3339(), "Scope": "local",
        "Driver": driver, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None if default_bridge or pool is None
                 else {}, "Config": [pool.to_config()] if pool else []},
        "Internal": internal, "Attachable": attachable, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
        "Options": opts, "Labels": dict(labels or {}),
        "Dockyard": {"Bridge": bridge, "LastIP": "", "Endpoints": {}},
    }


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The record without Dockyard's bookkeeping: what ``network inspect`` prints."""
    out = copy.deepcopy(doc)
    out.pop("Dockyard", None)
    return out


def pool_of(doc: dict[str, Any]) -> Pool | None:
    config = doc["IPAM"].get("Config") or []
    return Pool.from_config(config[0]) if config else None
