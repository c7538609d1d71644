"""The registry's filesystem store under ``--root``.

::

    blobs/<alg>/<hex>                        content, shared by every repository
    repos/<name>/_layers/<alg>/<hex>         blob links: the repository may serve it
    repos/<name>/_manifests/<alg>/<hex>      manifest links; the file holds the media type
    repos/<name>/_tags/<tag>                 the tag's manifest digest
    repos/<name>/_referrers/<subject>/<ref>  descriptor (JSON) of a manifest naming a subject
    uploads/<id>/{data,repo}                 blob uploads in progress

Every file that outlives a request is written to a temporary name, fsynced and renamed.
Repository name components cannot start with ``_``, so link directories never clash
with names. Callers validate names, tags and ids first (``names.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockyard import fileio
from dockyard.distribution.server.gc import writer_lock
from dockyard.oci import Digest, Digester

__all__ = ["RegistryStorage", "Upload", "atomic_write"]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a crash leaves the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fileio.atomic_write(path, data, mode=0o666)


def _key(d: Digest) -> str:
    return f"{d.algorithm}-{d.hex}"


class Upload:
    """One blob upload session: its data file and a running sha256 while chunks arrive
    in order (a restart or other algorithm re-hashes the file at commit)."""

    def __init__(self, path: Path, repo: str) -> None:
        self.path = path
        self.repo = repo
        self.hasher: Digester | None = None

    @property
    def data(self) -> Path:
        return self.path / "data"

    def size(self) -> int:
        return self.data.stat().st_size


class RegistryStorage:
    """Content-addressed blobs, per-repository links, tags, referrers and uploads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("blobs", "repos", "uploads"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._uploads: dict[str, Upload] = {}

    # Blobs.
    def blob_path(self, d: Digest) -> Path:
        return self.root / "blobs" / d.algorithm / d.hex

    def _repo(self, name: str) -> Path:
        return self.root / "repos" / name

    def _layer_link(self, name: str, d: Digest) -> Path:
        return self._repo(name) / "_layers" / d.algorithm / d.hex

    def has_blob(self, name: str, d: Digest) -> bool:
        """True when ``name`` may serve ``d`` (it was pushed or mounted there)."""
        return self._layer_link(name, d).exists() and self.blob_path(d).exists()

    def link_blob(self, name: str, d: Digest) -> None:
        link = self._layer_link(name, d)
        if not link.exists():
            atomic_write(link, b"")

    def _refresh(self, path: Path) -> bool:
        """Touch an existing blob so gc's grace period covers the link about to be
        made; False when it is not there."""
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def delete_blob(self, name: str, d: Digest) -> bool:
        """Unlink ``d`` from the repository (the data stays for other repositories)."""
        try:
            self._layer_link(name, d).unlink()
        except FileNotFoundError:
            return False
        return True

    def _store_bytes(self, d: Digest, data: bytes) -> None:
        path = self.blob_path(d)
        if not self._refresh(path):
            atomic_write(path, data)

    # Uploads.
    def new_upload(self, name: str) -> tuple[str, Upload]:
        upload_id = secrets.token_hex(16)
        path = self.root / "uploads" / upload_id
        path.mkdir()
        (path / "data").touch()
        atomic_write(path / "repo", name.encode())
        up = Upload(path, name)
        up.hasher = Digester("sha256")
        self._uploads[upload_id] = up
        return upload_id, up

    def get_upload(self, name: str, upload_id: str) -> Upload | None:
        up = self._uploads.get(upload_id)
        if up is None:
            path = self.root / "uploads" / upload_id
            try:
                repo = (path / "repo").read_text()
            except (FileNotFoundError, NotADirectoryError):
                return None
            up = Upload(path, repo)  # from before a restart: no running hash
            self._uploads[upload_id] = up
        if not up.data.exists():  # expired by gc
            self._uploads.pop(upload_id, None)
            return None
        return up if up.repo == name else None

    def drop_upload(self, upload_id: str) -> None:
        up = self._uploads.pop(upload_id, None)
        path = up.path if up else self.root / "uploads" / upload_id
        shutil.rmtree(path, ignore_errors=True)

    def upload_digest(self, up: Upload, algorithm: str) -> Digest:
        """The digest of everything uploaded so far (hashes the file when needed)."""
        if up.hasher is not None and up.hasher.algorithm == algorithm:
            return up.hasher.digest()
        h = Digester(algorithm)
        with open(up.data, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.digest()

    def commit_upload(self, name: str, upload_id: str, up: Upload, d: Digest) -> None:
        """Move the verified upload into the blob store and link it to ``name``."""
        with open(up.data, "rb+") as f:
            os.fsync(f.fileno())
        target = self.blob_path(d)
        target.parent.mkdir(parents=True, exist_ok=True)
        with writer_lock(self.root):
            if not self._refresh(target):
                os.utime(up.data)  # its mtime is the last chunk's, maybe long ago
                os.replace(up.data, target)
                fileio.fsync_dir(target.parent)
            self.link_blob(name, d)
        self.drop_upload(upload_id)

    # Manifests.
    def _manifest_link(self, name: str, d: Digest) -> Path:
        return self._repo(name) / "_manifests" / d.algorithm / d.hex

    def manifest_type(self, name: str, d: Digest) -> str | None:
        """The stored media type of manifest ``d`` in ``name``; None when unknown."""
        try:
            return self._manifest_link(name, d).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put_manifest(self, name: str, d: Digest, media_type: str, body: bytes,
                     tag: str = "", subject: Digest | None = None,
                     descriptor: dict[str, Any] | None = None) -> None:
        with writer_lock(self.root):
            self._store_bytes(d, body)
            atomic_write(self._manifest_link(name, d), media_type.encode())
        if subject is not None and descriptor is not None:
            atomic_write(self._repo(name) / "_referrers" / _key(subject) / _key(d),
                         json.dumps(descriptor).encode())
        if tag:
            atomic_write(self._repo(name) / "_tags" / tag, str(d).encode())

    def resolve_tag(self, name: str, tag: str) -> Digest | None:
        try:
            return Digest.parse((self._repo(name) / "_tags" / tag).read_text())
        except (FileNotFoundError, NotADirectoryError):
            return None

    def delete_tag(self, name: str, tag: str) -> bool:
        try:
            (self._repo(name) / "_tags" / tag).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_manifest(self, name: str, d: Digest) -> bool:
        """Remove the manifest link, the tags pointing at it and its referrer entries."""
        try:
            self._manifest_link(name, d).unlink()
        except FileNotFoundError:
            return False
        for tag in self.tags(name):
            if self.resolve_tag(name, tag) == d:
                self.delete_tag(name, tag)
        refs = self._repo(name) / "_referrers"
        for entry in refs.glob(f"*/{_key(d)}") if refs.is_dir() else ():
            entry.unlink(missing_ok=True)
        return True

    # Discovery.
    def has_repo(self, name: str) -> bool:
        return (self._repo(name) / "_manifests").is_dir() or (
            self._repo(name) / "_layers").is_dir()

    def tags(self, name: str) -> list[str]:
        try:
            return sorted(os.listdir(self._repo(name) / "_tags"))
        except FileNotFoundError:
            return []

    def repositories(self) -> Iterator[str]:
        """Repository names that hold manifests, in sorted order."""
        base = self.root / "repos"
        for dirpath, dirnames, _ in os.walk(base):
            dirnames.sort()
            if "_manifests" in dirnames:
                yield os.path.relpath(dirpath, base)
            dirnames[:] = [n for n in dirnames if not n.startswith("_")]

    def referrers(self, name: str, subject: Digest) -> list[dict[str, Any]]:
        folder = self._repo(name) / "_referrers" / _key(subject)
        out: list[dict[str, Any]] = []
        with contextlib.suppress(FileNotFoundError):
            for entry in sorted(folder.iterdir()):
                with contextlib.suppress(FileNotFoundError, ValueError):
                    out.append(json.loads(entry.read_bytes()))
        return out
