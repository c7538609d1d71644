"""``commit`` and ``export``: a container's filesystem as a new image or as a tar.

commit writes the container's overlay upper dir as one more layer (``write_diff``,
whiteouts for deletions) into the content store, and registers an image whose config
is the container's (image-relevant keys, then ``--change`` instructions applied) on top
of the parent image's layers and history. The container is paused meanwhile unless
``pause=False``, like docker.
"""

from __future__ import annotations

import contextlib
from typing import Any, BinaryIO, cast

from dockyard.engine.changes import overlay_dirs
from dockyard.engine.lifecycle import Lifecycle
from dockyard.engine.store import now_rfc3339
from dockyard.errors import InvalidArgument

__all__ = ["IMAGE_CONFIG_KEYS", "commit", "export", "image_config_of"]

IMAGE_CONFIG_KEYS = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Healthcheck",
                     "Volumes", "WorkingDir", "Labels", "OnBuild", "StopSignal", "Shell")


def image_config_of(container_config: dict[str, Any],
                    changes: list[str] | None = None) -> dict[str, Any]:
    """The runtime config an image committed from this container gets."""
    from dockyard.images.changes import apply_changes

    base = {k: container_config[k] for k in IMAGE_CONFIG_KEYS
            if container_config.get(k) not in (None, "", [], {})}
    return apply_changes(base, changes or [])


def _store(lc: Lifecycle) -> Any:
    store = getattr(lc.images, "store", None)
    if store is None:
        raise InvalidArgument("commit needs the image store (this engine has another "
                              "image source)")
    return store


def commit(lc: Lifecycle, ref: str, repo_tag: str = "", changes: list[str] | None = None,
           message: str = "", author: str = "", pause: bool = True) -> str:
    """Make an image of the container; returns its id (``sha256:...``)."""
    from dockyard.oci import (
        Descriptor,
        History,
        ImageConfig,
        Manifest,
        mediatypes,
        parse_reference,
    )

    cid = lc.resolve(ref)
    store = _store(lc)
    tag = str(parse_reference(repo_tag)) if repo_tag else ""
    record = lc.store.load(cid)
    new_config = image_config_of(record["Config"], changes)
    parent = store.get(record["Image"])
    upper, _ = overlay_dirs(lc.images.mounts(cid))
    paused_here = False
    state = lc.state(cid)
    if pause and state.get("Running") and not state.get("Paused"):
        lc.pause(cid)
        paused_here = True
    try:
        with store.writing():
            writer = store.content.writer()
            try:
                _layer_without_mountpoints(lc, upper, cast(BinaryIO, writer))
                diff_id = writer.digest()
                size = writer.size
                writer.commit(diff_id)
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.abort()
                raise
            created = now_rfc3339()
            command = " ".join([record["Path"], *record["Args"]])
            pcfg = parent.config
            cfg = ImageConfig(pcfg.architecture, pcfg.os, (*pcfg.diff_ids, diff_id),
                              new_config, created, author=author, variant=pcfg.variant,
                              history=(*pcfg.history,
                                       History(created, command, message, author)))
            raw = cfg.to_bytes()
            cfg_digest = store.content.write(raw)
            manifest = Manifest(
                Descriptor(mediatypes.OCI_CONFIG, cfg_digest, len(raw)),
                (*parent.manifest.layers, Descriptor(mediatypes.OCI_LAYER, diff_id, size)))
            image, _ = store.register(manifest, [tag] if tag else [], hold=False)
    finally:
        if paused_here:
            lc.unpause(cid)
    return str(image.id)


def _layer_without_mountpoints(lc: Lifecycle, upper: str, out: BinaryIO) -> None:
    """The upper dir as a layer tar, less the empty files the runtime made as mount
    points (docker keeps those in its init layer, out of every commit)."""
    import shutil
    import tarfile
    import tempfile

    from dockyard.images.layers import write_diff

    lc.roots.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=lc.roots.tmp) as raw:
        write_diff(upper, cast(BinaryIO, raw))
        raw.seek(0)
        with tarfile.open(fileobj=raw, mode="r|") as tf:
            skip = any(_is_mountpoint(m) for m in tf)
        raw.seek(0)
        if not skip:
            shutil.copyfileobj(raw, out, 1 << 20)
            return
        with tarfile.open(fileobj=raw, mode="r|") as src, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as dst:
            for member in src:
                if _is_mountpoint(member):
                    continue
                dst.addfile(member, src.extractfile(member) if member.isreg() else None)


def _is_mountpoint(member: Any) -> bool:
    from dockyard.engine.changes import RUNTIME_MOUNTPOINTS

    name = "/" + member.name.lstrip("./").lstrip("/")
    return bool(name in RUNTIME_MOUNTPOINTS and member.isreg() and member.size == 0)


def export(lc: Lifecycle, ref: str, out: BinaryIO) -> int:
    """Write the container's whole filesystem as a tar; returns the entry count."""
    from dockyard.images import export_rootfs

    cid = lc.resolve(ref)
    return int(export_rootfs(lc.roots, lc.images.mounts(cid), out))
