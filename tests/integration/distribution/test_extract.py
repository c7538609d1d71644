"""Layers unpacked as they arrive: a layer is applied while later ones still download;
a bad diff id or a pull killed half-way leaves the store consistent and the previous
image under the tag intact."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.distribution import Auth, pull, push
from dockyard.errors import Corrupt, DockyardError
from dockyard.images import Image, ImageStore
from dockyard.images.snapshots import has_committed
from dockyard.images.unpack import snapshotter_for, stale_extractions
from dockyard.oci import Descriptor, Manifest, mediatypes, parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import GateThread, RegistryThread
from tests.integration.distribution.peers import start_distribution, stop
from tests.integration.distribution.test_cli import CODE


def _layer(seed: int, i: int, reps: int = 8000) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = hashlib.sha256(f"{seed}-{i}".encode()).digest() * (reps + i)
        info = tarfile.TarInfo(f"dir{i}/file{i}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def layered_image(store: ImageStore, tag: str, seed: int, count: int = 4,
                  bad_diff_id: int = -1, reps: int = 8000) -> Image:
    """An image of ``count`` distinct uncompressed layers (of about 32 * ``reps``
    bytes); ``bad_diff_id`` names a layer whose diff id in the config is wrong."""
    layers = [_layer(seed, i, reps) for i in range(count)]
    descs = tuple(Descriptor(mediatypes.OCI_LAYER, store.content.write(b), len(b))
                  for b in layers)
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]
    if bad_diff_id >= 0:
        diff_ids[bad_diff_id] = "sha256:" + "0" * 64
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cdesc = Descriptor(mediatypes.OCI_CONFIG, store.content.write(config), len(config))
    return store.register(Manifest(cdesc, descs), [tag])[0]


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[ImageStore, ImageStore]]:
    with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
            ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
        yield src, dst


def committed(store: ImageStore, image: Image) -> list[bool]:
    sn = snapshotter_for(store)
    try:
        return [has_committed(sn, str(c)) for c in image.chain_ids]
    finally:
        sn.close()


def test_layers_unpack_while_the_last_one_downloads(
        gated: GateThread, stores: tuple[ImageStore, ImageStore]) -> None:
    src, dst = stores
    image = layered_image(src, "local/app:v1", seed=1)
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    layers = image.manifest.layers
    release = threading.Event()
    gated.gate.held[str(layers[-1].digest)] = release
    events: list[tuple[int, str]] = []
    index = {d.digest: i for i, d in enumerate(layers)}

    def progress(desc: Descriptor, status: str, done: int) -> None:
        if desc.digest in index:
            events.append((index[desc.digest], status))
        # the last layer is let go only once the ones below it are applied: without
        # the overlap this pull would wait for it forever (the gate gives up: 503)
        if desc.digest == layers[-2].digest and status == "Pull complete":
            release.set()

    try:
        pulled = asyncio.run(pull(dst, ref, progress=progress))
    finally:
        release.set()
    assert pulled.id == image.id
    assert committed(dst, pulled) == [True] * 4
    for i in range(3):
        assert events.index((i, "Pull complete")) < events.index((3, "Download complete"))
    statuses = [s for i, s in events if i == 3]
    assert statuses[0] == "Pulling fs layer" and statuses[-1] == "Pull complete"
    assert statuses.index("Verifying Checksum") < statuses.index("Download complete") \
        < statuses.index("Extracting")
    # layers are applied bottom up
    completes = [i for i, s in events if s == "Pull complete"]
    assert completes == [0, 1, 2, 3]
    # a second pull finds everything: nothing to report, as docker shows it
    events.clear()
    assert asyncio.run(pull(dst, ref, progress=progress)).id == image.id
    assert events == []


def test_a_layer_is_applied_while_it_downloads(
        gated: GateThread, stores: tuple[ImageStore, ImageStore]) -> None:
    """The bottom layer's first half is in: its first file is already being written
    into the extraction snapshot before the second half is sent."""
    src, dst = stores
    image = layered_image(src, "local/app:v1", seed=9, reps=100_000)  # half: 1.6 MB
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    release = threading.Event()
    gated.gate.paused[str(image.manifest.layers[0].digest)] = release
    seen: list[str] = []

    def watch() -> None:
        deadline = time.monotonic() + 15
        while not seen and time.monotonic() < deadline:
            sn = snapshotter_for(dst)
            try:
                for info in sn.walk():
                    if info.name.startswith("extract-") and \
                            (sn.writable(info.name).path / "dir0" / "file0").exists():
                        seen.append(info.name)
            except DockyardError:
                pass  # the extraction ended between walk and writable
            finally:
                sn.close()
            time.sleep(0.02)
        release.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        pulled = asyncio.run(pull(dst, ref))
    finally:
        release.set()
        watcher.join()
    assert seen, "the bottom layer was not being applied while half of it was in"
    assert seen[0].endswith(str(image.chain_ids[0]))
    assert pulled.id == image.id and committed(dst, pulled) == [True] * 4
    assert stale_extractions(dst) == []


def test_a_layer_failing_verification_commits_no_snapshot(
        gated: GateThread, registry: RegistryThread,
        stores: tuple[ImageStore, ImageStore]) -> None:
    """The bytes a reader follows end only once the blob's digest checks out: a layer
    whose blob is wrong (but whose tar is well-formed) leaves no snapshot."""
    src, dst = stores
    image = layered_image(src, "local/app:v1", seed=10)
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    layer = image.manifest.layers[0].digest
    blob = registry.root / "blobs" / "sha256" / layer.hex
    data = bytearray(blob.read_bytes())
    data[600] ^= 0x01  # inside the first file's content: the tar still parses
    blob.write_bytes(bytes(data))
    with pytest.raises(Corrupt, match=f"filesystem layer verification failed for digest "
                                      f"{layer}"):
        asyncio.run(pull(dst, ref))
    assert committed(dst, image) == [False] * 4
    assert stale_extractions(dst) == []
    assert dst.list() == [] and dst.check().clean


def test_bad_diff_id_keeps_the_previous_image(
        gated: GateThread, stores: tuple[ImageStore, ImageStore]) -> None:
    src, dst = stores
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    good = layered_image(src, "local/good:v1", seed=2)
    asyncio.run(push(src, "local/good:v1", ref, auth=Auth("alice", "s3cret"),
                     compress=False))
    assert asyncio.run(pull(dst, ref)).id == good.id
    bad = layered_image(src, "local/bad:v1", seed=3, bad_diff_id=2)
    asyncio.run(push(src, "local/bad:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    with pytest.raises(Corrupt, match=r"diff id sha256:[0-9a-f]{64} does not match"):
        asyncio.run(pull(dst, ref))
    assert dst.resolve(str(ref)).id == good.id
    assert [i.id for i in dst.list()] == [good.id]
    assert committed(dst, bad)[2:] == [False, False]
    assert stale_extractions(dst) == []
    assert dst.check().clean
    dst.gc()
    assert committed(dst, bad) == [False] * 4  # the layers below it were collected
    assert committed(dst, good) == [True] * 4


@pytest.fixture(params=["dockyard", pytest.param("distribution", marks=pytest.mark.peer)])
def any_gated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GateThread]:
    """The token gate in front of our registry or of distribution 2.8."""
    if request.param == "dockyard":
        server = RegistryThread(tmp_path / "registry")
        upstream, close = server.url, server.close
    else:
        proc, host = start_distribution(tmp_path / "distribution")
        upstream, close = f"http://{host}", lambda: stop(proc)
    try:
        gate = GateThread(upstream, {"alice": "s3cret"})
        try:
            yield gate
        finally:
            gate.close()
    finally:
        close()


@pytest.mark.slow
def test_pull_killed_half_way(any_gated: GateThread, stores: tuple[ImageStore, ImageStore],
                              tmp_path: Path) -> None:
    gated = any_gated
    src, dst = stores
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    old = layered_image(src, "local/old:v1", seed=4)
    asyncio.run(push(src, "local/old:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    assert asyncio.run(pull(dst, ref)).id == old.id
    new = layered_image(src, "local/new:v1", seed=5)
    asyncio.run(push(src, "local/new:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    release = threading.Event()
    gated.gate.held[str(new.manifest.layers[-1].digest)] = release
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "--root", str(dst.roots.root), "--run-root",
         str(dst.roots.run_root), "pull", str(ref)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg")})
    try:
        assert proc.stdout is not None
        complete = 0
        deadline = time.monotonic() + 30
        while complete < 3 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "pull ended early"
            complete += line.endswith(": Pull complete\n")
        assert complete == 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    assert dst.resolve(str(ref)).id == old.id
    assert dst.check().clean
    assert committed(dst, new) == [True, True, True, False]
    # run again: the applied layers are kept, only the missing one is fetched
    before = gated.gate.counts["GET blob"]
    assert asyncio.run(pull(dst, ref)).id == new.id
    assert gated.gate.counts["GET blob"] - before == 1
    assert committed(dst, new) == [True] * 4
    assert committed(dst, old) == [True] * 4
