"""``network create|ls|inspect|rm|connect|disconnect|prune`` over one engine root.

Records live in :class:`dockyard.network.store.NetworkStore`; connecting a container
changes its record's ``Networks`` (under the container's op lock) and, when it runs,
attaches an endpoint at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dockyard.errors import Conflict, DockyardError, Forbidden, InvalidArgument, NotFound
from dockyard.network.model import PREDEFINED, public

if TYPE_CHECKING:
    from dockyard.engine.lifecycle import Lifecycle

__all__ = ["NetworkVerbs"]

_FILTERS = ("driver", "id", "label", "name", "scope", "type", "dangling")


class NetworkVerbs:
    """The network commands (``Engine.networks``)."""

    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.store = lc.networking.store

    def create(self, name: str, *, driver: str = "bridge", subnet: str = "",
               gateway: str = "", ip_range: str = "", internal: bool = False,
               attachable: bool = False, labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None) -> dict[str, str]:
        """Docker's ``POST /networks/create`` answer: ``{"Id", "Warning"}``."""
        doc = self.store.create(name, driver=driver or "bridge", subnet=subnet,
                                gateway=gateway, ip_range=ip_range, internal=internal,
                                attachable=attachable, labels=labels, options=options)
        _event(self.lc, "create", doc)
        return {"Id": doc["Id"], "Warning": ""}

    def inspect(self, ref: str) -> dict[str, Any]:
        self._tidy()
        return public(self.store.get(ref))

    def ls(self, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        """Every network matching ``filters`` (docker's keys), sorted by name."""
        wanted = {k: list(v) for k, v in (filters or {}).items()}
        for key in wanted:
            if key not in _FILTERS:
                raise InvalidArgument(f"invalid filter '{key}'")
        self._tidy()
        docs = [public(d) for d in self.store.all()]
        return sorted((d for d in docs if _matches(d, wanted)), key=lambda d: str(d["Name"]))

    def remove(self, ref: str) -> None:
        """Delete the network's bridge and rules (they stay up between containers),
        then its record."""
        self._tidy()
        doc = self.store.remove(ref, then=self._drop_kernel_side)
        _event(self.lc, "destroy", doc)

    def _drop_kernel_side(self, doc: dict[str, Any]) -> None:
        from dockyard.network import bridge, names

        with contextlib.suppress(ImportError, DockyardError, OSError):
            from dockyard.network import nft

            nft.remove_network_rules(names.nft_table(), doc["Id"])
            nft.drop_table_if_empty(names.nft_table())
        with contextlib.suppress(DockyardError):
            for port in bridge.ports(doc["Dockyard"]["Bridge"]):  # no endpoint owns one
                bridge.remove_endpoint(port)
            bridge.remove_bridge(doc["Dockyard"]["Bridge"])

    def prune(self) -> list[str]:
        """Remove user-defined networks with no endpoints; their names."""
        self._tidy()
        removed = []
        for doc in self.store.all():
            if doc["Name"] in PREDEFINED or doc["Containers"]:
                continue
            with contextlib.suppress(Conflict, NotFound, Forbidden):
                self.store.remove(doc["Id"], then=self._drop_kernel_side)
                _event(self.lc, "destroy", doc)
                removed.append(doc["Name"])
        return sorted(removed)

    def connect(self, ref: str, container: str, *, ip: str = "",
                aliases: list[str] | None = None) -> None:
        cid = self.lc.resolve(container)
        with self.lc._op_lock(cid):
            record = self.lc.store.load(cid)
            running = bool(self.lc.state(cid).get("Running"))
            conf: dict[str, Any] = {"Aliases": list(aliases or []),
                    "IPAMConfig": {"IPv4Address": ip} if ip else None}
            record["Networks"] = self.lc.networking.connect(cid, record, ref, conf, running)
            self.lc.store.save(cid, record)

    def disconnect(self, ref: str, container: str, force: bool = False) -> None:
        try:
            cid = self.lc.resolve(container)
        except NotFound:
            if not force:
                raise
            doc = self.store.get(ref)
            for c, entry in dict(doc["Containers"]).items():
                if entry["Name"] == container:
                    self.store.detach(doc["Id"], c, then=self.lc.networking._unwire)
            return
        with self.lc._op_lock(cid):
            record = self.lc.store.load(cid)
            record["Networks"] = self.lc.networking.disconnect(cid, record, ref)
            self.lc.store.save(cid, record)

    def _tidy(self) -> None:
        """Endpoints left by crashed or exited containers do not count as in use."""
        with contextlib.suppress(DockyardError, OSError):
            self.lc.networking.sweep(self.lc.network_stale)


def _event(lc: Lifecycle, action: str, doc: dict[str, Any]) -> None:
    """dockerd's network events: ``name`` and ``type`` (the driver)."""
    from dockyard.engine.events import emit

    emit(lc.roots, "network", action, doc["Id"], {"name": doc["Name"],
                                                   "type": doc.get("Driver") or "bridge"})


def _matches(doc: dict[str, Any], f: dict[str, list[str]]) -> bool:
    checks: dict[str, Callable[[str], bool]] = {
        "driver": lambda v: doc["Driver"] == v,
        "id": lambda v: str(doc["Id"]).startswith(v),
        "name": lambda v: v in doc["Name"],
        "scope": lambda v: doc["Scope"] == v,
        "type": lambda v: (v == "builtin") == (doc["Name"] in PREDEFINED),
        "dangling": lambda v: (v in ("true", "1")) == (not doc["Containers"]
                                                       and doc["Name"] not in PREDEFINED),
        "label": lambda v: (v.partition("=")[0] in doc["Labels"] and
                            ("=" not in v or doc["Labels"][v.partition("=")[0]]
                             == v.partition("=")[2])),
    }
    return all(any(checks[k](v) for v in vals) for k, vals in f.items() if vals)
