"""The client through a Docker-Hub-style Bearer token service on loopback: anonymous
pull, credentialed push, refused push, login; and a pull cut half-way that, resumed,
fetches only the layer that had not finished."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.distribution import Auth, check_login, pull, push
from dockyard.errors import Corrupt, Forbidden, SystemFailure
from dockyard.images import Image, ImageStore
from dockyard.oci import Descriptor, Manifest, mediatypes, parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import GateThread


def _layer(i: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = bytes([i]) * (300_000 + i)
        info = tarfile.TarInfo(f"file{i}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def four_layer_image(store: ImageStore, tag: str) -> Image:
    layers = [_layer(i) for i in range(4)]
    descs = tuple(Descriptor(mediatypes.OCI_LAYER, store.content.write(b), len(b))
                  for b in layers)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers",
        "diff_ids": ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]}}).encode()
    cdesc = Descriptor(mediatypes.OCI_CONFIG, store.content.write(config), len(config))
    return store.register(Manifest(cdesc, descs), [tag])[0]


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[ImageStore, ImageStore]]:
    with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
            ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
        yield src, dst


def test_bearer_push_and_anonymous_pull(gated: GateThread,
                                        stores: tuple[ImageStore, ImageStore]) -> None:
    src, dst = stores
    image = four_layer_image(src, "local/app:v1")
    ref = parse_reference(f"127.0.0.1:{gated.port}/team/app:v1")
    asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    # one token for the push scope, reused by all 11 requests of the parallel push
    assert gated.gate.counts["token:alice"] == 1
    assert gated.gate.counts["PUT upload"] == 5
    pulled = asyncio.run(pull(dst, ref))
    assert pulled.id == image.id
    assert gated.gate.counts["GET blob"] == 5
    assert gated.gate.counts["token:anonymous"] == 1
    with pytest.raises(Forbidden, match="authentication required"):
        asyncio.run(push(src, "local/app:v1", ref.with_tag("v2")))  # anonymous: pull only


def test_wrong_password(gated: GateThread, stores: tuple[ImageStore, ImageStore]) -> None:
    src, _ = stores
    four_layer_image(src, "local/app:v1")
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    with pytest.raises(Forbidden, match="token request refused"):
        asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "nope")))


def test_login(gated: GateThread) -> None:
    host = f"127.0.0.1:{gated.port}"
    asyncio.run(check_login(host, "alice", "s3cret"))
    with pytest.raises(Forbidden, match=host):
        asyncio.run(check_login(host, "alice", "bad"))


def test_cut_pull_resumes_without_refetching(gated: GateThread,
                                             stores: tuple[ImageStore, ImageStore]) -> None:
    src, dst = stores
    image = four_layer_image(src, "local/app:v1")
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    cut = str(image.manifest.layers[2].digest)
    gated.gate.cut_blobs.add(cut)
    with pytest.raises(SystemFailure, match=f"blob {cut}: download interrupted"):
        asyncio.run(pull(dst, ref, parallel=1))
    assert dst.list() == []
    assert not dst.content.exists(image.manifest.layers[2].digest)
    assert list(dst.content.ingest_dir.iterdir()) == []
    # the bytes that did arrive wait outside the content store for the next pull
    partial = dst.roots.tmp / "partial-blobs" / f"sha256-{cut.split(':')[1]}"
    got = partial.stat().st_size
    assert 0 < got < image.manifest.layers[2].size
    before = gated.gate.counts["GET blob"]
    done = {d.digest for d in (image.manifest.config, *image.manifest.layers)
            if dst.content.exists(d.digest)}
    assert done  # what finished before the cut is kept
    pulled = asyncio.run(pull(dst, ref))
    assert pulled.id == image.id
    assert gated.gate.counts["GET blob"] - before == 5 - len(done)
    assert gated.gate.ranges == [(cut, f"bytes={got}-")]  # only the rest was fetched
    assert not partial.exists()
    assert dst.content.path(image.manifest.layers[2].digest).read_bytes() == \
        src.content.path(image.manifest.layers[2].digest).read_bytes()


def test_partial_that_is_wrong_is_dropped(gated: GateThread,
                                          stores: tuple[ImageStore, ImageStore]) -> None:
    src, dst = stores
    image = four_layer_image(src, "local/app:v1")
    ref = parse_reference(f"127.0.0.1:{gated.port}/app:v1")
    asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret"), compress=False))
    layer = image.manifest.layers[1].digest
    partial = dst.roots.tmp / "partial-blobs" / f"sha256-{layer.hex}"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"garbage that is not the start of the layer")
    with pytest.raises(Corrupt, match=f"^filesystem layer verification failed for digest {layer} "
                       f"\\(blob {layer}: digest mismatch"):
        asyncio.run(pull(dst, ref))
    assert not partial.exists() and dst.list() == []
    assert asyncio.run(pull(dst, ref)).id == image.id  # and the next pull starts afresh


def test_push_mounts_from_the_repository_it_came_from(
        gated: GateThread, stores: tuple[ImageStore, ImageStore]) -> None:
    src, dst = stores
    image = four_layer_image(src, "local/app:v1")
    ref = parse_reference(f"127.0.0.1:{gated.port}/team/app:v1")
    alice = Auth("alice", "s3cret")
    asyncio.run(push(src, "local/app:v1", ref, auth=alice, compress=False))
    pulled = asyncio.run(pull(dst, ref))
    assert pulled.id == image.id
    puts, posts = gated.gate.counts["PUT upload"], gated.gate.counts["POST uploads"]
    other = parse_reference(f"127.0.0.1:{gated.port}/other/app:v1")
    asyncio.run(push(dst, str(ref), other, auth=Auth("alice", "s3cret"), compress=False))
    assert gated.gate.counts["PUT upload"] == puts  # every blob mounted, none sent
    assert gated.gate.counts["POST uploads"] - posts == 5  # one mount request per blob
    assert asyncio.run(pull(src, other)).id == image.id
