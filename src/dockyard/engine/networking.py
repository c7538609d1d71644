"""The engine's side of networks: which networks a container joins, its namespace and
endpoints while it runs, and ``NetworkSettings`` for inspect.

``HostConfig.NetworkMode`` names the first network (``default``/``bridge`` the default
bridge; ``host``, ``none`` and ``container:<ref>`` need no endpoint); the record's
private ``Networks`` map keeps every network the container is connected to with its
``--ip``/``--network-alias`` (``EndpointsConfig``). At start the engine pins a network
namespace at ``$RUN/containers/<id>/netns`` and attaches one endpoint per network
(address from the store, veth into the namespace); when the container ends, or is
removed, or a later start finds what a crash left, the endpoints are detached (address
free, veth gone), the namespace unpinned; the bridge stays until ``network rm``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.network import names
from dockyard.settings import Roots

if TYPE_CHECKING:  # imported when used: --network none|host never loads them
    from dockyard.network.model import Endpoint
    from dockyard.network.store import NetworkStore

__all__ = ["BRIDGE_MODES", "Networking", "network_of_mode"]

BRIDGE_MODES = ("", "default", "bridge")
MTU_OPTION = "com.docker.network.driver.mtu"
_NO_ENDPOINT = ("host", "none")
GRACE_SECONDS = 1.0  # a veth outlives its unpinned namespace by tens of ms


def network_of_mode(mode: str) -> str | None:
    """The network a NetworkMode attaches to (None: host, none, container:)."""
    if mode in BRIDGE_MODES:
        return "bridge"
    if mode in _NO_ENDPOINT or mode.startswith("container:"):
        return None
    return mode


def _nft() -> Any:
    """Net-services' nftables module (masquerade, isolation, published ports)."""
    from dockyard.network import nft

    return nft


