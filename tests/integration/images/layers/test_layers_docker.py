"""The same layers through Docker: `docker export` of the image equals our mounted
overlay and the reference model.

Two differences from test_layers_semantics' layers, both where Docker's overlay2
(which extracts into an unmounted diff dir) differs from a mounted overlay: it cannot
link to a file of a lower layer, so that entry is left out; and it creates parents a
layer does not list as 0755 root dirs, where we (like containerd) keep the metadata of
the directory below, so here those parents are listed explicitly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.images.snapshots import OverlaySnapshotter, chain_ids, unpack_layer
from tests.support.dockerd import Dockerd
from tests.unit.images.layers.tarbuild import E, tar_bytes

from .reference import Node, capture, expected, without_dir_mtimes
from .test_layers_semantics import L1, L2, L3, L4, T, mounted

L2_DOCKER = [E("var/old/", "dir", mode=0o700), *(e for e in L2 if e.name != "usr/lib/libz")]
L3_DOCKER = [E("usr/lib/", "dir", mode=0o711, uid=7, gid=8, mtime=T + 5), *L3]
LAYERS = [L1, L2_DOCKER, L3_DOCKER, L4]
# Docker's init layer adds these to every container, and owns the dirs they sit in.
DOCKER_ADDS = {".dockerenv", "dev/console", "dev/pts", "dev/shm", "etc/hostname",
               "etc/hosts", "etc/mtab", "etc/resolv.conf", "proc", "sys"}
DOCKER_DIRS = {"dev", "etc"}


def docker_archive(path: Path, name: str) -> None:
    raws = [tar_bytes(layer) for layer in LAYERS]
    diff_ids = ["sha256:" + hashlib.sha256(r).hexdigest() for r in raws]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    members = {"config.json": config}
    for i, raw in enumerate(raws):
        members[f"l{i}/layer.tar"] = raw
    members["manifest.json"] = json.dumps([{
        "Config": "config.json", "RepoTags": [name],
        "Layers": [f"l{i}/layer.tar" for i in range(len(raws))]}]).encode()
    with tarfile.open(path, "w") as t:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def tree_of_export(data: bytes) -> dict[str, Node]:
    out: dict[str, Node] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t:
            name = m.name.strip("/").removeprefix("./")
            if not name:
                continue
            if m.islnk():
                out[name] = out[m.linkname.strip("/")]
                continue
            kind = {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
                    tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block",
                    tarfile.FIFOTYPE: "fifo"}.get(m.type, "file")
            body = t.extractfile(m) if kind == "file" else None
            content = body.read() if body else m.linkname.encode() if kind == "symlink" else b""
            rdev = os.makedev(m.devmajor, m.devminor) if kind in ("char", "block") else 0
            out[name] = (kind, m.mode & 0o7777, m.uid, m.gid, content, rdev,
                         -1 if kind == "dir" else int(m.mtime))
    return out


def comparable(tree: dict[str, Node]) -> dict[str, Node]:
    tree = without_dir_mtimes(tree)
    return {p: (n if p not in DOCKER_DIRS else n[:1]) for p, n in tree.items()
            if p not in DOCKER_ADDS and not p.startswith(("dev/pts/", "dev/shm/"))}


@pytest.mark.peer
@pytest.mark.slow
def test_docker_export_equals_our_overlay(dockerd: Dockerd, tmp_path: Path,
                                          session_token: str) -> None:
    name = f"dytest/layers-{session_token}:1"
    archive = tmp_path / "image.tar"
    docker_archive(archive, name)
    dockerd.docker("load", "-i", str(archive))
    try:
        cid = dockerd.docker("create", name).stdout.strip()
        try:
            export = tmp_path / "export.tar"
            dockerd.docker("export", "-o", str(export), cid)
            theirs = comparable(tree_of_export(export.read_bytes()))
        finally:
            dockerd.docker("rm", "-f", cid, check=False)
    finally:
        dockerd.docker("rmi", "-f", name, check=False)

    raws = [tar_bytes(layer) for layer in LAYERS]
    diff_ids = ["sha256:" + hashlib.sha256(r).hexdigest() for r in raws]
    with OverlaySnapshotter(tmp_path / "snapshots") as sn:
        parent = None
        for raw, chain in zip(raws, chain_ids(diff_ids), strict=True):
            unpack_layer(sn, io.BytesIO(raw), chain, parent)
            parent = chain
        with mounted(sn.view("v", parent), tmp_path / "mnt") as root:
            ours = comparable(capture(root))
        sn.remove("v")
    assert ours == theirs
    assert theirs == comparable(expected(LAYERS))
