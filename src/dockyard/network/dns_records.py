"""The embedded DNS's view of the network store: who answers to which name.

Reads the network records (``<store dir>/<network id>.json``, written by atomic
rename) of the networks a container is on, again only when a file changes. A
container answers to its name, its short id, its ``--network-alias``es, and each of
those followed by ``.<network name>``. Standard library only: this runs in the
monitor, whose memory is watched.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["StoreRecords", "names_of"]


def names_of(doc: dict[str, Any]) -> dict[str, list[str]]:
    """name → addresses for one network record (Docker's inspect shape + ``Dockyard``)."""
    table: dict[str, list[str]] = {}
    private = (doc.get("Dockyard") or {}).get("Endpoints") or {}
    suffix = "." + str(doc.get("Name", "")).lower()
    for cid, entry in sorted((doc.get("Containers") or {}).items()):
        addr = str(entry.get("IPv4Address", "")).partition("/")[0]
        if not addr:
            continue
        aliases = (private.get(cid) or {}).get("Aliases") or []
        names = [str(entry.get("Name", "")).lower(), *(str(a).lower() for a in aliases),
                 cid[:12].lower()]
        for name in dict.fromkeys(n for n in names if n):
            for key in (name, name + suffix):
                if addr not in table.setdefault(key, []):
                    table[key].append(addr)
    return table


class StoreRecords:
    """``lookup``/``ptr`` over the records of ``network_ids`` in ``directory``."""

    def __init__(self, directory: str | Path, network_ids: Iterable[str]) -> None:
        self.directory = Path(directory)
        self.network_ids = list(network_ids)
        self._seen: dict[str, tuple[int, dict[str, list[str]]]] = {}

    def _table(self, net_id: str) -> dict[str, list[str]]:
        path = self.directory / f"{net_id}.json"
        try:
            stamp = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            self._seen.pop(net_id, None)
            return {}
        cached = self._seen.get(net_id)
        if cached is None or cached[0] != stamp:
            try:
                doc = json.loads(path.read_text())
            except (OSError, ValueError):
                return cached[1] if cached else {}
            cached = (stamp, names_of(doc))
            self._seen[net_id] = cached
        return cached[1]

    def lookup(self, name: str) -> Sequence[str] | None:
        """Addresses of ``name`` on these networks; None if no container has it."""
        found: list[str] = []
        known = False
        for net_id in self.network_ids:
            addrs = self._table(net_id).get(name.lower().rstrip("."))
            if addrs is not None:
                known = True
                found += [a for a in addrs if a not in found]
        return found if known else None

    def ptr(self, name: str) -> Sequence[str]:
        """Names for an ``in-addr.arpa`` query of one of these networks' addresses."""
        labels = name.lower().split(".")
        if labels[-2:] != ["in-addr", "arpa"] or len(labels) != 6:
            return []
        try:
            addr = str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
        except ValueError:
            return []
        out: list[str] = []
        for net_id in self.network_ids:
            for key, addrs in self._table(net_id).items():
                # the "<name>.<network>" spelling, like docker's PTR answers
                if addr in addrs and "." in key and key not in out:
                    out.append(key)
        return out[:1]
