"""``system df``: what images, containers, volumes, build cache and logs hold on disk.

The Engine API's ``/system/df`` shape (``LayersSize``, ``Images``, ``Containers``,
``Volumes``, ``BuildCache``) plus ``Logs``, which docker leaves out. Image sizes are
the layer snapshots on disk (each layer once, however many images share it: ``Size``
counts the image's layers, ``SharedSize`` those another image also uses); container
sizes are their upper dirs; the build cache counts cached steps whose layers no image
holds; logs are each container's log files, rotated ones included.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

__all__ = ["disk_usage", "tree_size"]


def tree_size(path: str | os.PathLike[str]) -> int:
    """Allocated bytes under ``path`` (hard links once; 0 if missing)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_blocks * 512
    return total


def _layer_sizes(roots: Any, chains: set[str]) -> dict[str, int]:
    from dockyard.images.snapshots import open_snapshotter

    sizes: dict[str, int] = {}
    sn = open_snapshotter(roots)
    try:
        for chain in chains:
            try:
                sizes[chain] = int(sn.usage(chain).size)
            except Exception:  # a layer not unpacked (yet): nothing on disk for it
                sizes[chain] = 0
    finally:
        sn.close()
    return sizes


def _logs(engine: Any, containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in containers:
        cdir = Path(engine.container_dir(c["Id"]))
        files = [p for p in cdir.glob(f"{c['Id']}-json.log*")] + \
            [p for p in (cdir / "local-logs").glob("container.log*")]
        size = 0
        for p in files:
            with contextlib.suppress(OSError):
                size += p.stat().st_size
        record = engine.lc.store.load(c["Id"])
        driver = (record["HostConfig"].get("LogConfig") or {}).get("Type") or "json-file"
        out.append({"Id": c["Id"], "Names": c["Names"], "Driver": driver,
                    "Files": len(files), "Size": size})
    return out


def _build_cache(roots: Any, image_chains: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
    keys = roots.root / "build-cache" / "keys"
    entries: list[dict[str, Any]] = []
    chains: set[str] = set()
    if not keys.is_dir():
        return entries, chains
    for key in sorted(keys.iterdir()):
        with contextlib.suppress(OSError):
            chain = key.read_text().strip()
            st = key.stat()
            entries.append({"ID": key.name[:25], "Type": "regular", "Chain": chain,
                            "Shared": chain in image_chains, "InUse": False,
                            "CreatedAt": st.st_mtime, "LastUsedAt": st.st_atime,
                            "UsageCount": 1})
            chains.add(chain)
    return entries, chains


def disk_usage(engine: Any, images: list[Any]) -> dict[str, Any]:
    """``/system/df`` for an engine and the image store's ``list()``."""
    roots = engine.roots
    containers = engine.list(all=True, size=True)
    users: dict[str, int] = {}
    for c in containers:
        users[c["ImageID"]] = users.get(c["ImageID"], 0) + 1
    per_image = {str(i.id): [str(c) for c in i.chain_ids] for i in images}
    counts: dict[str, int] = {}
    for chains in per_image.values():
        for chain in set(chains):
            counts[chain] = counts.get(chain, 0) + 1
    cache, cache_chains = _build_cache(roots, set(counts))
    sizes = _layer_sizes(roots, set(counts) | cache_chains)
    image_rows = []
    for i in images:
        mine = set(per_image[str(i.id)])
        size = sum(sizes[c] for c in mine)
        shared = sum(sizes[c] for c in mine if counts[c] > 1)
        image_rows.append({"Id": str(i.id), "RepoTags": list(i.names),
                           "Created": int(i.added),
                           "Size": size, "SharedSize": shared,
                           "Containers": users.get(str(i.id), 0)})
    for entry in cache:
        entry["Size"] = 0 if entry["Shared"] else sizes.get(entry["Chain"], 0)
    volumes = engine.volume_usage()
    return {"LayersSize": sum(sizes[c] for c in counts), "Images": image_rows,
            "Containers": containers, "Volumes": volumes, "BuildCache": cache,
            "Logs": _logs(engine, containers)}
