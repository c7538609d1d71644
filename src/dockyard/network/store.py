"""Network records and their address bookkeeping under ``$ROOT/networks``.

Layout::

    networks/.lock        flock held for every change (and every address handed out)
    networks/<id>.json    one record (docker's inspect shape + private ``Dockyard`` key)

All records change under the one lock, so concurrent ``run``s from several processes
never get the same address, and names stay unique. Files are written to a temporary
name, fsynced and renamed. The predefined ``bridge``, ``host`` and ``none`` appear on
first use; the default bridge takes the first default pool that overlaps no host route.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, TypeVar

from dockyard.errors import AlreadyExists, Conflict, Forbidden, InvalidArgument, NotFound
from dockyard.fileio import atomic_write, locked_file
from dockyard.network import ipam, names
from dockyard.network.model import PREDEFINED, Endpoint, new_network, pool_of

__all__ = ["HOST_LOCK", "NetworkStore", "host_routes"]

# Held while a bridge of any engine root comes up with an automatic subnet: two roots
# (or a docker) must not bring up the same subnet at once.
HOST_LOCK = Path("/run/lock/dockyard-networks.lock")

T = TypeVar("T")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def host_routes(path: str = "/proc/net/route", *, skip_dev: str = "", dev: str = ""
                ) -> list[IPv4Network]:
    """The IPv4 destinations of this namespace's main routing table, default excluded
    (and those through ``skip_dev``; only those through ``dev`` when given)."""
    out: list[IPv4Network] = []
    try:
        lines = Path(path).read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or (skip_dev and fields[0] == skip_dev) or \
                (dev and fields[0] != dev):
            continue
        dest, mask = (struct.pack("<I", int(f, 16)) for f in (fields[1], fields[7]))
        if mask == b"\0\0\0\0":
            continue
        out.append(IPv4Network(f"{socket.inet_ntoa(dest)}/{socket.inet_ntoa(mask)}",
                               strict=False))
    return out


class NetworkStore:
    """The networks of one engine root (``roots.root / "networks"``)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._held = threading.local()  # .files: name -> text, while this thread locks

    # -- files ------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock; makes the predefined networks when missing. While it
        is held nobody else writes, so the records are read from disk once."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with locked_file(self.dir / ".lock"):
            self._held.files = None
            try:
                self._ensure_predefined()
                yield
            finally:
                self._held.files = None

    def _read(self) -> dict[str, str]:
        files = {}
        for path in self.dir.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):
                files[path.name] = path.read_text()
        return files

    def _docs(self) -> list[dict[str, Any]]:
        files = getattr(self._held, "files", None)
        if files is None:
            files = self._read()
            self._held.files = files
        docs = []
        for name in sorted(files):
            with contextlib.suppress(ValueError):
                docs.append(json.loads(files[name]))
        return docs

    def _write(self, doc: dict[str, Any], durable: bool = True) -> None:
        """Replace the record. ``durable=False`` when only endpoints changed: they are
        void after a reboot (no container runs), and a killed process still leaves the
        old file or the new; an fsync per ``run`` and ``rm`` costs 1-7 ms here."""
        text = json.dumps(doc, indent=1)
        name = f"{doc['Id']}.json"
        self._forget(name)
        atomic_write(self.dir / name, text.encode(), mode=0o666, sync_dir=False,
                     sync=durable)
        files = getattr(self._held, "files", None)
        if files is not None:
            files[name] = text

    def _forget(self, name: str) -> None:
        """Drop a record from what this hold has read (before it changes on disk)."""
        files = getattr(self._held, "files", None)
        if files is not None:
            files.pop(name, None)

    def _ensure_predefined(self) -> None:
        have = {d["Name"] for d in self._docs()}
        for name in PREDEFINED:
            if name in have:
                continue
            nid = os.urandom(32).hex()
            if name == "bridge":
                taken = host_routes() + [p.subnet for p in map(pool_of, self._docs()) if p]
                pool = ipam.parse_pool(str(ipam.default_subnet(taken)))
                doc = new_network(nid, name, "bridge", pool, bridge=names.bridge_name(nid),
                                  default_bridge=True)
                doc["Dockyard"]["AutoSubnet"] = True
            else:
                doc = new_network(nid, name, "host" if name == "host" else "null", None)
            self._write(doc)

    # -- reading ----------------------------------------------------------------------
    def _find(self, ref: str) -> dict[str, Any]:
        docs = self._docs()
        for doc in docs:  # exact id, then exact name, then id prefix (docker's order)
            if doc["Id"] == ref:
                return doc
        for doc in docs:
            if doc["Name"] == ref:
                return doc
        found = [d for d in docs if ref and d["Id"].startswith(ref)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidArgument(f"network {ref} is ambiguous ({len(found)} matches found)")
        raise NotFound(f"network {ref} not found")

    def get(self, ref: str) -> dict[str, Any]:
        """The record named, id'd or id-prefixed by ``ref`` (``NotFound`` otherwise)."""
        with self.locked():
            return self._find(ref)

    def all(self) -> list[dict[str, Any]]:
        """Every record, in id order."""
        with self.locked():
            return self._docs()

    # -- create, remove ---------------------------------------------------------------
    def create(self, name: str, *, driver: str = "bridge", subnet: str = "",
               gateway: str = "", ip_range: str = "", internal: bool = False,
               attachable: bool = False, labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None) -> dict[str, Any]:
        """A user-defined bridge network, checked like dockerd (nothing stored on error)."""
        if not _NAME.match(name):
            raise InvalidArgument(f'invalid network name "{name}": must match '
                                  "[a-zA-Z0-9][a-zA-Z0-9_.-]")
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        if (gateway or ip_range) and not subnet:
            raise InvalidArgument("gateway and ip-range need a subnet (--subnet)")
        pool = ipam.parse_pool(subnet, gateway, ip_range) if subnet else None
        mtu = (options or {}).get("com.docker.network.driver.mtu")
        if mtu is not None and not (mtu.isdigit() and 68 <= int(mtu) <= 65535):
            raise InvalidArgument(f"invalid MTU {mtu!r}: want a number from 68 to 65535")
        with self.locked():
            docs = self._docs()
            if any(d["Name"] == name for d in docs):
                raise AlreadyExists(f"network with name {name} already exists")
            taken = [p.subnet for p in map(pool_of, docs) if p]
            if pool is None:
                pool = ipam.parse_pool(str(ipam.default_subnet(taken + host_routes())))
            elif any(pool.subnet.overlaps(t) for t in taken):
                raise Conflict("Pool overlaps with other one on this address space")
            nid = os.urandom(32).hex()
            doc = new_network(nid, name, "bridge", pool, internal=internal,
                              attachable=attachable, labels=labels, options=options,
                              bridge=names.bridge_name(nid))
            if subnet and not gateway:  # docker shows only what was given
                del doc["IPAM"]["Config"][0]["Gateway"]
            doc["Dockyard"]["AutoSubnet"] = not subnet
            self._write(doc)
            return doc

    def remove(self, ref: str, then: Callable[[dict[str, Any]], None] | None = None
               ) -> dict[str, Any]:
        """Drop a user-defined network with no endpoints; returns the removed record.
        ``then(record)`` runs under the lock before the record goes (the kernel side:
        killed there, the record stays and a next ``rm`` finishes)."""
        with self.locked():
            doc = self._find(ref)
            if doc["Name"] in PREDEFINED:
                raise Forbidden(f"{doc['Name']} is a pre-defined network and cannot be removed")
            if doc["Containers"]:
                raise Conflict(f"error while removing network: network {doc['Name']} id "
                               f"{doc['Id']} has active endpoints")
            if then is not None:
                then(doc)
            self._forget(f"{doc['Id']}.json")
            (self.dir / f"{doc['Id']}.json").unlink()
            return doc

    # -- endpoints --------------------------------------------------------------------
    def attach(self, ref: str, cid: str, cname: str, *, ip: str = "",
               aliases: list[str] | None = None,
               then: Callable[[Endpoint, dict[str, Any]], None] | None = None) -> Endpoint:
        """Record ``cid`` on the network with a fresh address (or ``ip``), then run
        ``then(endpoint, record)`` under the lock (the kernel side); when that fails
        the endpoint is forgotten again."""
        with self.locked(), self._bringing_up(ref):
            doc = self._find(ref)
            if cid in doc["Containers"]:
                raise Conflict(f"endpoint with name {cname} already exists in network "
                               f"{doc['Name']}")
            moved = self._move_if_taken(doc)
            pool = pool_of(doc)
            private = doc["Dockyard"]
            eid = os.urandom(32).hex()
            veths = {e.get("Veth") for d in self._docs()
                     for e in d["Dockyard"]["Endpoints"].values()}
            while names.veth_name(eid) in veths:  # short prefixes leave few id digits
                eid = os.urandom(32).hex()
            if pool is None:  # host, none: an endpoint without an address
                ep = Endpoint(doc["Id"], doc["Name"], cid, cname, eid, "")
            else:
                used = [IPv4Address(c["IPv4Address"].split("/")[0])
                        for c in doc["Containers"].values()]
                if ip:
                    if doc["Name"] == "bridge":
                        raise InvalidArgument("user specified IP address is supported on "
                                              "user defined networks only")
                    addr = ipam.check_requested(pool, ip, used)
                else:
                    last = IPv4Address(private["LastIP"]) if private["LastIP"] else None
                    addr = ipam.allocate(pool, used, last)
                    private["LastIP"] = str(addr)
                ep = Endpoint(doc["Id"], doc["Name"], cid, cname, eid, str(addr),
                              pool.prefixlen, str(pool.gateway), ipam.mac_for(addr),
                              names.veth_name(eid), private["Bridge"], list(aliases or []),
                              ip)
            doc["Containers"][cid] = {
                "Name": cname, "EndpointID": eid, "MacAddress": ep.mac,
                "IPv4Address": f"{ep.address}/{ep.prefixlen}" if ep.address else "",
                "IPv6Address": ""}
            private["Endpoints"][cid] = {"Aliases": ep.aliases, "Veth": ep.veth,
                                         "IPAMAddress": ip}
            self._write(doc, durable=moved)
            if then is not None:
                try:
                    then(ep, doc)
                except BaseException:
                    del doc["Containers"][cid]
                    del private["Endpoints"][cid]
                    self._write(doc, durable=False)
                    raise
            return ep

    @contextlib.contextmanager
    def _bringing_up(self, ref: str) -> Iterator[None]:
        """The host-wide lock, when this attach may bring up a bridge with an automatic
        subnet (taken after the store's lock, always in that order)."""
        doc = self._find(ref)
        if doc["Containers"] or not doc["Dockyard"].get("AutoSubnet"):
            yield
            return
        HOST_LOCK.parent.mkdir(parents=True, exist_ok=True)
        with locked_file(HOST_LOCK):
            yield

    def _move_if_taken(self, doc: dict[str, Any]) -> bool:
        """A network with an automatic subnet and no endpoint moves to a free default
        pool when something else on the host now routes its subnet (a docker0, another
        engine's bridge): two bridges with one subnet break both. Whether it moved (its
        bridge, if still up, is made again by ``bridge.ensure_bridge``)."""
        private = doc["Dockyard"]
        pool = pool_of(doc)
        if doc["Containers"] or not private.get("AutoSubnet") or pool is None:
            return False
        foreign = host_routes(skip_dev=private["Bridge"])
        if not any(pool.subnet.overlaps(r) for r in foreign):
            return False
        others = [p.subnet for d in self._docs() if d["Id"] != doc["Id"]
                  for p in [pool_of(d)] if p]
        moved = ipam.parse_pool(str(ipam.default_subnet(foreign + others)))
        doc["IPAM"]["Config"] = [moved.to_config()]
        private["LastIP"] = ""
        return True

    def detach(self, ref: str, cid: str,
               then: Callable[[Endpoint, dict[str, Any]], None] | None = None
               ) -> Endpoint | None:
        """Forget ``cid``'s endpoint (its address is free again), then run
        ``then(endpoint, record)`` under the lock; None if it had none."""
        with self.locked():
            try:
                doc = self._find(ref)
            except NotFound:
                return None
            ep = _endpoint(doc, cid)
            if ep is not None:
                del doc["Containers"][cid]
                doc["Dockyard"]["Endpoints"].pop(cid, None)
                self._write(doc, durable=False)
                if then is not None:
                    then(ep, doc)
            return ep

    def veths_by_bridge(self, then: Callable[[dict[str, set[str]]], T]) -> T:
        """``then(bridge -> the veths its network's endpoints own)``, run under the
        lock (so that no attach adds a veth while the caller looks at the bridges)."""
        with self.locked():
            owned = {str(d["Dockyard"]["Bridge"]): {str(e.get("Veth") or "") for e in
                                                   d["Dockyard"]["Endpoints"].values()}
                     for d in self._docs() if d["Dockyard"].get("Bridge")}
            return then(owned)

    def endpoints(self, cid: str | None = None) -> list[Endpoint]:
        """Every endpoint (of ``cid`` only, when given), in network-name order.

        Read without the lock (every start and teardown asks): records are replaced
        by rename, so each file read is whole, and the answer may be stale as soon as
        it is given either way."""
        docs = []
        for text in self._read().values():
            with contextlib.suppress(ValueError):
                docs.append(json.loads(text))
        docs.sort(key=lambda d: str(d["Name"]))
        return [ep for d in docs for c in d["Containers"]
                if cid is None or c == cid
                for ep in [_endpoint(d, c)] if ep is not None]

    def sweep(self, stale: Callable[[str], bool],
              then: Callable[[Endpoint, dict[str, Any]], None] | None = None
              ) -> list[Endpoint]:
        """Drop the endpoints of containers for which ``stale(cid)`` holds (what a
        crash left), running ``then(endpoint, record)`` for each under the lock."""
        dropped: list[Endpoint] = []
        with self.locked():
            for doc in self._docs():
                gone = [c for c in doc["Containers"] if stale(c)]
                for cid in gone:
                    ep = _endpoint(doc, cid)
                    if ep is not None:
                        dropped.append(ep)
                    del doc["Containers"][cid]
                    doc["Dockyard"]["Endpoints"].pop(cid, None)
                if gone:
                    self._write(doc, durable=False)
                    for ep in dropped:
                        if then is not None and ep.network_id == doc["Id"]:
                            then(ep, doc)
        return dropped


def _endpoint(doc: dict[str, Any], cid: str) -> Endpoint | None:
    entry = doc["Containers"].get(cid)
    if entry is None:
        return None
    private = doc["Dockyard"]["Endpoints"].get(cid, {})
    pool = pool_of(doc)
    addr, _, plen = entry["IPv4Address"].partition("/")
    return Endpoint(doc["Id"], doc["Name"], cid, entry["Name"], entry["EndpointID"], addr,
                    int(plen or 0), str(pool.gateway) if pool else "", entry["MacAddress"],
                    private.get("Veth", ""), doc["Dockyard"]["Bridge"],
                    list(private.get("Aliases") or []), private.get("IPAMAddress", ""))
