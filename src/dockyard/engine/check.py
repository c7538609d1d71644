"""``system check`` for containers: is every container accounted for?

Accounted for means: every record is complete and listable; every name link points at
the record that carries that name; every container the runtime knows, every rootfs
mount and every run dir belongs to a record, and only running containers have a live
monitor. Leftovers of killed writers (stale name links, unfinished record dirs) are
always cleared (and reported as repaired); ``repair=True`` also removes what belongs
to no record. It never touches a complete record.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from dockyard.engine.lifecycle import Lifecycle
from dockyard.engine.rootfs import is_mounted
from dockyard.engine.runtimes import RUNTIMES, open_runtime
from dockyard.errors import DockyardError

__all__ = ["check_containers"]


def _runtime_ids(lc: Lifecycle) -> dict[str, str]:
    """Container id -> runtime name, from each runtime's state root."""
    out: dict[str, str] = {}
    for name in RUNTIMES:
        root = lc.roots.runtime_state / name
        if not root.is_dir():
            continue
        for entry in os.listdir(root):
            if not entry.startswith("."):
                out[entry] = name
    return out


def _delete_runtime_state(lc: Lifecycle, cid: str, runtime: str) -> None:
    open_runtime(runtime, lc.roots.runtime_state).delete(cid)
    leftover = lc.roots.runtime_state / runtime / cid
    if leftover.is_dir() and not (leftover / "state.json").exists():
        shutil.rmtree(leftover)  # a create that died before writing its state


def check_containers(lc: Lifecycle, repair: bool = False) -> list[dict[str, Any]]:
    """Problems found (``{"kind", "id", "detail", "repaired"}``); empty when consistent."""
    problems: list[dict[str, Any]] = []

    def found(kind: str, cid: str, detail: str, fix: Any = None,
              always: bool = False) -> None:
        fixed = False
        if (repair or always) and fix is not None:
            with contextlib.suppress(DockyardError, OSError):
                fix()
                fixed = True
        problems.append({"kind": kind, "id": cid, "detail": detail, "repaired": fixed})

    ids = set(lc.store.ids())
    for cid in sorted(ids):
        try:
            record = lc.store.load(cid)
            state = lc.store.state(cid)
        except (OSError, ValueError) as err:
            found("unreadable record", cid, str(err))
            continue
        name = str(record.get("Name", "")).lstrip("/")
        if lc.store.owner_of(name) != cid:
            found("name not linked", cid, name,
                  lambda c=cid, n=name: lc.store.rename(c, n))
        if state.get("Running") and not lc.monitor_alive(cid):
            found("running without monitor", cid, "monitor is gone",
                  lambda c=cid: lc.state(c))
    # What a killed writer leaves (a name link without its record, a half-written or
    # half-deleted record dir) is provably dead once we hold the store lock: any writer
    # clears it, so check does too, and reports it as repaired.
    with lc.store.locked():  # clears .tmp-<id> and .trash-<id> dirs
        pass
    for name in lc.store.stale_names():
        found("stale name", "", name, lc.store.drop_stale_names, always=True)
    for cid, runtime in _runtime_ids(lc).items():
        if cid not in ids:
            found("runtime container without record", cid, runtime,
                  lambda c=cid, r=runtime: _delete_runtime_state(lc, c, r))
    keys = getattr(lc.images, "container_keys", None)
    for key in keys() if keys is not None and lc.roots.snapshots.exists() else []:
        if key not in ids:
            found("snapshot without record", key, "container snapshot",
                  lambda k=key: lc.images.remove(k))
    for ep in lc.networking.store.endpoints():
        if lc.network_stale(ep.container_id):
            found("network endpoint of a stopped or missing container", ep.container_id,
                  f"{ep.network_name} {ep.address}",
                  lambda: lc.networking.sweep(lc.network_stale))
    for veth in lc.networking.stray_veths():
        found("veth without endpoint", "", veth, lambda v=veth: _delete_link(v))
    run = lc.roots.run_containers
    for entry in sorted(os.listdir(run)) if run.is_dir() else []:
        if entry in ids:
            continue
        rootfs = run / entry / "rootfs"
        if is_mounted(rootfs):
            found("rootfs mounted without record", entry, str(rootfs),
                  lambda r=rootfs: lc.images.unmount(r))
        found("run dir without record", entry, str(run / entry),
              lambda p=run / entry: _remove_run_dir(lc, p))
    _check_volumes(lc, found)
    return problems


def _check_volumes(lc: Lifecycle, found: Any) -> None:
    """A killed volume create or remove leaves a ``.tmp-*``/``.trash-*`` dir (dead, as
    for records, so always cleared); a record may name a volume that is gone."""
    from dockyard.engine.mounts import mount_points
    from dockyard.volumes import VolumeStore

    store = VolumeStore(lc.roots)
    base = store.base
    for entry in sorted(os.listdir(base)) if base.is_dir() else []:
        if entry.startswith((".tmp-", ".trash-")):
            found("volume leftover", "", entry, store.cleanup, always=True)
    for cid in sorted(lc.store.ids()):
        with contextlib.suppress(OSError, ValueError):
            for mp in mount_points(lc.store.load(cid)):
                if mp.type == "volume" and not store.exists(mp.name):
                    found("missing volume", cid, mp.name)


def _delete_link(name: str) -> None:
    from dockyard.network import bridge

    bridge.remove_endpoint(name)


def _remove_run_dir(lc: Lifecycle, path: Path) -> None:
    from dockyard.engine.monitor.client import monitor_pid

    if monitor_pid(path) is not None:
        raise OSError(f"{path}: a monitor still runs there")
    if is_mounted(path / "rootfs"):
        lc.images.unmount(path / "rootfs")
    lc.networking.teardown(path.name)  # endpoints and the pinned namespace
    shutil.rmtree(path)


def summary(problems: list[dict[str, Any]]) -> str:
    """One line per problem, for the command line."""
    return "\n".join(json.dumps(p) for p in problems)
