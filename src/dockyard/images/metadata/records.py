"""Image records, tags, repo digests, chain ids and leases on top of :class:`Database`."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.images.metadata.db import Database

__all__ = ["ImageRecord", "Records"]


@dataclass(frozen=True)
class ImageRecord:
    """One stored image as the database knows it."""

    id: str
    manifest: str
    created: str
    added: float
    size: int
    chain_id: str
    tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Records:
    """Queries and changes; each public change is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reading -----------------------------------------------------------------------
    def _record(self, row: tuple[object, ...]) -> ImageRecord:
        iid = str(row[0])
        tags = tuple(str(r[0]) for r in self.db.query(
            "SELECT name FROM tags WHERE image=? ORDER BY name", iid))
        digests = tuple(str(r[0]) for r in self.db.query(
            "SELECT name FROM repo_digests WHERE image=? ORDER BY name", iid))
        return ImageRecord(iid, str(row[1]), str(row[2]), float(row[3]),  # type: ignore[arg-type]
                           int(row[4]), str(row[5]), tags, digests)  # type: ignore[call-overload]

    _COLS = "id, manifest, created, added, size, chain_id"

    def get(self, image_id: str) -> ImageRecord | None:
        rows = self.db.query(f"SELECT {self._COLS} FROM images WHERE id=?", image_id)
        return self._record(rows[0]) if rows else None

    def by_prefix(self, hex_prefix: str) -> list[str]:
        """Ids whose hex starts with ``hex_prefix``."""
        pattern = "sha256:" + hex_prefix.replace("%", "").replace("_", "") + "%"
        return [str(r[0]) for r in self.db.query(
            "SELECT id FROM images WHERE id LIKE ?", pattern)]

    def all(self) -> list[ImageRecord]:
        rows = self.db.query(f"SELECT {self._COLS} FROM images ORDER BY added DESC, id")
        return [self._record(r) for r in rows]

    def tag_target(self, name: str) -> str | None:
        rows = self.db.query("SELECT image FROM tags WHERE name=?", name)
        return str(rows[0][0]) if rows else None

    def digest_target(self, name: str) -> str | None:
        rows = self.db.query("SELECT image FROM repo_digests WHERE name=?", name)
        return str(rows[0][0]) if rows else None

    def chains(self, image_id: str) -> list[str]:
        return [str(r[0]) for r in self.db.query(
            "SELECT chain_id FROM image_chains WHERE image=? ORDER BY idx", image_id)]

    def chain_users(self, chain_id: str) -> set[str]:
        return {str(r[0]) for r in self.db.query(
            "SELECT image FROM image_chains WHERE chain_id=?", chain_id)}

    def all_chains(self) -> set[str]:
        return {str(r[0]) for r in self.db.query("SELECT DISTINCT chain_id FROM image_chains")}

    def blobs(self, image_id: str) -> list[str]:
        return [str(r[0]) for r in self.db.query(
            "SELECT digest FROM image_blobs WHERE image=?", image_id)]

    def referenced_blobs(self) -> set[str]:
        """Blobs an image or a live lease holds (gc keeps these)."""
        held = {str(r[0]) for r in self.db.query("SELECT DISTINCT digest FROM image_blobs")}
        for lease, pid in self.db.query("SELECT id, pid FROM leases"):
            if _pid_alive(int(pid)):  # type: ignore[call-overload]
                held |= {str(r[0]) for r in self.db.query(
                    "SELECT digest FROM lease_blobs WHERE lease=?", lease)}
        return held

    # -- changing ----------------------------------------------------------------------
    def add(self, rec: ImageRecord, blobs: Iterable[str], chains: list[str],
            tags: Iterable[str] = (), repo_digests: Iterable[str] = ()) -> dict[str, str]:
        """Record an image (idempotent) and point ``tags`` at it. Returns the tags that
        moved away from another image, with that image's id."""
        moved: dict[str, str] = {}
        with self.db.write() as c:
            c.execute("INSERT OR IGNORE INTO images VALUES (?,?,?,?,?,?)",
                      (rec.id, rec.manifest, rec.created, rec.added, rec.size, rec.chain_id))
            c.executemany("INSERT OR IGNORE INTO image_blobs VALUES (?,?)",
                          [(rec.id, b) for b in blobs])
            c.executemany("INSERT OR IGNORE INTO image_chains VALUES (?,?,?)",
                          [(rec.id, i, ch) for i, ch in enumerate(chains)])
            for name in tags:
                old = c.execute("SELECT image FROM tags WHERE name=?", (name,)).fetchone()
                if old and old[0] != rec.id:
                    moved[name] = str(old[0])
                c.execute("INSERT OR REPLACE INTO tags VALUES (?,?)", (name, rec.id))
            c.executemany("INSERT OR REPLACE INTO repo_digests VALUES (?,?)",
                          [(n, rec.id) for n in repo_digests])
        return moved

    def tag(self, name: str, image_id: str) -> str | None:
        """Point ``name`` at the image; returns the image it pointed at before."""
        with self.db.write() as c:
            old = c.execute("SELECT image FROM tags WHERE name=?", (name,)).fetchone()
            c.execute("INSERT OR REPLACE INTO tags VALUES (?,?)", (name, image_id))
        return str(old[0]) if old and old[0] != image_id else None

    def add_repo_digest(self, name: str, image_id: str) -> None:
        """Record ``name@digest`` for the image (a push's result, as docker does)."""
        with self.db.write() as c:
            c.execute("INSERT OR REPLACE INTO repo_digests VALUES (?,?)", (name, image_id))

    def untag(self, name: str) -> bool:
        with self.db.write() as c:
            cur = c.execute("DELETE FROM tags WHERE name=?", (name,))
            c.execute("DELETE FROM repo_digests WHERE name=?", (name,))
        return cur.rowcount > 0

    def delete(self, image_id: str) -> None:
        """Forget the image and every name pointing at it."""
        with self.db.write() as c:
            for table in ("tags", "repo_digests", "image_blobs", "image_chains"):
                c.execute(f"DELETE FROM {table} WHERE image=?", (image_id,))
            c.execute("DELETE FROM images WHERE id=?", (image_id,))

    def lease(self) -> str:
        """A lease held by this process; blobs added to it survive gc until released."""
        lid = secrets.token_hex(8)
        with self.db.write() as c:
            c.execute("INSERT INTO leases VALUES (?,?,?)", (lid, os.getpid(), time.time()))
        return lid

    def lease_add(self, lease: str, digests: Iterable[str]) -> None:
        with self.db.write() as c:
            c.executemany("INSERT INTO lease_blobs VALUES (?,?)", [(lease, d) for d in digests])

    def release(self, lease: str) -> None:
        with self.db.write() as c:
            c.execute("DELETE FROM lease_blobs WHERE lease=?", (lease,))
            c.execute("DELETE FROM leases WHERE id=?", (lease,))

    def drop_dead_leases(self) -> int:
        dead = [str(r[0]) for r in self.db.query("SELECT id, pid FROM leases")
                if not _pid_alive(int(r[1]))]  # type: ignore[call-overload]
        for lid in dead:
            self.release(lid)
        return len(dead)
