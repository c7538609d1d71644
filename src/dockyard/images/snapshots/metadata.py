"""The snapshotter's own small SQLite database (WAL), safe with several processes.

Rows map keys and names to short numeric ids (the directory names, which keep overlay
mount options short) and record kind and parent. Every change runs in a ``BEGIN
IMMEDIATE`` transaction, so two ``dockyard`` processes serialise on SQLite's lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from dockyard.images.sqlite import connect_wal

from .base import Info, Kind

__all__ = ["MetaStore", "Record"]

_SCHEMA_VERSION = 1  # raise it when _SCHEMA changes
_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent INTEGER REFERENCES snapshots(id),
    labels TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent);
"""


@dataclass(frozen=True)
class Record:
    """A row, with the chain of ancestor ids (parent first)."""

    id: int
    info: Info
    ancestors: tuple[int, ...]


def _check_key(key: str, what: str) -> None:
    if not key or len(key) > 1024 or "\0" in key:
        raise InvalidArgument(f"snapshot {what}: invalid {key!r}")


class MetaStore:
    """Snapshot records in ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db = connect_wal(path, synchronous="NORMAL")
        # Only the first opener of a new (or older) database writes the schema: later
        # ones take no write lock just to open it (every container create opens it).
        if self._db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
            with self.write():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; what runs inside is atomic with the row changes."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _row(self, key: str) -> tuple[int, str, str, int | None, str, float, float] | None:
        row = self._db.execute(
            "SELECT id, key, kind, parent, labels, created, updated FROM snapshots "
            "WHERE key = ?", (key,)).fetchone()
        return None if row is None else tuple(row)  # type: ignore[return-value]

    def _ancestors(self, parent: int | None) -> tuple[int, ...]:
        out: list[int] = []
        while parent is not None:
            out.append(parent)
            row = self._db.execute("SELECT parent FROM snapshots WHERE id = ?",
                                   (parent,)).fetchone()
            parent = None if row is None else row[0]
        return tuple(out)

    def _record(self, row: tuple[int, str, str, int | None, str, float, float]) -> Record:
        sid, key, kind, parent, labels, created, updated = row
        parent_key = None
        if parent is not None:
            prow = self._db.execute("SELECT key FROM snapshots WHERE id = ?",
                                    (parent,)).fetchone()
            parent_key = prow[0] if prow else None
        info = Info(name=key, kind=Kind(kind), parent=parent_key, labels=json.loads(labels),
                    created=created, updated=updated)
        return Record(sid, info, self._ancestors(parent))

    def get(self, key: str) -> Record:
        """The record of ``key``; ``NotFound`` if there is none."""
        with self._lock:
            row = self._row(key)
            if row is None:
                raise NotFound(f"no such snapshot: {key}")
            return self._record(row)

    def all(self) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, key, kind, parent, labels, created, updated FROM snapshots "
                "ORDER BY id").fetchall()
            return [self._record(tuple(r)) for r in rows]  # type: ignore[arg-type]

    def ids(self) -> set[int]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT id FROM snapshots")}

    # The mutators below must run inside ``write()``.
    def insert(self, key: str, kind: Kind, parent: str | None,
               labels: Mapping[str, str] | None) -> Record:
        _check_key(key, "key")
        if self._row(key) is not None:
            raise AlreadyExists(f"snapshot {key} already exists")
        parent_id = None
        if parent is not None:
            prow = self._row(parent)
            if prow is None:
                raise NotFound(f"no such parent snapshot: {parent}")
            if prow[2] != Kind.COMMITTED.value:
                raise InvalidArgument(f"parent snapshot {parent} is not committed")
            parent_id = prow[0]
        now = time.time()
        cur = self._db.execute(
            "INSERT INTO snapshots (key, kind, parent, labels, created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind.value, parent_id, json.dumps(dict(labels or {}), sort_keys=True),
             now, now))
        assert cur.lastrowid is not None
        return self.get(key)

    def commit(self, name: str, key: str, labels: Mapping[str, str] | None) -> Record:
        _check_key(name, "name")
        rec = self.get(key)
        if rec.info.kind is not Kind.ACTIVE:
            raise Conflict(f"snapshot {key} is {rec.info.kind.value}, not active: "
                           "cannot commit it")
        if self._row(name) is not None:
            raise AlreadyExists(f"snapshot {name} already exists")
        merged = {**rec.info.labels, **(labels or {})}
        self._db.execute(
            "UPDATE snapshots SET key = ?, kind = ?, labels = ?, updated = ? WHERE id = ?",
            (name, Kind.COMMITTED.value, json.dumps(merged, sort_keys=True), time.time(),
             rec.id))
        return self.get(name)

    def delete(self, key: str) -> Record:
        rec = self.get(key)
        children = self._db.execute("SELECT key FROM snapshots WHERE parent = ? LIMIT 3",
                                    (rec.id,)).fetchall()
        if children:
            names = ", ".join(c[0] for c in children)
            raise Conflict(f"snapshot {key} is the parent of {names}: remove them first")
        self._db.execute("DELETE FROM snapshots WHERE id = ?", (rec.id,))
        return rec
