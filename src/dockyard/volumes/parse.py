"""Mount specifications with docker's rules and messages (pure logic).

``-v`` strings (HostConfig.Binds), ``--mount`` CSV (→ HostConfig.Mounts entries),
``--tmpfs`` (HostConfig.Tmpfs), ``--volumes-from`` are turned into :class:`MountPoint`
records, as moby's ``volume/mounts/linux_parser.go`` does, with its error texts.
"""

from __future__ import annotations

import csv
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = [
    "MountPoint",
    "check_volume_name",
    "parse_bind",
    "parse_mount_flag",
    "parse_mount_spec",
    "parse_tmpfs_flag",
    "parse_volumes_from",
    "ram_in_bytes",
    "tmpfs_data",
    "valid_mode",
    "validate_tmpfs",
]

RW_MODES = frozenset({"rw", "ro"})
LABEL_MODES = frozenset({"z", "Z"})
PROPAGATION = frozenset({"private", "rprivate", "shared", "rshared", "slave", "rslave"})
COPY_MODES = frozenset({"nocopy"})
DEFAULT_PROPAGATION = "rprivate"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_SIZE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtTpP])?[iI]?[bB]?")
# tmpfs(5) data options and the generic mount flags the runtime understands.
_TMPFS_KEYS = frozenset({"size", "mode", "nr_blocks", "nr_inodes", "uid", "gid", "mpol"})
_TMPFS_FLAGS = frozenset({"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
                          "sync", "async", "dirsync", "atime", "noatime", "diratime",
                          "nodiratime", "relatime", "norelatime", "strictatime",
                          "nostrictatime", "tmpcopyup", "notmpcopyup", *PROPAGATION})


@dataclass
class MountPoint:
    """One mount of a container (moby's ``MountPoint``), as stored in its record."""

    type: str                     # volume | bind | tmpfs
    destination: str
    rw: bool = True
    source: str = ""              # bind: host path; volume: filled once created
    name: str = ""                # volume name ("" = anonymous until registered)
    driver: str = ""
    mode: str = ""
    propagation: str = ""
    copy_data: bool = True
    nonrecursive: bool = False
    tmpfs: str = ""               # tmpfs mount data (size=…,mode=…)
    create_host_dir: bool = False  # -v binds: a missing host dir is made at start
    from_config: bool = False     # an anonymous volume for Config.Volumes (image VOLUME)
    volume_options: dict[str, Any] = field(default_factory=dict)  # Labels, DriverConfig

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> MountPoint:
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})

    def inspect(self) -> dict[str, Any]:
        """docker's ``types.MountPoint`` (Name and Driver only where set)."""
        out: dict[str, Any] = {"Type": self.type}
        if self.name:
            out["Name"] = self.name
        out["Source"] = self.source
        out["Destination"] = self.destination
        if self.driver:
            out["Driver"] = self.driver
        out.update(Mode=self.mode, RW=self.rw, Propagation=self.propagation)
        return out


def valid_mode(mode: str) -> bool:
    """moby's ``linuxValidMountMode``: known words, at most one of each kind."""
    if mode == "":
        return True
    counts = [0, 0, 0, 0]
    for word in mode.split(","):
        for i, kind in enumerate((RW_MODES, LABEL_MODES, PROPAGATION, COPY_MODES)):
            if word in kind:
                counts[i] += 1
                break
        else:
            return False
    return max(counts) <= 1


def _words(mode: str) -> list[str]:
    return mode.split(",") if mode else []


def _mount_config_error(kind: str, message: str) -> InvalidArgument:
    return InvalidArgument(f'invalid mount config for type "{kind}": {message}')


def _check_absolute(kind: str, path: str) -> None:
    if not path.startswith("/"):
        raise _mount_config_error(kind, f"invalid mount path: '{path}' mount path must be "
                                        "absolute")


