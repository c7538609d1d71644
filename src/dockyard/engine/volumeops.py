"""The ``volume`` verbs over an engine: the store plus who uses each volume.

A volume is in use while a container record lists it among its mounts (running or
not), as in docker: ``volume rm`` then fails with docker's Conflict naming the
containers, and ``volume prune`` leaves it alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.engine.mounts import mount_points, volume_event, volume_users
from dockyard.errors import InvalidArgument
from dockyard.volumes import VolumeStore

if TYPE_CHECKING:
    from dockyard.engine.lifecycle import Lifecycle

__all__ = ["volume_create", "volume_list", "volume_prune", "volume_remove", "volume_usage"]

_FILTERS = ("dangling", "driver", "label", "name")


def _store(lc: Lifecycle) -> VolumeStore:
    return VolumeStore(lc.roots)


def volume_create(lc: Lifecycle, name: str | None, driver: str = "local",
                  options: dict[str, str] | None = None,
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    vol = _store(lc).create(name, driver, dict(options or {}), dict(labels or {}))
    volume_event(lc, "create", vol["Name"], vol.get("Driver") or driver)
    return vol


def _users_by_volume(lc: Lifecycle) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid in lc.store.ids():
        try:
            record = lc.store.load(cid)
        except (FileNotFoundError, OSError, ValueError):
            continue
        for m in mount_points(record):
            if m.type == "volume":
                out.setdefault(m.name, []).append(cid)
    return out


def _matches(vol: dict[str, Any], filters: dict[str, list[str]], used: bool) -> bool:
    for key, values in filters.items():
        if key not in _FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
        if key == "dangling":
            want = {v.lower() in ("true", "1") for v in values}
            if (not used) not in want:
                return False
        elif (key == "name" and not any(v in vol["Name"] for v in values)) or (
                key == "driver" and vol["Driver"] not in values):
            return False
        elif key == "label":
            labels = vol.get("Labels") or {}
            for v in values:
                k, sep, val = v.partition("=")
                if k not in labels or (sep and labels[k] != val):
                    return False
    return True


def volume_list(lc: Lifecycle,
                filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    users = _users_by_volume(lc)
    return [v for v in _store(lc).list()
            if _matches(v, filters or {}, bool(users.get(v["Name"])))]


def volume_remove(lc: Lifecycle, name: str, force: bool = False) -> None:
    _store(lc).remove(name, lambda n: volume_users(lc, n), force)
    volume_event(lc, "destroy", name, "local")


def volume_prune(lc: Lifecycle, filters: dict[str, list[str]] | None = None
                 ) -> dict[str, Any]:
    """Remove every unused volume (docker 20.10: named ones too) the filters select."""
    f = dict(filters or {})
    for key in f:
        if key != "label" and key != "label!":
            raise InvalidArgument(f"invalid filter '{key}'")

    def keep(vol: dict[str, Any]) -> bool:
        labels = vol.get("Labels") or {}
        for v in f.get("label", []):
            k, sep, val = v.partition("=")
            if k not in labels or (sep and labels[k] != val):
                return True
        for v in f.get("label!", []):
            k, sep, val = v.partition("=")
            if k in labels and (not sep or labels[k] == val):
                return True
        return False

    report = _store(lc).prune(lambda n: volume_users(lc, n), keep)
    for name in report.get("VolumesDeleted") or []:
        volume_event(lc, "destroy", str(name), "local")
    return report


def volume_usage(lc: Lifecycle) -> list[dict[str, Any]]:
    """``system df -v`` rows: each volume with its size and how many containers use it."""
    store = _store(lc)
    users = _users_by_volume(lc)
    out = []
    for vol in store.list():
        vol = dict(vol)
        vol["UsageData"] = {"RefCount": len(users.get(vol["Name"], [])),
                            "Size": store.size(vol["Name"])}
        out.append(vol)
    return out
