"""The embedded DNS's view of the network store: who answers to which name.

Reads the network records (``<store dir>/<network id>.json``, written by atomic
rename) of the networks a container is on, again only when a file changes. A
container answers to its name, its short id, its ``--network-alias``es, and each of
those followed by ``.<network name>``. Light imports only: this runs in the
monitor, whose memory is watched (it passes its own ``loads``; ``json`` pulls ``re``).
"""

from __future__ import annotations

import _socket
import os
from time import monotonic as _monotonic

TYPE_CHECKING = False  # not typing's: the monitor imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
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
    """``lookup``/``ptr`` over the user networks container ``cid`` is on, in the store
    at ``directory``; follows connect and disconnect as the records change."""

    def __init__(self, directory: str | os.PathLike[str], cid: str,
                 loads: Callable[[str], Any] | None = None) -> None:
        self.directory = os.fspath(directory)
        self.cid = cid
        if loads is None:
            import json

            loads = json.loads
        self.loads = loads
        # file name → (mtime, is the container on it, its name table, internal)
        self._seen: dict[str, tuple[int, bool, dict[str, list[str]], bool]] = {}
        self._last: tuple[int, float, list[tuple[dict[str, list[str]], bool]]] | None = None

    def _read(self, name: str, stamp: int) -> tuple[int, bool, dict[str, list[str]], bool]:
        cached = self._seen.get(name)
        if cached is not None and cached[0] == stamp:
            return cached
        try:
            with open(os.path.join(self.directory, name), encoding="utf-8") as f:
                doc = self.loads(f.read())
            member = (self.cid in (doc.get("Containers") or {})
                      and doc.get("Name") != "bridge")  # the default bridge has no DNS
            entry = (stamp, member, names_of(doc) if member else {},
                     bool(doc.get("Internal")))
        except (OSError, ValueError, TypeError, AttributeError):
            return cached or (stamp, False, {}, False)
        self._seen[name] = entry
        return entry

    def _members(self) -> list[tuple[dict[str, list[str]], bool]]:
        """(name table, internal) of each network the container is on."""
        # The store replaces records by rename, which changes the directory's mtime:
        # while it stays, the last answer holds (one stat per query instead of many),
        # for at most a second in case someone wrote a record in place.
        try:
            stamp = os.stat(self.directory).st_mtime_ns
        except OSError:
            return []
        now = _monotonic()
        if self._last is not None and self._last[0] == stamp and now - self._last[1] < 1.0:
            return self._last[2]
        out = self._scan()
        self._last = (stamp, now, out)
        return out

    def _scan(self) -> list[tuple[dict[str, list[str]], bool]]:
        out, present = [], set()
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return []
        for e in sorted(entries, key=lambda e: e.name):
            if not e.name.endswith(".json"):
                continue
            present.add(e.name)
            try:
                stamp = e.stat().st_mtime_ns
            except OSError:
                continue
            _, member, table, internal = self._read(e.name, stamp)
            if member:
                out.append((table, internal))
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return out

    def _tables(self) -> list[dict[str, list[str]]]:
        return [table for table, _ in self._members()]

    def may_relay(self) -> bool:
        """Whether other names may go to the host's resolvers: not when every network
        of the container is ``--internal`` (no way out, not even by DNS, like docker)."""
        return any(not internal for _, internal in self._members())

    def lookup(self, name: str) -> Sequence[str] | None:
        """Addresses of ``name`` on these networks; None if no container has it."""
        found: list[str] = []
        known = False
        key = name.lower().rstrip(".")
        for table in self._tables():
            addrs = table.get(key)
            if addrs is not None:
                known = True
                found += [a for a in addrs if a not in found]
        return found if known else None

    def ptr(self, name: str) -> Sequence[str]:
        """Names for an ``in-addr.arpa`` query of one of these networks' addresses."""
        labels = name.lower().split(".")
        if labels[-2:] != ["in-addr", "arpa"] or len(labels) != 6:
            return []
        addr = ".".join(reversed(labels[:4]))
        try:
            if _socket.inet_ntoa(_socket.inet_aton(addr)) != addr:
                return []
        except OSError:
            return []
        out: list[str] = []
        for table in self._tables():
            for key, addrs in table.items():
                # the "<name>.<network>" spelling, like docker's PTR answers
                if addr in addrs and "." in key and key not in out:
                    out.append(key)
        return out[:1]
