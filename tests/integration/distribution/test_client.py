"""The registry client against our server: push an imported busybox image, pull it
into an empty store, and the bad cases (unreachable, unknown, corrupt layer)."""

from __future__ import annotations

import asyncio
import gzip
import io
import socket
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.distribution.client import pull, push
from dockyard.errors import Corrupt, NotFound, SystemFailure
from dockyard.images import Image, ImageStore, import_rootfs
from dockyard.oci import Digest, mediatypes, parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import RegistryThread


def _tar(rootfs: Path) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(rootfs, arcname=".")
    buf.seek(0)
    return buf


@pytest.fixture
def source(tmp_path: Path, busybox_rootfs: Path) -> Iterator[tuple[ImageStore, Image]]:
    (busybox_rootfs / "marker").write_text("pushed by dockyard\n")
    with ImageStore(Roots(tmp_path / "src", tmp_path / "src-run")) as store:
        yield store, import_rootfs(store, _tar(busybox_rootfs), "local/busybox:v1")


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[ImageStore]:
    with ImageStore(Roots(tmp_path / "dst", tmp_path / "dst-run")) as store:
        yield store


def pushed_layers(registry: RegistryThread, repo: str, tag: str) -> list[Digest]:
    doc = registry.call("GET", f"/v2/{repo}/manifests/{tag}").json()
    return [Digest.parse(d["digest"]) for d in doc["layers"]]


def test_push_without_compression(registry: RegistryThread,
                                  source: tuple[ImageStore, Image]) -> None:
    store, image = source
    asyncio.run(push(store, "local/busybox:v1",
                     parse_reference(f"127.0.0.1:{registry.port}/raw:v1"), compress=False))
    assert pushed_layers(registry, "raw", "v1") == [d.digest for d in image.manifest.layers]
    assert list((store.roots.tmp / "push").glob("*")) == []  # no scratch left behind


def round_trip(host: str, source: tuple[ImageStore, Image], dest: ImageStore) -> None:
    store, image = source
    ref = parse_reference(f"{host}/test/busybox:v1")
    assert store.get(image.id).repo_digests == ()
    digest = asyncio.run(push(store, "local/busybox:v1", ref)).digest
    # docker records the pushed manifest's digest under the name (RepoDigests)
    assert store.inspect("local/busybox:v1")["RepoDigests"] == [f"{host}/test/busybox@{digest}"]
    pulled = asyncio.run(pull(dest, ref))
    assert pulled.id == image.id
    # the uncompressed layer travelled gzipped (level 1), as docker pushes it
    assert [d.media_type for d in pulled.manifest.layers] == [mediatypes.OCI_LAYER_GZIP]
    assert dest.resolve(f"{host}/test/busybox:v1").id == image.id
    assert f"{ref.name}@{digest}" in pulled.repo_digests
    for mine, theirs in zip(image.manifest.layers, pulled.manifest.layers, strict=True):
        assert (gzip.decompress(dest.content.path(theirs.digest).read_bytes())
                == store.content.path(mine.digest).read_bytes())
    # by digest, and a second pull finds every blob present
    again = asyncio.run(pull(dest, parse_reference(f"{host}/test/busybox@{digest}")))
    assert again.id == image.id


def test_push_pull_our_registry(registry: RegistryThread, source: tuple[ImageStore, Image],
                                empty_store: ImageStore) -> None:
    round_trip(f"127.0.0.1:{registry.port}", source, empty_store)
    tags = registry.call("GET", "/v2/test/busybox/tags/list").json()
    assert tags["tags"] == ["v1"]


def test_push_again_skips_present_blobs(registry: RegistryThread,
                                        source: tuple[ImageStore, Image]) -> None:
    store, _ = source
    ref = parse_reference(f"127.0.0.1:{registry.port}/a:v1")
    asyncio.run(push(store, "local/busybox:v1", ref))
    blob = registry.root / "blobs" / "sha256" / pushed_layers(registry, "a", "v1")[0].hex
    before = blob.stat().st_mtime_ns
    asyncio.run(push(store, "local/busybox:v1", ref.with_tag("v2")))
    assert blob.stat().st_mtime_ns == before
    assert registry.call("GET", "/v2/a/tags/list").json()["tags"] == ["v1", "v2"]


def test_corrupt_layer_is_not_stored(registry: RegistryThread,
                                     source: tuple[ImageStore, Image],
                                     empty_store: ImageStore, busybox_rootfs: Path) -> None:
    store, _ = source
    ref = parse_reference(f"127.0.0.1:{registry.port}/bad:v1")
    asyncio.run(push(store, "local/busybox:v1", ref))
    first = asyncio.run(pull(empty_store, ref))
    (busybox_rootfs / "marker").write_text("second version\n")
    import_rootfs(store, _tar(busybox_rootfs), "local/busybox:v2")
    asyncio.run(push(store, "local/busybox:v2", ref))
    layer = pushed_layers(registry, "bad", "v1")[0]
    path = registry.root / "blobs" / "sha256" / layer.hex
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Corrupt, match=f"^filesystem layer verification failed for digest "
                                      f"{layer} "):
        asyncio.run(pull(empty_store, ref))
    assert not empty_store.content.exists(layer)
    assert [i.id for i in empty_store.list()] == [first.id]
    assert empty_store.resolve(str(ref)).id == first.id  # the previous image keeps the tag
    assert list(empty_store.content.ingest_dir.iterdir()) == []
    assert empty_store.check().clean


