"""A container's volumes, bind mounts and tmpfs mounts: from create to the OCI spec.

At create, :func:`register` does what dockerd's ``registerMountPoints`` does, in its
order: ``--volumes-from`` first, then Binds (``-v``), then Mounts (``--mount``; a
destination given twice is "Duplicate mount point"), then anonymous volumes for
Config.Volumes (the image's VOLUME and ``-v /path``) where nothing is mounted yet. The
result is stored in the record as ``MountPoints`` and is what inspect's ``.Mounts``
shows. At start, :func:`oci_mounts` creates missing ``-v`` host dirs, mounts volumes
made with driver options, fills empty new volumes from the image (copy-up, unless
``nocopy``) and returns the OCI mounts, parents before children.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import DockyardError, Forbidden, InvalidArgument, NotFound
from dockyard.volumes import MountPoint, VolumeStore
from dockyard.volumes.parse import (
    parse_bind,
    parse_mount_spec,
    parse_volumes_from,
    validate_tmpfs,
)

if TYPE_CHECKING:
    from dockyard.engine.lifecycle import Lifecycle

__all__ = ["inspect_mounts", "mount_points", "oci_mounts", "register", "release",
           "remove_anonymous", "volume_event", "volume_users"]

# Destinations no mount may cover (runc's rule for /proc), and those an image's VOLUME
# may not cover either (CVE-2019-16884): users do bind /dev and /sys/fs/cgroup on purpose.
_SHADOWED = ("/proc",)
_SHADOWED_BY_IMAGE = ("/proc", "/sys", "/dev")


def mount_points(record: dict[str, Any]) -> list[MountPoint]:
    return [MountPoint.from_json(m) for m in record.get("MountPoints") or []]


def inspect_mounts(record: dict[str, Any]) -> list[dict[str, Any]]:
    """inspect's ``.Mounts`` (HostConfig.Tmpfs entries are not listed, as in docker)."""
    return [mp.inspect() for mp in mount_points(record)]


def _covered(dest: str, from_config: bool) -> str:
    """The kernel filesystem ``dest`` would cover, or ""."""
    for bad in _SHADOWED_BY_IMAGE if from_config else _SHADOWED:
        if dest == bad or (bad != "/dev" and dest.startswith(bad + "/")):
            return bad
    return ""


def _check_destination(dest: str, from_config: bool = False) -> None:
    bad = _covered(dest, from_config)
    if bad:
        raise Forbidden(f"invalid mount destination {dest}: it would cover {bad}")


def volume_users(lc: Lifecycle, name: str, skip: str = "") -> list[str]:
    """Ids of the containers whose mounts use volume ``name``."""
    out = []
    for cid in lc.store.ids():
        if cid == skip:
            continue
        with contextlib.suppress(FileNotFoundError, OSError, ValueError):
            record = lc.store.load(cid)
            if any(m.type == "volume" and m.name == name for m in mount_points(record)):
                out.append(cid)
    return out


