"""The metadata database: SQLite in WAL mode, shared safely by concurrent processes.

Every change runs in ``BEGIN IMMEDIATE`` so writers queue on SQLite's lock instead of
failing half-way; readers never block. Schema migrations are additive and idempotent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.errors import SystemFailure
from dockyard.images.sqlite import connect_wal

__all__ = ["Database"]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,          -- config digest (docker's image id)
    manifest TEXT NOT NULL,       -- digest of the OCI manifest we keep
    created TEXT NOT NULL,        -- config.created
    added REAL NOT NULL,          -- when this store got it
    size INTEGER NOT NULL,        -- sum of layer blob sizes
    chain_id TEXT NOT NULL        -- top chain id ('' for no layers)
);
CREATE TABLE IF NOT EXISTS tags (
    name TEXT PRIMARY KEY,        -- fully qualified, docker.io/library/busybox:latest
    image TEXT NOT NULL REFERENCES images(id)
);
CREATE TABLE IF NOT EXISTS repo_digests (
    name TEXT PRIMARY KEY,        -- docker.io/library/busybox@sha256:...
    image TEXT NOT NULL REFERENCES images(id)
);
CREATE TABLE IF NOT EXISTS image_blobs (   -- gc references: manifest, config, layers
    image TEXT NOT NULL REFERENCES images(id),
    digest TEXT NOT NULL,
    PRIMARY KEY (image, digest)
);
CREATE TABLE IF NOT EXISTS image_chains (  -- layer chain ids, bottom first
    image TEXT NOT NULL REFERENCES images(id),
    idx INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image, idx)
);
CREATE INDEX IF NOT EXISTS image_chains_by_chain ON image_chains(chain_id);
CREATE TABLE IF NOT EXISTS leases (        -- protect blobs of an import in flight
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lease_blobs (
    lease TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
    digest TEXT NOT NULL
);
"""


class Database:
    """One connection to ``metadata.db``; use :meth:`write` for changes."""

    def __init__(self, path: Path) -> None:
        self.conn = connect_wal(path)
        try:
            # Only the first opener of a new database writes the schema: later ones
            # take no write lock just to open it.
            if self.conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self.conn.executescript(f"BEGIN IMMEDIATE;{SCHEMA}"
                                        f"PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
        except sqlite3.DatabaseError as err:
            self.conn.close()
            raise SystemFailure(f"{path}: cannot open metadata database: {err}") from None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return self.conn.execute(sql, args).fetchall()

    def close(self) -> None:
        self.conn.close()
