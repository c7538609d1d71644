"""Real clients against ``dockyard registry serve``: skopeo copies an OCI layout in and
back out, and a docker schema2 conversion on the way in; the bytes survive."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.layout import make_layout

pytestmark = pytest.mark.peer


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True,
                          text=True, timeout=120, check=True)


def test_skopeo_round_trip(registry: RegistryThread, busybox_rootfs: Path,
                           tmp_path: Path) -> None:
    manifest = make_layout(busybox_rootfs, tmp_path / "src", "v1")
    target = f"docker://127.0.0.1:{registry.port}/library/busybox:v1"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:v1", target)
    stored = registry.call("GET", "/v2/library/busybox/manifests/v1")
    assert stored.body == manifest
    assert stored.headers["Docker-Content-Digest"] == (
        "sha256:" + hashlib.sha256(manifest).hexdigest())
    skopeo("copy", "--src-tls-verify=false", target, f"oci:{tmp_path / 'back'}:v1")
    index = json.loads((tmp_path / "back" / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    back = (tmp_path / "back" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    assert back == manifest
    for layer in json.loads(manifest)["layers"]:
        hexd = layer["digest"].split(":")[1]
        assert ((tmp_path / "back/blobs/sha256" / hexd).read_bytes()
                == (tmp_path / "src/blobs/sha256" / hexd).read_bytes())
    out = skopeo("inspect", "--tls-verify=false", target).stdout
    assert json.loads(out)["Digest"] == digest
    tags = skopeo("list-tags", "--tls-verify=false",
                  f"docker://127.0.0.1:{registry.port}/library/busybox").stdout
    assert json.loads(tags)["Tags"] == ["v1"]


def test_skopeo_docker_schema2_and_delete(registry: RegistryThread, busybox_rootfs: Path,
                                          tmp_path: Path) -> None:
    make_layout(busybox_rootfs, tmp_path / "src", "v1")
    target = f"docker://127.0.0.1:{registry.port}/app:d"
    skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2",
           f"oci:{tmp_path / 'src'}:v1", target)
    got = registry.call("GET", "/v2/app/manifests/d")
    assert got.headers["Content-Type"] == (
        "application/vnd.docker.distribution.manifest.v2+json")
    # a second copy to another repository mounts the blobs instead of uploading them
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", target,
           f"docker://127.0.0.1:{registry.port}/other:d")
    assert registry.call("GET", "/v2/other/manifests/d").body == got.body
    skopeo("delete", "--tls-verify=false", target.replace(":d", "@" + got.headers[
        "Docker-Content-Digest"]))
    assert registry.call("GET", "/v2/app/manifests/d").status == 404
    assert registry.call("GET", "/v2/other/manifests/d").status == 200
