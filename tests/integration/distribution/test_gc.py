"""Registry garbage collection: unlinked old blobs go, linked or freshly re-pushed ones
stay, idle uploads expire; run while the server is serving."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from dockyard.distribution.server import collect
from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.test_spec import image_manifest, push_blob, put_manifest


def age_everything(root: Path, seconds: float) -> None:
    old = time.time() - seconds
    for p in (root / "blobs").rglob("*"):
        os.utime(p, (old, old))
    for p in (root / "uploads").rglob("*"):
        os.utime(p, (old, old))


def test_gc_keeps_linked_and_fresh(registry: RegistryThread) -> None:
    body = image_manifest(registry, "app")
    put_manifest(registry, "app", "v1", body)
    orphan = push_blob(registry, "tmp", b"orphan")
    again = push_blob(registry, "tmp", b"pushed again")
    young = push_blob(registry, "tmp", b"young")
    for d in (orphan, again, young):
        assert registry.call("DELETE", f"/v2/tmp/blobs/{d}").status == 202
    age_everything(registry.root, 7200)
    os.utime(registry.root / "blobs" / "sha256" / young.split(":")[1])
    # a push of an old unlinked blob refreshes and relinks it before gc looks
    assert push_blob(registry, "tmp", b"pushed again") == again
    report = collect(registry.root, grace=3600)
    assert report.deleted == [orphan]
    assert report.freed == len(b"orphan")
    assert registry.call("GET", "/v2/app/manifests/v1").body == body
    for layer in (b"layer", b"{}"):
        d = "sha256:" + hashlib.sha256(layer).hexdigest()
        assert registry.call("GET", f"/v2/app/blobs/{d}").status == 200
    assert registry.call("GET", f"/v2/tmp/blobs/{again}").body == b"pushed again"
    assert not (registry.root / "blobs" / "sha256" / orphan.split(":")[1]).exists()
    # and the orphan can be pushed once more
    assert push_blob(registry, "tmp", b"orphan") == orphan


def test_gc_expires_idle_uploads(registry: RegistryThread) -> None:
    idle = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    registry.call("PATCH", idle, b"abc")
    age_everything(registry.root, 10 * 86400)
    busy = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    report = collect(registry.root, grace=3600, upload_ttl=7 * 86400)
    assert report.uploads == 1
    r = registry.call("PATCH", idle, b"def")
    assert r.status == 404 and r.error_codes() == ["BLOB_UPLOAD_UNKNOWN"]
    assert registry.call("PATCH", busy, b"def").status == 202


def test_gc_cli_dry_run(registry: RegistryThread) -> None:
    orphan = push_blob(registry, "tmp", b"orphan")
    registry.call("DELETE", f"/v2/tmp/blobs/{orphan}")
    age_everything(registry.root, 7200)
    code = ("import sys; from dockyard.cli.registry import registry; "
            "registry(sys.argv[1:])")
    out = subprocess.run([sys.executable, "-c", code, "gc", "--root", str(registry.root),
                          "--dry-run"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == f"would delete: {orphan}"
    assert (registry.root / "blobs" / "sha256" / orphan.split(":")[1]).exists()