def register(lc: Lifecycle, cid: str, config: dict[str, Any],
             hc: dict[str, Any]) -> list[MountPoint]:
    """Parse and check every mount of a new container and create its volumes; the caller
    holds ``VolumeStore.lock()`` until the record is stored."""
    store = VolumeStore(lc.roots)
    points: dict[str, MountPoint] = {}
    for spec in hc.get("VolumesFrom") or []:
        ref, mode = parse_volumes_from(str(spec))
        source = lc.store.load(lc.resolve(ref))
        for m in mount_points(source):
            m.rw = m.rw and "ro" not in mode.split(",")
            m.mode, m.copy_data, m.create_host_dir = "", False, False
            points[m.destination] = m
    binds: set[str] = set()
    for raw in hc.get("Binds") or []:
        mp = parse_bind(str(raw), str(hc.get("VolumeDriver") or ""))
        if mp.destination in binds:
            raise InvalidArgument(f"Duplicate mount point: {mp.destination}")
        binds.add(mp.destination)
        points[mp.destination] = mp
    for spec in hc.get("Mounts") or []:
        mp = parse_mount_spec(dict(spec))
        if mp.destination in binds:
            raise InvalidArgument(f"Duplicate mount point: {mp.destination}")
        binds.add(mp.destination)
        points[mp.destination] = mp
    for dest, data in (hc.get("Tmpfs") or {}).items():
        validate_tmpfs(str(dest), str(data or ""))
        _check_destination(posixpath.normpath(str(dest)))
    for raw in (config.get("Volumes") or {}):
        dest = posixpath.normpath(str(raw))
        if not dest.startswith("/"):
            raise InvalidArgument(f"invalid mount path: '{raw}' mount path must be absolute")
        if dest not in points:
            points[dest] = MountPoint(type="volume", destination=dest, copy_data=True,
                                      driver=str(hc.get("VolumeDriver") or ""),
                                      from_config=True)
    for mp in points.values():
        _check_destination(mp.destination, mp.from_config)
    made: list[MountPoint] = []
    try:
        for mp in points.values():
            if mp.type == "volume" and not mp.source and _create_volume(store, mp):
                made.append(mp)
                volume_event(lc, "create", mp.name, mp.driver)
    except BaseException:  # a create that fails leaves no volume it made
        for mp in made:
            with contextlib.suppress(DockyardError, OSError):
                store.remove_locked(mp.name, lambda _: [])
                volume_event(lc, "destroy", mp.name, mp.driver)
        raise
    return list(points.values())


def _create_volume(store: VolumeStore, mp: MountPoint) -> bool:
    """Create (or find) ``mp``'s volume; whether it is new."""
    opts = mp.volume_options
    from_config = mp.from_config
    driver_cfg = opts.get("DriverConfig") or {}
    new = not mp.name or not store.exists(mp.name)
    info = store.create_locked(mp.name or None, mp.driver or "local",
                               driver_cfg.get("Options"), opts.get("Labels"),
                               anonymous=not mp.name)
    mp.name, mp.driver, mp.source = info["Name"], info["Driver"], info["Mountpoint"]
    if not mp.mode and not from_config:
        mp.mode = "z"  # dockerd's setBindModeIfNull for local volumes
    return new


def remove_anonymous(lc: Lifecycle, record: dict[str, Any]) -> None:
    """``rm -v`` / ``--rm``: remove the container's anonymous volumes no one else uses."""
    store = VolumeStore(lc.roots)
    for mp in mount_points(record):
        if mp.type != "volume" or not store.is_anonymous(mp.name):
            continue
        with contextlib.suppress(DockyardError, OSError):
            store.remove(mp.name, lambda n: volume_users(lc, n, skip=record["Id"]))
            volume_event(lc, "destroy", mp.name, mp.driver)


def release(lc: Lifecycle, record: dict[str, Any], log: bool = True) -> None:
    """After a container stopped: unmount its driver-option volumes no running
    container still uses; ``log`` its volumes' ``unmount`` events (once: at the stop)."""
    store = VolumeStore(lc.roots)
    for mp in mount_points(record):
        if mp.type != "volume" or not store.exists(mp.name):
            continue
        if log:
            _volume_event(lc, "unmount", mp, record["Id"])
        if not (store.meta(mp.name).get("Options") or {}):
            continue
        running = [c for c in volume_users(lc, mp.name, skip=record["Id"])
                   if lc.store.state(c).get("Running")]
        if not running:
            store.unmount(mp.name)


def volume_event(lc: Lifecycle, action: str, name: str, driver: str = "",
                 attrs: dict[str, str] | None = None) -> None:
    """dockerd's volume events: the volume's name as the actor, its driver (and ``attrs``)."""
    from dockyard.engine.events import emit

    emit(lc.roots, "volume", action, name, {"driver": driver or "local", **(attrs or {})})


def _volume_event(lc: Lifecycle, action: str, mp: Any, cid: str) -> None:
    """dockerd's volume ``mount`` (at start) and ``unmount`` (after stop) events."""
    attrs = {"container": cid}
    if action == "mount":
        attrs.update({"destination": mp.destination, "propagation": mp.propagation or "",
                      "read/write": str(bool(mp.rw)).lower()})
    volume_event(lc, action, mp.name, "local", attrs)


