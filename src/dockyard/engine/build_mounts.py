"""``RUN --mount``: what a mount shows is staged in the container's overlay upper dir
before it starts (files, or empty mount points for real mounts the runtime makes) and
taken out again before the diff, so nothing of it reaches the layer.

- ``secret``: the file, mode 0400 (or ``mode``/``uid``/``gid``), at ``target`` or
  ``/run/secrets/<id>``; a missing secret is an error only when ``required``.
- ``cache``: a directory kept under ``$ROOT/build-cache/mounts`` is renamed into place
  (opaque, hiding what the image has there) and renamed back after the step, so its
  contents persist across builds; one step uses a cache id at a time (``locked``).
- ``tmpfs``: a real tmpfs (``nosuid``, ``size=`` when given, as BuildKit mounts it).
- ``bind``: read-only (the default) is a real read-only bind mount of the context's
  or a stage's ``source``; ``rw`` is a copy, whose writes are discarded as BuildKit
  discards them. A context with .dockerignore patterns is always copied, leaving
  out what the patterns exclude (BuildKit never sees those files).

Staging writes into the upper dir, never through the overlay: removing what was
staged leaves no whiteout, and what the image has at the same path shows again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import posixpath
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dockyard.build import Mount
from dockyard.errors import InvalidArgument

__all__ = ["StagedMounts"]

_OPAQUE = "trusted.overlay.opaque"

class StagedMounts:
    """The mounts of one RUN staged into ``upper``; :meth:`undo` takes them out."""

    def __init__(self, upper: Path, workdir: str, cache_root: Path) -> None:
        self.upper = upper
        self.workdir = workdir or "/"
        self.cache_root = cache_root
        self.created: list[tuple[Path, bool]] = []  # deepest first; True: remove all
        self.returns: list[tuple[Path, Path]] = []
        self.locks: list[int] = []
        self.spec_mounts: list[dict[str, Any]] = []  # for the runtime, in order

    def _mount_point(self, target: str, what: str, directory: bool = True) -> str:
        """An empty mount point for a real mount; its path in the container."""
        path = self._place(target, what)
        if directory:
            os.mkdir(path, 0o755)
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        self.created.insert(0, (path, True))
        return "/" + str(path.relative_to(self.upper))

    def _place(self, target: str, what: str) -> Path:
        clean = posixpath.normpath(posixpath.join(self.workdir, target))
        if clean == "/":
            raise InvalidArgument(f"{what}: cannot mount on /")
        path = self.upper / clean.lstrip("/")
        if os.path.lexists(path):
            raise InvalidArgument(f"{what}: target {clean} is used by another mount")
        missing = []
        parent = path.parent
        while not os.path.lexists(parent):
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            os.mkdir(d, 0o755)
            self.created.insert(0, (d, False))
        return path

    def secret(self, m: Mount, secrets: Mapping[str, Path]) -> None:
        sid = m.cache_id or m.source or posixpath.basename(m.target)
        host = secrets.get(sid)
        if host is None:
            if m.required:
                raise InvalidArgument(f"secret {sid}: not found (give it with "
                                      f"--secret id={sid},src=FILE)")
            return
        try:
            data = Path(host).read_bytes()
        except OSError as err:
            raise InvalidArgument(f"secret {sid}: cannot read {host}: "
                                  f"{(err.strerror or str(err)).lower()}") from None
        path = self._place(m.target or f"/run/secrets/{sid}", f"secret {sid}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
        self.created.insert(0, (path, True))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, 0o400 if m.mode is None else m.mode)
        os.lchown(path, m.uid or 0, m.gid or 0)

    def cache(self, m: Mount) -> None:
        cid = m.cache_id or m.target
        home = self.cache_root / hashlib.sha256(cid.encode()).hexdigest()[:32]
        self.cache_root.mkdir(parents=True, exist_ok=True)
        lock = os.open(f"{home}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.locks.append(lock)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not home.exists():
            os.mkdir(home, 0o755 if m.mode is None else m.mode)
            os.chmod(home, 0o755 if m.mode is None else m.mode)
            os.lchown(home, m.uid or 0, m.gid or 0)
        path = self._place(m.target, f"cache mount {m.target}")
        os.rename(home, path)
        self.returns.insert(0, (path, home))
        os.setxattr(path, _OPAQUE, b"y")

    def tmpfs(self, m: Mount) -> None:
        where = self._mount_point(m.target, f"tmpfs mount {m.target}")
        options = ["nosuid"] + ([f"size={m.size_limit}"] if m.size_limit else [])
        self.spec_mounts.append({"destination": where, "type": "tmpfs", "source": "tmpfs",
                                 "options": options})

    def bind(self, m: Mount, source: Path, only: Iterable[str] | None = None) -> None:
        """Bind ``source``; ``only`` (paths relative to it) forces a filtered copy."""
        if not os.path.lexists(source):
            raise InvalidArgument(f"bind mount {m.target}: source {m.source or '/'} "
                                  "not found")
        what = f"bind mount {m.target}"
        if m.read_only and only is None:
            where = self._mount_point(m.target, what, directory=source.is_dir())
            self.spec_mounts.append({"destination": where, "type": "bind",
                                     "source": str(source), "options": ["rbind", "ro"]})
            return
        path = self._place(m.target, what)
        self.created.insert(0, (path, True))
        if not source.is_dir():
            shutil.copy2(source, path)
            return
        if only is None:
            shutil.copytree(source, path, symlinks=True)
        else:
            os.mkdir(path)
            for rel in only:
                src, dst = source / rel, path / rel
                if src.is_dir() and not src.is_symlink():
                    os.makedirs(dst, exist_ok=True)
                    shutil.copystat(src, dst)
                else:
                    os.makedirs(dst.parent, exist_ok=True)
                    shutil.copy2(src, dst, follow_symlinks=False)
        os.setxattr(path, _OPAQUE, b"y")

    def pipes(self, scripts: Path) -> None:
        """BuildKit's heredoc scripts: ``scripts`` read-only at /dev/pipes (on the
        runtime's /dev tmpfs, so the mount point never reaches the upper dir)."""
        self.spec_mounts.append({"destination": "/dev/pipes", "type": "bind",
                                 "source": str(scripts), "options": ["rbind", "ro"]})

    def undo(self) -> None:
        """Give caches back, remove the rest, release the cache locks. Idempotent."""
        while self.returns:
            path, home = self.returns.pop(0)
            with contextlib.suppress(OSError):
                os.removexattr(path, _OPAQUE)
            try:
                os.rename(path, home)
            except OSError:
                shutil.rmtree(path, ignore_errors=True)  # the step removed or replaced it
        while self.created:
            path, whole = self.created.pop(0)
            if path.is_dir() and not path.is_symlink():
                if whole:
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.rmdir(path)  # a parent made for a mount: only when empty
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        while self.locks:
            os.close(self.locks.pop())
