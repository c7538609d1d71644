"""Named and anonymous volumes under ``$ROOT/volumes`` (docker's ``local`` driver).

A volume is ``volumes/<name>/_data`` (its mountpoint) plus ``volumes/<name>/volume.json``
(CreatedAt, Driver, Labels, Options, Anonymous). A volume appears by renaming a complete
``.tmp-*`` directory into place and disappears by renaming it to ``.trash-*`` first, so
a crash leaves all of it or none. Creates, removals and the engine's registration of
containers' mounts serialise on ``volumes/.lock``; who uses a volume is the caller's
knowledge (container records), passed in as a function evaluated under that lock.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dockyard.errors import Conflict, InvalidArgument, NotFound, SystemFailure
from dockyard.fileio import locked_file
from dockyard.settings import Roots
from dockyard.volumes.parse import check_volume_name

__all__ = ["LOCAL_OPTIONS", "VolumeStore", "new_volume_name"]

LOCAL_OPTIONS = frozenset({"type", "device", "o"})
_META = "volume.json"


def new_volume_name() -> str:
    """An anonymous volume's name: 64 hex digits, like docker's."""
    return secrets.token_hex(32)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class VolumeStore:
    """The volumes of one engine root."""

    def __init__(self, roots: Roots) -> None:
        self.base = roots.volumes

    # -- locking ----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock over creates, removals and mount registration."""
        self.base.mkdir(parents=True, exist_ok=True)
        with locked_file(self.base / ".lock"):
            yield

    # -- lookups ----------------------------------------------------------------------
    def dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise NotFound(f"No such volume: {name}")
        return self.base / name

    def mountpoint(self, name: str) -> Path:
        return self.dir(name) / "_data"

    def exists(self, name: str) -> bool:
        try:
            return (self.dir(name) / _META).is_file()
        except NotFound:
            return False

    def meta(self, name: str) -> dict[str, Any]:
        try:
            return dict(json.loads((self.dir(name) / _META).read_text()))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"No such volume: {name}") from None

    def inspect(self, name: str) -> dict[str, Any]:
        """docker's ``volume inspect`` document."""
        meta = self.meta(name)
        labels, options = meta.get("Labels"), meta.get("Options")
        return {"CreatedAt": meta["CreatedAt"], "Driver": meta.get("Driver", "local"),
                "Labels": None if labels is None else dict(sorted(labels.items())),
                "Mountpoint": str(self.mountpoint(name)), "Name": name,
                "Options": None if options is None else dict(sorted(options.items())),
                "Scope": "local"}

    def names(self) -> list[str]:
        if not self.base.is_dir():
            return []
        return sorted(p.name for p in self.base.iterdir()
                      if not p.name.startswith(".") and (p / _META).is_file())

    def list(self) -> list[dict[str, Any]]:
        out = []
        for name in self.names():
            with contextlib.suppress(NotFound):
                out.append(self.inspect(name))
        return out

    def is_anonymous(self, name: str) -> bool:
        try:
            return bool(self.meta(name).get("Anonymous"))
        except NotFound:
            return False

    def size(self, name: str) -> int:
        """Bytes in the volume's files (each inode once), as docker's ``directory.Size``."""
        seen: set[tuple[int, int]] = set()
        total = 0
        for dirpath, _, filenames in os.walk(self.mountpoint(name)):
            for entry in filenames:
                with contextlib.suppress(OSError):
                    st = os.lstat(os.path.join(dirpath, entry))
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        total += st.st_size
        return total

    # -- create and remove ------------------------------------------------------------
    def create(self, name: str | None = None, driver: str = "local",
               options: dict[str, str] | None = None, labels: dict[str, str] | None = None,
               anonymous: bool = False) -> dict[str, Any]:
        """Create a volume (an existing one of that name is returned as it is)."""
        with self.lock():
            return self.create_locked(name, driver, options, labels, anonymous)

    def create_locked(self, name: str | None = None, driver: str = "local",
                      options: dict[str, str] | None = None,
                      labels: dict[str, str] | None = None,
                      anonymous: bool = False) -> dict[str, Any]:
        """:meth:`create` for a caller already holding :meth:`lock`."""
        name = name or new_volume_name()
        driver = driver or "local"
        check_volume_name(name)
        if driver != "local":
            raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin '
                           f'"{driver}" not found')
        for key in options or {}:
            if key not in LOCAL_OPTIONS:
                raise InvalidArgument(f'create {name}: invalid option: "{key}"')
        if options and "device" not in options:
            raise InvalidArgument(f'create {name}: missing required option: "device"')
        if self.exists(name):
            return self.inspect(name)
        self.base.mkdir(parents=True, exist_ok=True)
        tmp = self.base / f".tmp-{secrets.token_hex(8)}"
        tmp.mkdir()
        try:
            (tmp / "_data").mkdir(mode=0o755)
            # None (null in inspect) where nobody gave any, as for docker's volumes
            # made by containers; ``volume create`` always gives maps
            meta = {"CreatedAt": _now(), "Driver": driver,
                    "Labels": None if labels is None else dict(labels),
                    "Options": None if options is None else dict(options),
                    "Anonymous": anonymous}
            (tmp / _META).write_text(json.dumps(meta))
            os.rename(tmp, self.base / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.inspect(name)

    def remove(self, name: str, users: Callable[[str], builtins.list[str]],
               force: bool = False) -> None:
        """Remove a volume no container uses; docker's Conflict names the users."""
        with self.lock():
            self.remove_locked(name, users, force)

    def remove_locked(self, name: str, users: Callable[[str], builtins.list[str]],
                      force: bool = False) -> None:
        if not self.exists(name):
            if force:
                return
            raise NotFound(f"No such volume: {name}")
        using = users(name)
        if using:
            raise Conflict(f"remove {name}: volume is in use - [{' '.join(using)}]")
        self.unmount(name)
        if self._mounted(name):  # never delete through a mount (a bound host dir)
            raise SystemFailure(f"remove {name}: its mountpoint is still mounted")
        trash = self.base / f".trash-{name}-{secrets.token_hex(4)}"
        os.rename(self.dir(name), trash)
        shutil.rmtree(trash, ignore_errors=True)

    def prune(self, users: Callable[[str], builtins.list[str]],
              keep: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """Remove every volume no container uses (``keep`` spares more); docker's
        ``{"VolumesDeleted": [...], "SpaceReclaimed": n}``."""
        deleted: list[str] = []
        reclaimed = 0
        with self.lock():
            for name in self.names():
                if users(name) or (keep is not None and keep(self.inspect(name))):
                    continue
                size = self.size(name)
                self.remove_locked(name, users, force=True)
                deleted.append(name)
                reclaimed += size
        return {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed}

    def cleanup(self) -> None:
        """Drop what a crash left: ``.tmp-*`` and ``.trash-*`` directories."""
        if not self.base.is_dir():
            return
        with self.lock():
            for p in self.base.iterdir():
                if p.name.startswith((".tmp-", ".trash-")):
                    shutil.rmtree(p, ignore_errors=True)

    # -- volumes with driver options --------------------------------------------------
    def mount(self, name: str) -> None:
        """Mount a volume made with ``-o type=… -o device=… -o o=…`` on its mountpoint
        (nothing to do for a plain one, or one already mounted)."""
        from dockyard.runtime import syscalls as sc
        from dockyard.runtime.mounts import parse_options

        opts = self.meta(name).get("Options") or {}
        if not opts or self._mounted(name):
            return
        parsed = parse_options([w for w in str(opts.get("o", "")).split(",") if w])
        kind = opts.get("type") or None
        device = str(opts["device"])
        try:
            sc.mount(device, str(self.mountpoint(name)), None if parsed.bind else kind,
                     parsed.flags, parsed.data or None)
        except OSError as err:
            raise SystemFailure(f"error while mounting volume '{self.mountpoint(name)}': "
                                f"{(err.strerror or str(err)).lower()}") from None

    def unmount(self, name: str) -> None:
        from dockyard.runtime import syscalls as sc

        if self._mounted(name):
            with contextlib.suppress(OSError):
                sc.umount2(str(self.mountpoint(name)), sc.MNT_DETACH)

    def _mounted(self, name: str) -> bool:
        want = os.path.realpath(self.mountpoint(name))
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == want for line in f)