class Networking:
    """Networks of one engine root, as containers use them."""

    def __init__(self, roots: Roots) -> None:
        self.roots = roots

    @cached_property
    def store(self) -> NetworkStore:
        from dockyard.network.store import NetworkStore

        return NetworkStore(self.roots.root / "networks")

    def netns_path(self, cid: str) -> Path:
        return self.roots.run_containers / cid / "netns"

    def _ports_marker(self, cid: str) -> Path:
        """Present while the container may have published ports: a teardown without
        it skips looking through the nft table for its rules."""
        return self.roots.run_containers / cid / "published"

    # -- create -----------------------------------------------------------------------
    def plan(self, hc: Mapping[str, Any], networking_config: dict[str, Any] | None
             ) -> dict[str, dict[str, Any]]:
        """Check the networks a create asks for; the record's ``Networks`` map
        (name -> {NetworkID, Aliases, IPAMConfig}). Raises docker's errors."""
        mode = str(hc.get("NetworkMode") or "default")
        first = network_of_mode(mode)
        endpoints = dict((networking_config or {}).get("EndpointsConfig") or {})
        if first is None:
            if any((c or {}).get("IPAMConfig") for c in endpoints.values()):
                raise InvalidArgument("user specified IP address is supported on user "
                                      "defined networks only")
            return {}
        if len(endpoints) > 1:
            raise InvalidArgument("Container cannot be connected to network endpoints: "
                                  + ", ".join(sorted(endpoints)))
        conf = dict(endpoints.get(mode) or endpoints.get(first) or
                    next(iter(endpoints.values()), None) or {})
        try:
            doc = self.store.get(first)
        except NotFound:
            raise NotFound(f"network {first} not found") from None
        ip = str((conf.get("IPAMConfig") or {}).get("IPv4Address") or "")
        aliases = list(conf.get("Aliases") or [])
        if doc["Name"] == "bridge" and (ip or aliases):
            if ip:
                raise InvalidArgument("user specified IP address is supported on user "
                                      "defined networks only")
            raise InvalidArgument("network-scoped alias is supported only for containers "
                                  "in user defined networks")
        if ip:
            from dockyard.network import ipam
            from dockyard.network.model import pool_of

            pool = pool_of(doc)
            if pool is None:
                raise InvalidArgument("user specified IP address is supported on user "
                                      "defined networks only")
            ipam.check_requested(pool, ip, [])
        return {doc["Name"]: {"NetworkID": doc["Id"], "Aliases": aliases,
                              "IPAMConfig": {"IPv4Address": ip} if ip else None}}

    # -- start, stop ------------------------------------------------------------------
    def setup(self, cid: str, record: dict[str, Any], stale: Callable[[str], bool]
              ) -> str | None:
        """Pin the namespace and attach every network of ``record``; returns the
        namespace's path for the spec (None when the mode needs none)."""
        nets = record.get("Networks") or {}
        if not nets:
            return None
        self.teardown(cid)  # what a crash of this very container left
        self.sweep(stale)
        from dockyard.network import netns

        path = self.netns_path(cid)
        netns.create(path)
        try:
            eps = [self._attach(cid, record, conf.get("NetworkID") or name, conf,
                                f"eth{n}", default_route=n == 0)
                   for n, (name, conf) in enumerate(nets.items())]
            mappings = port_mappings(record)
            if mappings:
                self._ports_marker(cid).touch()  # before the rules: teardown looks
                _nft().publish(names.nft_table(), eps[0], mappings)
        except BaseException:
            self.teardown(cid)
            raise
        return str(path)

    def _attach(self, cid: str, record: dict[str, Any], ref: str, conf: dict[str, Any],
                ifname: str, default_route: bool) -> Endpoint:
        from dockyard.network import bridge

        path = self.netns_path(cid)
        cname = str(record["Name"]).lstrip("/")
        aliases = list(conf.get("Aliases") or [])
        ip = str((conf.get("IPAMConfig") or {}).get("IPv4Address") or "")

        def wire(ep: Endpoint, doc: dict[str, Any]) -> None:
            seen.append(doc)
            mtu = int((doc.get("Options") or {}).get(MTU_OPTION) or bridge.DEFAULT_MTU)
            bridge.ensure_bridge(ep.bridge, ep.gateway, ep.prefixlen, mtu)
            with contextlib.suppress(ImportError):
                _nft().network_rules(names.nft_table(), doc)
            bridge.add_endpoint(path, ep, ifname, mtu=mtu, default_route=default_route
                                and not doc.get("Internal"))

        seen: list[dict[str, Any]] = []
        try:
            ep = self.store.attach(ref, cid, cname, ip=ip, aliases=aliases, then=wire)
        except NotFound:
            raise NotFound(f"network {ref} not found") from None
        if seen:
            self._event("connect", seen[0], cid)
        return ep

    def _event(self, action: str, doc: dict[str, Any], cid: str) -> None:
        """dockerd's ``network connect|disconnect``: the container, network name, type."""
        from dockyard.engine.events import emit

        emit(self.roots, "network", action, str(doc["Id"]),
             {"container": cid, "name": str(doc["Name"]),
              "type": str(doc.get("Driver") or "bridge")})

    def _unwire(self, ep: Endpoint, doc: dict[str, Any], *, with_netns: bool = False,
                ports: bool = True) -> None:
        """Kernel side of a detach, under the store's lock. ``with_netns``: the veth's
        peer is in a namespace that dies as it is unpinned, and the kernel deletes the
        pair with it in the background (an explicit delete waits out an RCU grace
        period, 15-40 ms). ``ports``: it may have published ports. The bridge and its
        rules stay until ``network rm``."""
        from dockyard.network import bridge

        self._event("disconnect", doc, ep.container_id)
        if ports:
            with contextlib.suppress(ImportError, DockyardError):
                _nft().unpublish(names.nft_table(), ep.endpoint_id)
        if not with_netns:
            bridge.remove_endpoint(ep.veth)

    def teardown(self, cid: str) -> None:
        """Detach every endpoint of ``cid`` and unpin its namespace (idempotent).

        The namespace is unpinned first: a kill at any point leaves either endpoints
        the sweep releases or nothing, never a pinned namespace nobody knows."""
        from dockyard.network import netns

        path = self.netns_path(cid)
        eps = self.store.endpoints(cid)
        dies = bool(eps) and netns.exists(path) and not netns.in_use(path)
        netns.remove(path)
        marker = self._ports_marker(cid)
        unwire = functools.partial(self._unwire, with_netns=dies, ports=marker.exists())
        for ep in eps:
            self.store.detach(ep.network_id, cid, then=unwire)
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()

    def stray_veths(self) -> list[str]:
        """Veths on this root's bridges that no endpoint owns: one whose namespace
        something other than a process (an open socket, a bind mount elsewhere) kept
        alive after its container was removed (see :meth:`teardown`)."""
        from dockyard.network import bridge

        def stray(owned: dict[str, set[str]]) -> list[str]:
            return [port for name, veths in owned.items() for port in bridge.ports(name)
                    if port not in veths]

        found = self.store.veths_by_bridge(stray)
        # A removed container's veth stays a moment, until the kernel has torn down its
        # namespace: only one still there after that is stray (names are never reused).
        deadline = time.monotonic() + GRACE_SECONDS
        while found and time.monotonic() < deadline:
            time.sleep(0.02)
            found = [v for v in found if bridge.link_exists(v)]
        return found

    def sweep(self, stale: Callable[[str], bool]) -> list[Endpoint]:
        """Release endpoints whose container is gone or no longer running."""
        from dockyard.network import netns

        dropped = self.store.sweep(stale, then=self._unwire)
        for ep in dropped:
            netns.remove(self.netns_path(ep.container_id))
        return dropped

    # -- connect, disconnect ----------------------------------------------------------
    def connect(self, cid: str, record: dict[str, Any], ref: str, conf: dict[str, Any],
                running: bool) -> dict[str, Any]:
        """Add a network to the record (and an endpoint when running); returns the
        updated ``Networks`` map."""
        from dockyard.network import bridge

        doc = self.store.get(ref)
        nets = dict(record.get("Networks") or {})
        mode = str(record["HostConfig"].get("NetworkMode") or "default")
        if network_of_mode(mode) is None:
            raise InvalidArgument("container sharing network namespace with another "
                                  "container or host cannot be connected to any other "
                                  "network" if mode != "none" else
                                  "container cannot be disconnected from host network "
                                  "or connected to host network")
        if doc["Name"] in nets:
            raise Conflict(f"endpoint with name {record['Name'].lstrip('/')} already "
                                f"exists in network {doc['Name']}")
        ip = str((conf.get("IPAMConfig") or {}).get("IPv4Address") or "")
        entry = {"NetworkID": doc["Id"], "Aliases": list(conf.get("Aliases") or []),
                 "IPAMConfig": {"IPv4Address": ip} if ip else None}
        if running:
            path = self.netns_path(cid)
            if not path.exists():
                raise InvalidArgument(f"container {cid} has no network namespace to connect")
            self._attach(cid, record, doc["Id"], entry, bridge.next_ifname(path),
                         default_route=False)
        nets[doc["Name"]] = entry
        return nets

    def disconnect(self, cid: str, record: dict[str, Any], ref: str) -> dict[str, Any]:
        doc = self.store.get(ref)
        nets = dict(record.get("Networks") or {})
        if doc["Name"] not in nets:
            raise InvalidArgument(f"container {cid} is not connected to network "
                                  f"{doc['Name']}")
        self.store.detach(doc["Id"], cid, then=self._unwire)
        del nets[doc["Name"]]
        return nets

    # -- inspect ----------------------------------------------------------------------
    def _ports(self, record: dict[str, Any], eps: list[Endpoint]) -> dict[str, Any]:
        from dockyard.network.ports import network_settings_ports

        exposed = list(record["Config"].get("ExposedPorts") or {})
        published = []
        if record["HostConfig"].get("PortBindings") or \
                record["HostConfig"].get("PublishAllPorts"):
            ids = {ep.endpoint_id for ep in eps}
            with contextlib.suppress(DockyardError, OSError):
                published = [p for e, p in _nft().published(names.nft_table()) if e in ids]
        return dict(network_settings_ports(exposed, published))

    def settings(self, cid: str, record: dict[str, Any], running: bool) -> dict[str, Any]:
        """``NetworkSettings`` in docker 20.10's shape."""
        from dockyard.engine import model

        mode = str(record["HostConfig"].get("NetworkMode") or "default")
        nets = record.get("Networks") or {}
        if not nets:
            key = "host" if mode == "host" else "none" if mode == "none" else mode
            return model.network_settings(key)
        live = {ep.network_name: ep for ep in self.store.endpoints(cid)} if running else {}
        out = model.network_settings("bridge")
        out["Networks"] = {}
        for name, conf in nets.items():
            ep = live.get(name) or _blank(conf.get("NetworkID", ""), name, cid)
            entry = ep.settings()
            entry["IPAMConfig"] = conf.get("IPAMConfig")
            entry["Aliases"] = [*(conf.get("Aliases") or []), cid[:12]] \
                if name != "bridge" else None
            entry["NetworkID"] = conf.get("NetworkID", "")
            out["Networks"][name] = entry
        if running and live:
            out["SandboxID"] = hashlib.sha256(f"sandbox:{cid}".encode()).hexdigest()
            out["SandboxKey"] = str(self.netns_path(cid))
        if live:
            out["Ports"] = self._ports(record, list(live.values()))
        default = live.get("bridge")
        if default is not None:
            out.update({"EndpointID": default.endpoint_id, "Gateway": default.gateway,
                        "IPAddress": default.address, "IPPrefixLen": default.prefixlen,
                        "MacAddress": default.mac})
        return out


def _blank(network_id: str, name: str, cid: str) -> Endpoint:
    from dockyard.network.model import Endpoint

    return Endpoint(network_id, name, cid, "", "", "")


def port_mappings(record: dict[str, Any]) -> list[Any]:
    """``PortBindings`` (plus every exposed port for ``-P``) as ``PortMapping``s."""
    hc, cfg = record["HostConfig"], record["Config"]
    bindings = dict(hc.get("PortBindings") or {})
    if not bindings and not hc.get("PublishAllPorts"):
        return []
    from dockyard.network.ports import PortMapping, publish_all

    if hc.get("PublishAllPorts"):
        bindings = publish_all(cfg.get("ExposedPorts") or {}, bindings)
    return [PortMapping(key, b.get("HostIp") or "", b.get("HostPort") or "")
            for key, binds in bindings.items() for b in binds or [{}]]


def op_lock_free(container_dir: Path) -> bool:
    """Whether nobody holds the container's op lock (a start in progress holds it)."""
    try:
        fd = os.open(container_dir / "op.lock", os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
