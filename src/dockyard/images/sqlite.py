"""Open a SQLite database in WAL mode, safely when several processes open it at once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from dockyard.errors import SystemFailure

__all__ = ["connect_wal"]


def connect_wal(path: Path, *, synchronous: str = "FULL",
                timeout: float = 60) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with foreign keys on (autocommit mode).

    Switching a new database to WAL takes a lock that SQLite's busy handler does not
    wait for, so processes that open a new database together retry here instead of
    failing with "database is locked".
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        except sqlite3.OperationalError as err:
            conn.close()
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise SystemFailure(f"{path}: cannot open database: {err}") from None
            time.sleep(0.02)
        except sqlite3.DatabaseError as err:
            conn.close()
            raise SystemFailure(f"{path}: cannot open database: {err}") from None