def parse_mount_spec(m: dict[str, Any], check_source: bool = True,
                     exists: Any = None) -> MountPoint:
    """An Engine API ``Mount`` (HostConfig.Mounts entry) → MountPoint, with dockerd's
    ``validateMountConfig`` checks. ``exists(path)`` tells whether a bind source exists."""
    import os

    kind = str(m.get("Type") or "")
    target = str(m.get("Target") or "")
    source = str(m.get("Source") or "")
    readonly = bool(m.get("ReadOnly"))
    bind_opts = m.get("BindOptions")
    vol_opts = m.get("VolumeOptions")
    tmpfs_opts = m.get("TmpfsOptions")
    if not target:
        raise _mount_config_error(kind, "field Target must not be empty")
    if posixpath.normpath(target) == "/" and target.startswith("/"):
        raise _mount_config_error(kind, "invalid specification: destination can't be '/'")
    _check_absolute(kind, target)
    mp = MountPoint(type=kind, destination=posixpath.normpath(target), rw=not readonly)
    if kind == "bind":
        if not source:
            raise _mount_config_error(kind, "field Source must not be empty")
        prop = str((bind_opts or {}).get("Propagation") or "")
        if prop and prop not in PROPAGATION:
            raise _mount_config_error(kind, f"invalid propagation mode: {prop}")
        if vol_opts is not None:
            raise _mount_config_error(kind, "field VolumeOptions must not be specified")
        _check_absolute(kind, source)
        if check_source and not (exists or os.path.exists)(source):
            raise _mount_config_error(kind, f"bind source path does not exist: {source}")
        mp.source = posixpath.normpath(source)
        mp.propagation = prop or DEFAULT_PROPAGATION
        mp.nonrecursive = bool((bind_opts or {}).get("NonRecursive"))
    elif kind == "volume":
        if bind_opts is not None:
            raise _mount_config_error(kind, "field BindOptions must not be specified")
        if not source and readonly:
            raise _mount_config_error(kind, "must not set ReadOnly mode when using "
                                            "anonymous volumes")
        mp.name = source
        opts = dict(vol_opts or {})
        mp.copy_data = not opts.get("NoCopy")
        driver = (opts.get("DriverConfig") or {}).get("Name") or ""
        mp.driver = str(driver)
        mp.volume_options = {k: opts[k] for k in ("Labels", "DriverConfig") if opts.get(k)}
    elif kind == "tmpfs":
        if bind_opts is not None:
            raise _mount_config_error(kind, "field BindOptions must not be specified")
        if source:
            raise _mount_config_error(kind, "field Source must not be specified")
        mp.tmpfs = tmpfs_data(tmpfs_opts or {}, readonly)
    else:
        raise _mount_config_error(kind, "mount type unknown")
    return mp


def tmpfs_data(opts: dict[str, Any], readonly: bool = False) -> str:
    """moby's ``ConvertTmpfsOptions``: ``size=…`` in the largest whole unit, octal mode."""
    out: list[str] = []
    size = int(opts.get("SizeBytes") or 0)
    if size < 0:
        raise InvalidArgument(f"invalid size for tmpfs: {size}")
    if size:
        suffix = ""
        for unit in ("k", "m", "g"):
            if size % 1024:
                break
            size //= 1024
            suffix = unit
        out.append(f"size={size}{suffix}")
    mode = int(opts.get("Mode") or 0) & 0o7777
    if mode:
        out.append(f"mode={mode:o}")
    if readonly:
        out.append("ro")
    return ",".join(out)


def parse_bind(raw: str, volume_driver: str = "") -> MountPoint:
    """A ``-v`` string: ``[source:]dest[:mode]`` (moby's ``ParseMountRaw``)."""
    spec_err = f"invalid volume specification: '{raw}'"
    parts = raw.split(":", 3)
    if parts[0] == "":
        raise InvalidArgument(spec_err)
    mode = ""
    if len(parts) == 1:
        source, target = "", parts[0]
    elif len(parts) == 2:
        if valid_mode(parts[1]):
            raise InvalidArgument(spec_err)
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise InvalidArgument(spec_err)
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    words = _words(mode)
    m: dict[str, Any] = {"Type": "bind" if source.startswith("/") else "volume",
                         "Source": source, "Target": target, "ReadOnly": "ro" in words}
    if volume_driver and m["Type"] == "volume":
        m["VolumeOptions"] = {"DriverConfig": {"Name": volume_driver}}
    if "nocopy" in words:
        m.setdefault("VolumeOptions", {})["NoCopy"] = True
    prop = [w for w in words if w in PROPAGATION]
    if prop:
        m["BindOptions"] = {"Propagation": prop[0]}
    try:
        mp = parse_mount_spec(m, check_source=False)
    except InvalidArgument as err:
        raise InvalidArgument(f"{spec_err}: {err}") from None
    mp.mode = mode
    mp.create_host_dir = mp.type == "bind"
    return mp


