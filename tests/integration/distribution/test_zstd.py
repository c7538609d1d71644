"""zstd layers: pushed with ``compression="zstd"`` (``--compression-format zstd``, podman's
flag) as ``application/vnd.oci.image.layer.v1.tar+zstd``, pulled and unpacked by us, and
read by podman (a real peer) from distribution 2.8."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.distribution.client import pull, push
from dockyard.errors import InvalidArgument
from dockyard.images import Image, ImageStore
from dockyard.images.unpack import snapshotter_for
from dockyard.oci import mediatypes, parse_reference
from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.test_cli import dockyard
from tests.integration.distribution.test_client import distribution, empty_store, source

__all__ = ["distribution", "empty_store", "source"]  # fixtures shared with test_client

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def test_zstd_round_trip(registry: RegistryThread, source: tuple[ImageStore, Image],
                         empty_store: ImageStore) -> None:
    store, image = source
    ref = parse_reference(f"127.0.0.1:{registry.port}/z:v1")
    digest = asyncio.run(push(store, "local/busybox:v1", ref, compression="zstd")).digest
    doc = registry.call("GET", f"/v2/z/manifests/{digest}").json()
    assert [d["mediaType"] for d in doc["layers"]] == [mediatypes.OCI_LAYER_ZSTD]
    blob = registry.root / "blobs" / "sha256" / doc["layers"][0]["digest"].split(":")[1]
    assert blob.read_bytes()[:4] == ZSTD_MAGIC
    assert blob.stat().st_size < store.content.path(image.manifest.layers[0].digest
                                                    ).stat().st_size
    assert list((store.roots.tmp / "push").glob("*")) == []
    pulled = asyncio.run(pull(empty_store, ref))
    assert pulled.id == image.id  # same config: the diff ids of the uncompressed tars
    assert [d.media_type for d in pulled.manifest.layers] == [mediatypes.OCI_LAYER_ZSTD]
    sn = snapshotter_for(empty_store)
    try:
        (mount,) = sn.mounts(str(pulled.chain_ids[-1]))  # one layer: its own directory
    finally:
        sn.close()
    assert mount.type == "bind"
    assert (Path(mount.source) / "marker").read_text() == "pushed by dockyard\n"
    # deterministic: a second push of the same image finds every blob present
    assert asyncio.run(push(store, "local/busybox:v1", ref.with_tag("v2"),
                            compression="zstd")).digest == digest


def test_cli_compression_format(tmp_path: Path, registry: RegistryThread,
                                source: tuple[ImageStore, Image]) -> None:
    target = f"127.0.0.1:{registry.port}/cli:v1"
    assert dockyard(tmp_path, "tag", "local/busybox:v1", target, root="src").returncode == 0
    bad = dockyard(tmp_path, "push", "--compression-format", "lz4", target, root="src")
    assert bad.returncode != 0 and "'lz4' is not one of 'gzip', 'zstd'" in bad.stderr
    assert registry.call("GET", "/v2/cli/tags/list").status == 404  # nothing sent
    ok = dockyard(tmp_path, "push", "--compression-format", "zstd", target, root="src")
    assert ok.returncode == 0, ok.stderr
    doc = registry.call("GET", "/v2/cli/manifests/v1").json()
    assert [d["mediaType"] for d in doc["layers"]] == [mediatypes.OCI_LAYER_ZSTD]
    with pytest.raises(InvalidArgument, match="unsupported compression format 'xz'"):
        asyncio.run(push(source[0], "local/busybox:v1", parse_reference(target),
                         compression="xz"))


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[list[str]]:
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    import tempfile

    run_root = tempfile.mkdtemp(prefix="dypm-")  # podman wants a runroot under 50 chars
    cmd = ["podman", "--root", str(tmp_path / "podman"), "--runroot", run_root,
           "--storage-driver", "vfs"]
    try:
        yield cmd
    finally:  # vfs keeps plain directories: nothing mounted to undo
        subprocess.run([*cmd, "system", "reset", "--force"], capture_output=True, timeout=60)
        shutil.rmtree(run_root, ignore_errors=True)


@pytest.mark.peer
def test_podman_pulls_our_zstd_push(distribution: str, source: tuple[ImageStore, Image],
                                    podman: list[str], tmp_path: Path) -> None:
    store, image = source
    name = f"{distribution}/zz:v1"
    asyncio.run(push(store, "local/busybox:v1", parse_reference(name), compression="zstd"))
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                          f"docker://{name}"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert [d["mediaType"] for d in json.loads(raw)["layers"]] == [mediatypes.OCI_LAYER_ZSTD]
    out = subprocess.run([*podman, "pull", "--tls-verify=false", name], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ids = subprocess.run([*podman, "images", "--no-trunc", "--format", "{{.ID}}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert image.id.hex in ids  # podman took the layer's diff id as the config says
