"""Pulling from an image index (manifest list) picks the platform asked for."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from dockyard.distribution import pull
from dockyard.errors import NotFound
from dockyard.images import ImageStore
from dockyard.oci import Platform, parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.test_spec import push_blob, put_manifest
from tests.integration.distribution.test_token import _layer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def platform_manifest(reg: RegistryThread, arch: str, variant: str = "") -> dict[str, object]:
    layer = _layer(len(arch))
    cfg = {"architecture": arch, "os": "linux",
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(
               layer).hexdigest()]}}
    if variant:
        cfg["variant"] = variant
    config = json.dumps(cfg).encode()
    body = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": push_blob(reg, "multi", config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": push_blob(reg, "multi", layer), "size": len(layer)}],
    }).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    assert put_manifest(reg, "multi", digest, body).status == 201
    plat: dict[str, str] = {"architecture": arch, "os": "linux"}
    if variant:
        plat["variant"] = variant
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
            "platform": plat}


@pytest.mark.parametrize("index_type", ["application/vnd.oci.image.index.v1+json",
                                        "application/vnd.docker.distribution.manifest."
                                        "list.v2+json"])
def test_platform_selection(registry: RegistryThread, tmp_path: Path,
                            index_type: str) -> None:
    entries = [platform_manifest(registry, "amd64"),
               platform_manifest(registry, "arm64", "v8"),
               platform_manifest(registry, "s390x")]
    if "docker" in index_type:
        for e in entries:
            e["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    index = json.dumps({"schemaVersion": 2, "mediaType": index_type,
                        "manifests": entries}).encode()
    if "docker" in index_type:  # docker lists name their children with docker types,
        # so the children must be stored under that type too: re-put them as such
        for e in entries:
            body = registry.call("GET", f"/v2/multi/manifests/{e['digest']}").body
            doc = json.loads(body)
            doc["mediaType"] = e["mediaType"]
            doc["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
            new = json.dumps(doc).encode()
            e["digest"] = "sha256:" + hashlib.sha256(new).hexdigest()
            e["size"] = len(new)
            put_manifest(registry, "multi", str(e["digest"]), new, str(e["mediaType"]))
        index = json.dumps({"schemaVersion": 2, "mediaType": index_type,
                            "manifests": entries}).encode()
    assert put_manifest(registry, "multi", "all", index, index_type).status == 201
    ref = parse_reference(f"127.0.0.1:{registry.port}/multi:all")
    with ImageStore(Roots(tmp_path / "s", tmp_path / "s-run")) as store:
        arm = asyncio.run(pull(store, ref, platform=Platform.parse("linux/arm64")))
        assert arm.config.architecture == "arm64"
        # docker's RepoDigests name the index, which `pull name@digest` finds again
        index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
        assert arm.repo_digests == (f"{ref.name}@{index_digest}",)
        s390 = asyncio.run(pull(store, ref, platform=Platform.parse("linux/s390x")))
        assert s390.config.architecture == "s390x"
        with pytest.raises(NotFound, match="no matching manifest for linux/riscv64"):
            asyncio.run(pull(store, ref, platform=Platform.parse("linux/riscv64")))


def test_cli_platform(registry: RegistryThread, tmp_path: Path) -> None:
    from tests.integration.distribution.test_cli import dockyard

    entries = [platform_manifest(registry, "amd64"), platform_manifest(registry, "s390x")]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": entries}).encode()
    assert put_manifest(registry, "multi", "v1", index, OCI_INDEX).status == 201
    name = f"127.0.0.1:{registry.port}/multi:v1"
    out = dockyard(tmp_path, "pull", "--platform", "linux/s390x", name)
    assert out.returncode == 0, out.stderr
    index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
    assert f"Digest: {index_digest}" in out.stdout.splitlines()
    info = json.loads(dockyard(tmp_path, "image", "inspect", name).stdout)[0]
    assert info["Architecture"] == "s390x"
    assert info["RepoDigests"] == [f"127.0.0.1:{registry.port}/multi@{index_digest}"]
    missing = dockyard(tmp_path, "pull", "--platform", "linux/riscv64", name)
    assert missing.returncode == 1
    assert "no matching manifest for linux/riscv64 in the manifest list entries" \
        in missing.stderr
    bad = dockyard(tmp_path, "pull", "--platform", "linux/arm/v7/extra", name)
    assert bad.returncode != 0 and "linux/arm/v7/extra" in bad.stderr
    # the image pulled first is still what the name gives
    info = json.loads(dockyard(tmp_path, "image", "inspect", name).stdout)[0]
    assert info["Architecture"] == "s390x"
