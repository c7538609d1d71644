"""Mount option parsing: OCI/fstab words to mount(2) flags, propagation and data.

Pure logic, unit-tested on its own; ``rootfs.py`` performs the mounts.
"""

from __future__ import annotations

from dockyard.errors import InvalidConfig

__all__ = ["MountOptions", "known_options", "parse_options"]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS = 1, 2, 4, 8, 16
MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME, MS_NODIRATIME = 64, 128, 1024, 2048
MS_BIND, MS_REC, MS_SILENT = 4096, 16384, 32768
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
MS_LAZYTIME = 1 << 25

# word -> (clear, set)
_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (0, MS_RDONLY), "rw": (MS_RDONLY, 0),
    "nosuid": (0, MS_NOSUID), "suid": (MS_NOSUID, 0),
    "nodev": (0, MS_NODEV), "dev": (MS_NODEV, 0),
    "noexec": (0, MS_NOEXEC), "exec": (MS_NOEXEC, 0),
    "sync": (0, MS_SYNCHRONOUS), "async": (MS_SYNCHRONOUS, 0),
    "dirsync": (0, MS_DIRSYNC), "mand": (0, MS_MANDLOCK), "nomand": (MS_MANDLOCK, 0),
    "atime": (MS_NOATIME, 0), "noatime": (0, MS_NOATIME),
    "diratime": (MS_NODIRATIME, 0), "nodiratime": (0, MS_NODIRATIME),
    "relatime": (0, MS_RELATIME), "norelatime": (MS_RELATIME, 0),
    "strictatime": (0, MS_STRICTATIME), "nostrictatime": (MS_STRICTATIME, 0),
    "lazytime": (0, MS_LAZYTIME), "nolazytime": (MS_LAZYTIME, 0),
    "silent": (0, MS_SILENT), "loud": (MS_SILENT, 0),
    "defaults": (0, 0),
}
_PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}
# Understood by runc/crun but with nothing to do here.
_IGNORED = frozenset({"tmpcopyup", "notmpcopyup", "copy-symlink", "norbind"})


class MountOptions:
    """What one mount entry's option list means."""

    __slots__ = ("bind", "data", "flags", "propagation", "recursive")

    def __init__(self, flags: int = 0, propagation: tuple[int, ...] = (), data: str = "",
                 bind: bool = False, recursive: bool = False) -> None:
        self.flags = flags
        self.propagation = propagation
        self.data = data
        self.bind = bind
        self.recursive = recursive

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MountOptions) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"MountOptions({inner})"

    @property
    def remount_flags(self) -> int:
        """The flags a bind mount needs a second, remounting call for."""
        return self.flags & ~(MS_BIND | MS_REC)


def parse_options(options: list[str], field: str = "options") -> MountOptions:
    """Split ``options`` into flags, propagation changes and the filesystem's data."""
    flags = 0
    prop: list[int] = []
    data: list[str] = []
    bind = recursive = False
    for word in options:
        if word in _FLAGS:
            clear, add = _FLAGS[word]
            flags = (flags & ~clear) | add
        elif word in _PROPAGATION:
            prop.append(_PROPAGATION[word])
        elif word in ("bind", "rbind"):
            bind = True
            recursive = recursive or word == "rbind"
        elif word in _IGNORED:
            continue
        elif word.startswith(("idmap", "ridmap")):
            raise InvalidConfig(f"config.json: {field}: idmapped mounts are not supported")
        elif not word or "," in word:
            raise InvalidConfig(f"config.json: {field}: bad option {word!r}")
        else:
            data.append(word)
    if bind:
        flags |= MS_BIND | (MS_REC if recursive else 0)
    return MountOptions(flags, tuple(prop), ",".join(data), bind, recursive)


def known_options() -> list[str]:
    """Every option word ``parse_options`` understands, for ``features``."""
    return sorted({*_FLAGS, *_PROPAGATION, "bind", "rbind", *_IGNORED})