def check_volume_name(name: str) -> None:
    """The local driver's name rule, with its message."""
    if len(name) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be "
                              "at least two alphanumeric characters")
    if not _NAME_RE.match(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path")


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """``container[:ro|rw]`` → (container, mode)."""
    if not spec:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    ref, sep, mode = spec.partition(":")
    if not sep:
        return ref, "rw"
    words = _words(mode)
    if not valid_mode(mode) or any(w in PROPAGATION or w in COPY_MODES for w in words):
        raise InvalidArgument(f"invalid mode: {mode}")
    return ref, mode


def _parse_bool(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise InvalidArgument(f"invalid value for {key}: {value}")


def parse_mount_flag(text: str) -> dict[str, Any]:
    """``--mount type=…,source=…,target=…`` → an Engine API Mount (the docker CLI's
    ``MountOpt.Set``); errors are the CLI's, wrapped like cobra does."""
    try:
        return _mount_flag(text)
    except InvalidArgument as err:
        raise InvalidArgument(f'invalid argument "{text}" for "--mount" flag: {err}') from None


def _mount_flag(text: str) -> dict[str, Any]:
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration) as err:
        raise InvalidArgument(str(err)) from None
    m: dict[str, Any] = {"Type": "volume"}

    def sub(key: str) -> dict[str, Any]:
        # the CLI gives VolumeOptions an empty DriverConfig as soon as it has one
        out: dict[str, Any] = m.setdefault(key, {})
        if key == "VolumeOptions":
            out.setdefault("DriverConfig", {})
        return out

    for f in fields:
        key, sep, value = f.partition("=")
        key = key.lower()
        if not sep:
            if key in ("readonly", "ro"):
                m["ReadOnly"] = True
                continue
            if key == "volume-nocopy":
                sub("VolumeOptions")["NoCopy"] = True
                continue
            if key == "bind-nonrecursive":
                sub("BindOptions")["NonRecursive"] = True
                continue
            raise InvalidArgument(f"invalid field '{f}' must be a key=value pair")
        if key == "type":
            m["Type"] = value.lower()
        elif key in ("source", "src"):
            m["Source"] = value
        elif key in ("target", "dst", "destination"):
            m["Target"] = value
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = _parse_bool(key, value)
        elif key == "consistency":
            m["Consistency"] = value.lower()
        elif key == "bind-propagation":
            sub("BindOptions")["Propagation"] = value.lower()
        elif key == "bind-nonrecursive":
            sub("BindOptions")["NonRecursive"] = _parse_bool(key, value)
        elif key == "volume-nocopy":
            try:
                sub("VolumeOptions")["NoCopy"] = _parse_bool(key, value)
            except InvalidArgument:
                raise InvalidArgument(f"invalid value for volume-nocopy: {value}") from None
        elif key == "volume-label":
            k, _, v = value.partition("=")
            sub("VolumeOptions").setdefault("Labels", {})[k] = v
        elif key == "volume-driver":
            sub("VolumeOptions").setdefault("DriverConfig", {})["Name"] = value
        elif key == "volume-opt":
            k, _, v = value.partition("=")
            sub("VolumeOptions").setdefault("DriverConfig", {}).setdefault(
                "Options", {})[k] = v
        elif key == "tmpfs-size":
            try:
                sub("TmpfsOptions")["SizeBytes"] = ram_in_bytes(value)
            except ValueError:
                raise InvalidArgument(f"invalid value for {key}: {value}") from None
        elif key == "tmpfs-mode":
            try:
                mode = int(value, 8)
            except ValueError:
                raise InvalidArgument(f"invalid value for {key}: {value}") from None
            if not 0 <= mode < 1 << 32:
                raise InvalidArgument(f"invalid value for {key}: {value}")
            sub("TmpfsOptions")["Mode"] = mode
        else:
            raise InvalidArgument(f"unexpected key '{key}' in '{f}'")
    if not m.get("Type"):
        raise InvalidArgument("type is required")
    if not m.get("Target"):
        raise InvalidArgument("target is required")
    for key, word in (("VolumeOptions", "volume"), ("BindOptions", "bind"),
                      ("TmpfsOptions", "tmpfs")):
        if key in m and m["Type"] != word:
            raise InvalidArgument(f"cannot mix '{word}-*' options with mount type "
                                  f"'{m['Type']}'")
    return m


def parse_tmpfs_flag(text: str) -> tuple[str, str]:
    """``--tmpfs /path[:options]`` → (path, options)."""
    path, _, opts = text.partition(":")
    return path, opts


def validate_tmpfs(dest: str, data: str) -> None:
    """A HostConfig.Tmpfs entry: absolute, not ``/``, and only options tmpfs knows."""
    if posixpath.normpath(dest) == "/" and dest.startswith("/"):
        raise InvalidArgument("invalid specification: destination can't be '/'")
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{dest}' mount path must be absolute")
    for word in _words(data):
        if word in _TMPFS_FLAGS:
            continue
        key, sep, _ = word.partition("=")
        if not sep or key not in _TMPFS_KEYS:
            shown = " ".join(f'"{p}"' for p in word.split("=", 1))
            raise InvalidArgument(f"invalid tmpfs option [{shown}]")


def ram_in_bytes(text: str) -> int:
    """go-units ``RAMInBytes``: ``64m`` → 67108864 (binary multiples)."""
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    size = float(match.group(1))
    prefix = (match.group(2) or "").lower()
    if prefix:
        size *= 1024 ** ("kmgtp".index(prefix) + 1)
    return int(size)
