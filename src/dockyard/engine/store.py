"""Container records under ``$ROOT/containers/<id>/``, safe against crashes and races.

Layout::

    containers/.lock               flock held while names or the set of records change
    containers/.names/<name>       symlink -> <id>; the record's own Name is the truth
    containers/<id>/container.json  everything but State (written once, then on rename/update)
    containers/<id>/state.json       State, rewritten by the engine and the monitor
    containers/<id>/state.lock       flock for read-modify-write of state.json

Every file is written to a temporary name, fsynced and renamed. A record appears by
renaming a complete temporary directory into place and disappears by renaming it to
``.trash-<id>`` first, so a ``kill -9`` at any moment leaves either the whole record or
none. The name link is made *before* the record appears: a link whose record is missing
or carries another name is stale and is taken over (under the lock), so two processes
can never both own a name, and a crash can never leave a container without its name.
Standard library only: the monitor imports this module too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dockyard.fileio import atomic_write, fsync_dir, locked_file

__all__ = [
    "ContainerStore",
    "atomic_write",
    "new_id",
    "now_rfc3339",
    "read_json",
    "update_state_file",
]

_ID_RE = re.compile(r"^[0-9a-f]{64}$")
RECORD = "container.json"
STATE = "state.json"


def new_id() -> str:
    """A fresh 64-hex-digit container id."""
    return os.urandom(32).hex()


def now_rfc3339() -> str:
    """UTC time with nanoseconds as docker prints it (Go's RFC3339Nano: trailing zeros
    of the fraction dropped)."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 10**9)
    digits = f"{frac:09d}".rstrip("0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + \
        (f".{digits}Z" if digits else "Z")


def read_json(path: Path) -> Any:
    with open(path, "rb") as f:
        return json.loads(f.read())


def update_state_file(container_dir: Path,
                      change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> \
        dict[str, Any]:
    """Read-modify-write ``state.json`` under its lock; ``change`` edits the dict in place
    (or returns a replacement). Returns the state written. For the engine and the monitor.
    """
    with locked_file(container_dir / "state.lock"):
        state = read_json(container_dir / STATE)
        new = change(state)
        if new is not None:
            state = new
        atomic_write(container_dir / STATE, json.dumps(state).encode())
        return dict(state)


class ContainerStore:
    """The set of container records of one engine root."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.names = base / ".names"

    def _ensure(self) -> None:
        if not self.names.is_dir():
            self.names.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock; clears what an interrupted holder left behind."""
        self._ensure()
        with locked_file(self.base / ".lock"):
            for leftover in self.base.glob(".t*-*"):  # .tmp-<id>, .trash-<id>
                shutil.rmtree(leftover, ignore_errors=True)
            yield

    def dir(self, cid: str) -> Path:
        return self.base / cid

    def ids(self) -> list[str]:
        """Ids of every complete record."""
        try:
            entries = os.listdir(self.base)
        except FileNotFoundError:
            return []
        return sorted(e for e in entries if _ID_RE.match(e) and
                      os.path.exists(self.base / e / RECORD))

    def load(self, cid: str) -> dict[str, Any]:
        """The record (without State); FileNotFoundError if it is gone."""
        return dict(read_json(self.base / cid / RECORD))

    def state(self, cid: str) -> dict[str, Any]:
        return dict(read_json(self.base / cid / STATE))

    def owner_of(self, name: str) -> str | None:
        """Id of the container that holds ``name``, if any (stale links ignored)."""
        try:
            cid = os.readlink(self.names / name)
        except OSError:
            return None
        try:
            record = self.load(cid)
        except (OSError, ValueError):
            return None
        return cid if record.get("Name") == "/" + name else None

    def _link_name(self, name: str, cid: str, durable: bool = True) -> None:
        tmp = self.names / f".{name}.{os.urandom(4).hex()}"
        os.symlink(cid, tmp)
        os.rename(tmp, self.names / name)
        if durable:
            fsync_dir(self.names)

    def _unlink_name(self, name: str, cid: str) -> None:
        with contextlib.suppress(OSError):
            if os.readlink(self.names / name) == cid:
                os.unlink(self.names / name)

    def add(self, cid: str, name: str, record: dict[str, Any], state: dict[str, Any],
            files: dict[str, bytes] | None = None,
            conflict: Callable[[str, str], Exception] | None = None) -> None:
        """Create a record atomically, taking ``name`` (``conflict(name, owner)`` if taken).

        It is also durable (fsynced), except for a ``--rm`` container's: that one is
        gone with its run, and one a power loss leaves is removed by the next tidy, as an
        exited AutoRemove container; the renames keep it whole against a killed process.
        """
        durable = _durable(record)
        with self.locked():
            owner = self.owner_of(name)
            if owner is not None:
                raise (conflict(name, owner) if conflict else
                       FileExistsError(f"name {name} is in use by {owner}"))
            if (self.base / cid).exists():
                raise FileExistsError(f"container {cid} already exists")
            tmp = self.base / f".tmp-{cid}"
            tmp.mkdir(mode=0o710)
            for fname, data in {RECORD: json.dumps(record).encode(),
                                STATE: json.dumps(state).encode(), **(files or {})}.items():
                with open(tmp / fname, "wb") as f:
                    f.write(data)
                    if durable:
                        f.flush()
                        os.fsync(f.fileno())
            if durable:
                fsync_dir(tmp)
            self._link_name(name, cid, durable)
            os.rename(tmp, self.base / cid)
            if durable:
                fsync_dir(self.base)

    def save(self, cid: str, record: dict[str, Any]) -> None:
        """Rewrite the record of an existing container (not its name: see rename)."""
        atomic_write(self.base / cid / RECORD, json.dumps(record).encode())

    def rename(self, cid: str, new_name: str,
               conflict: Callable[[str, str], Exception] | None = None) -> None:
        with self.locked():
            owner = self.owner_of(new_name)
            if owner is not None and owner != cid:
                raise (conflict(new_name, owner) if conflict else
                       FileExistsError(f"name {new_name} is in use by {owner}"))
            record = self.load(cid)
            old = str(record.get("Name", "")).lstrip("/")
            self._link_name(new_name, cid)
            record["Name"] = "/" + new_name
            self.save(cid, record)
            if old and old != new_name:
                self._unlink_name(old, cid)

    def remove(self, cid: str) -> None:
        """Make the record disappear at once, then delete its files."""
        with self.locked():
            try:
                record = self.load(cid)
            except (OSError, ValueError):
                record = {}
            name = str(record.get("Name", "")).lstrip("/")
            trash = self.base / f".trash-{cid}"
            try:
                os.rename(self.base / cid, trash)
            except FileNotFoundError:
                return
            if _durable(record):  # a --rm container's removal need not outlive a crash
                fsync_dir(self.base)
            if name:
                self._unlink_name(name, cid)
            shutil.rmtree(trash, ignore_errors=True)

    def image_users(self, image_id: str) -> list[tuple[str, bool]]:
        """(container id, running) of every container made from ``image_id``; the
        image store's ``in_use`` hook, so ``rmi`` refuses images containers use."""
        users = []
        for cid in self.ids():
            try:
                if self.load(cid).get("Image") != image_id:
                    continue
                users.append((cid, bool(self.state(cid).get("Running"))))
            except (OSError, ValueError):
                continue
        return users

    def stale_names(self) -> list[str]:
        """Name links whose record is gone or carries another name."""
        try:
            links = os.listdir(self.names)
        except FileNotFoundError:
            return []
        return sorted(n for n in links if not n.startswith(".") and self.owner_of(n) is None)

    def drop_stale_names(self) -> list[str]:
        with self.locked():
            stale = self.stale_names()
            for n in stale:
                with contextlib.suppress(OSError):
                    os.unlink(self.names / n)
            return stale


def _durable(record: dict[str, Any]) -> bool:
    """Whether a container's record is fsynced: all but ``--rm`` containers'."""
    host_config = record.get("HostConfig")
    return not (isinstance(host_config, dict) and host_config.get("AutoRemove"))