# -- start ------------------------------------------------------------------------------
def _inside(rootfs: Path, dest: str, from_config: bool = False) -> None:
    """Refuse a destination that goes through a symlink climbing out of the root
    (``../../..``), or that resolves onto /proc, /sys or /dev (CVE-2019-16884,
    CVE-2023-28642). Absolute link targets mean paths in the root, as the runtime
    resolves them (RESOLVE_IN_ROOT), so ``/var/run -> /run`` stays fine."""
    import stat

    parts = [p for p in dest.split("/") if p not in ("", ".")]
    done: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if not done:
                raise Forbidden(f"mount destination {dest}: a symlink leads out of the "
                                "container's root")
            done.pop()
            continue
        try:
            st = os.lstat(rootfs.joinpath(*done, part))
        except OSError:
            done.append(part)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > 40:
                raise Forbidden(f"mount destination {dest}: too many levels of symbolic links")
            target = os.readlink(rootfs.joinpath(*done, part))
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    rel = "/" + "/".join(done)
    bad = _covered(rel, from_config)
    if bad:
        raise Forbidden(f"mount destination {dest} resolves to {rel}: it would cover {bad}")


def _copy_up(store: VolumeStore, mp: MountPoint, rootfs: Path) -> None:
    """Fill an empty volume from the image's content at its destination."""
    from dockyard.engine import rooted

    target = store.mountpoint(mp.name)
    if any(os.scandir(target)):
        return  # never over existing data
    src = rooted.resolve(rootfs, mp.destination)
    if not src.is_dir() or src.is_symlink() or not any(os.scandir(src)):
        return
    subprocess.run(["cp", "-a", "--no-dereference", f"{src}/.", f"{target}/"],
                   check=True, capture_output=True)
    st = os.lstat(src)
    os.chown(target, st.st_uid, st.st_gid)
    os.chmod(target, st.st_mode & 0o7777)


def oci_mounts(lc: Lifecycle, record: dict[str, Any], rootfs: Path) -> tuple[
        list[dict[str, Any]], str]:
    """The container's OCI mounts (parents first) and the root propagation they need."""
    store = VolumeStore(lc.roots)
    hc = record["HostConfig"]
    out: list[dict[str, Any]] = []
    root_prop = ""
    for mp in mount_points(record):
        _inside(rootfs, mp.destination, mp.from_config)
        opts: list[str]
        if mp.type == "tmpfs":
            out.append(_tmpfs(mp.destination, mp.tmpfs))
            continue
        if mp.type == "volume":
            if not store.exists(mp.name):
                raise NotFound(f"No such volume: {mp.name}")
            store.mount(mp.name)
            if mp.copy_data:
                _copy_up(store, mp, rootfs)
            source = str(store.mountpoint(mp.name))
            _volume_event(lc, "mount", mp, record["Id"])
        else:
            source = mp.source
            if not os.path.exists(source):
                if not mp.create_host_dir:
                    raise InvalidArgument(f'invalid mount config for type "bind": bind '
                                          f"source path does not exist: {source}")
                os.makedirs(source, 0o755, exist_ok=True)
        prop = mp.propagation or "rprivate"
        if prop in ("shared", "rshared"):
            root_prop = "rshared"
        elif prop in ("slave", "rslave") and root_prop != "rshared":
            root_prop = "rslave"
        opts = ["bind" if mp.nonrecursive else "rbind", prop]
        if not mp.rw:
            opts.append("ro")
        out.append({"destination": mp.destination, "type": "bind", "source": source,
                    "options": opts})
    for dest, data in (hc.get("Tmpfs") or {}).items():
        _inside(rootfs, str(dest))
        out.append(_tmpfs(posixpath.normpath(str(dest)), str(data or "")))
    out.sort(key=lambda m: len([p for p in m["destination"].split("/") if p]))
    return out, root_prop


def _tmpfs(dest: str, data: str) -> dict[str, Any]:
    opts = ["noexec", "nosuid", "nodev", "rprivate", *[w for w in data.split(",") if w]]
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts}
