"""``RUN --mount`` without runtime mounts: what a mount would show is staged straight
into the container's overlay upper dir before it starts and taken out again before the
diff, so nothing of it reaches the layer.

- ``secret``: the file, mode 0400 (or ``mode``/``uid``/``gid``), at ``target`` or
  ``/run/secrets/<id>``; a missing secret is an error only when ``required``.
- ``cache``: a directory kept under ``$ROOT/build-cache/mounts`` is renamed into place
  (opaque, hiding what the image has there) and renamed back after the step, so its
  contents persist across builds; one step uses a cache id at a time (``locked``).
- ``tmpfs``: an empty opaque directory, discarded after the step (no size limit).
- ``bind``: a copy of the context's or a stage's ``source``; writes are discarded, as
  BuildKit discards them (read-only is not enforced).

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
from collections.abc import Mapping
from pathlib import Path

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

    @staticmethod
    def _opaque_dir(path: Path, mode: int) -> None:
        os.mkdir(path, mode)
        os.chmod(path, mode)
        os.setxattr(path, _OPAQUE, b"y")

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
        path = self._place(m.target, f"tmpfs mount {m.target}")
        self._opaque_dir(path, 0o1777)
        self.created.insert(0, (path, True))

    def bind(self, m: Mount, source: Path) -> None:
        if not os.path.lexists(source):
            raise InvalidArgument(f"bind mount {m.target}: source {m.source or '/'} "
                                  "not found")
        path = self._place(m.target, f"bind mount {m.target}")
        self.created.insert(0, (path, True))
        if source.is_dir():
            shutil.copytree(source, path, symlinks=True)
            os.setxattr(path, _OPAQUE, b"y")
        else:
            shutil.copy2(source, path)

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