def test_unknown_tag_and_repository(registry: RegistryThread,
                                    empty_store: ImageStore) -> None:
    with pytest.raises(NotFound, match=rf"manifest for 127\.0\.0\.1:{registry.port}/nope:v9"):
        asyncio.run(pull(empty_store, parse_reference(f"127.0.0.1:{registry.port}/nope:v9")))


def test_unreachable_registry(empty_store: ImageStore) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SystemFailure, match=f"127.0.0.1:{port}"):
        asyncio.run(pull(empty_store, parse_reference(f"127.0.0.1:{port}/x:1")))


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1."""
    from tests.integration.distribution.peers import start_distribution, stop

    proc, host = start_distribution(tmp_path / "distribution")
    try:
        yield host
    finally:
        stop(proc)


@pytest.mark.peer
def test_push_pull_distribution(distribution: str, source: tuple[ImageStore, Image],
                                empty_store: ImageStore) -> None:
    round_trip(distribution, source, empty_store)


@pytest.mark.peer
def test_skopeo_reads_what_we_pushed_to_distribution(
        distribution: str, source: tuple[ImageStore, Image], tmp_path: Path) -> None:
    store, image = source
    asyncio.run(push(store, "local/busybox:v1", parse_reference(f"{distribution}/s:1")))
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--config",
                          f"docker://{distribution}/s:1"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert '"rootfs"' in out and image.config.diff_ids[0].hex in out


def test_mirror_stands_in_for_docker_hub(registry: RegistryThread,
                                         source: tuple[ImageStore, Image],
                                         empty_store: ImageStore) -> None:
    store, image = source
    asyncio.run(push(store, "local/busybox:v1",
                     parse_reference(f"127.0.0.1:{registry.port}/library/busybox:latest")))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    # the dead mirror is skipped; the Hub is never reached because the next one answers
    pulled = asyncio.run(pull(empty_store, parse_reference("busybox"),
                              mirrors=(dead, registry.url + "/")))
    assert pulled.id == image.id
    assert empty_store.resolve("busybox").id == image.id
    assert "docker.io/library/busybox:latest" in pulled.names


def test_tampered_manifest_keeps_previous_image(registry: RegistryThread,
                                                source: tuple[ImageStore, Image],
                                                empty_store: ImageStore,
                                                busybox_rootfs: Path) -> None:
    store, _ = source
    ref = parse_reference(f"127.0.0.1:{registry.port}/app:v1")
    asyncio.run(push(store, "local/busybox:v1", ref))
    first = asyncio.run(pull(empty_store, ref))
    (busybox_rootfs / "marker").write_text("second version\n")
    import_rootfs(store, _tar(busybox_rootfs), "local/busybox:v2")
    digest = asyncio.run(push(store, "local/busybox:v2", ref)).digest
    stored = registry.root / "blobs" / digest.algorithm / digest.hex
    stored.write_bytes(stored.read_bytes().replace(b'"schemaVersion"', b' "schemaVersion"'))
    with pytest.raises(Corrupt, match=f"^manifest verification failed for digest {digest} "
                                      r"\(.*app:v1: got sha256:"):
        asyncio.run(pull(empty_store, ref))
    assert empty_store.resolve(str(ref)).id == first.id
    assert [i.id for i in empty_store.list()] == [first.id]


def test_list_tags_follows_pages_and_all_tags(registry: RegistryThread,
                                              source: tuple[ImageStore, Image],
                                              tmp_path: Path) -> None:
    from dockyard.distribution import list_tags

    store, _ = source
    repo = f"127.0.0.1:{registry.port}/many"
    for tag in ("a", "b", "c", "d", "e"):
        asyncio.run(push(store, "local/busybox:v1", parse_reference(f"{repo}:{tag}")))
    ref = parse_reference(repo, default_tag="")
    assert asyncio.run(list_tags(ref, page=2)) == ["a", "b", "c", "d", "e"]
    assert asyncio.run(list_tags(ref)) == ["a", "b", "c", "d", "e"]
    code = ("import sys; from dockyard.cli.main import main; sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, "--root", str(tmp_path / "cli"),
                          "--run-root", str(tmp_path / "cli-run"), "pull", "-a", "-q", repo],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [f"{repo}:{t}" for t in "abcde"]
    bad = subprocess.run([sys.executable, "-c", code, "--root", str(tmp_path / "cli"),
                          "pull", "-a", f"{repo}:a"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "tag can't be used with --all-tags" in bad.stderr


def test_unreachable_registry_message(tmp_path: Path) -> None:
    """docker's words: ``Get "URL": dial tcp HOST:PORT: connect: connection refused``."""
    from tests.integration.distribution.test_cli import dockyard

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = dockyard(tmp_path, "pull", f"127.0.0.1:{port}/x:1")
    assert out.returncode == 1
    assert out.stderr == (f'Error: Get "http://127.0.0.1:{port}/v2/x/manifests/1": dial tcp '
                          f"127.0.0.1:{port}: connect: connection refused\n")
    assert not (tmp_path / "store" / "content" / "blobs" / "sha256").exists() or not any(
        (tmp_path / "store" / "content" / "blobs" / "sha256").iterdir())
