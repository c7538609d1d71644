"""Push and pull of a ~106 MB image (4 gzip layers) through local registries.

    .venv/bin/python benchmarks/registry.py [--size-mib 101] [--layers 4] [--runs 3]

In one run, interleaved, each on a fresh registry root for pushes (so nothing is
skipped or mounted):

* skopeo through ``dockyard registry serve`` beside skopeo through distribution 2.8
  (Debian's ``docker-registry``): push (oci: layout → registry) and pull (→ oci:);
* the dockyard client (push from / pull into an ImageStore) against distribution,
  beside skopeo against the same distribution.

Prints medians in seconds and MB/s, and ratios (>1 means dockyard is faster). The
machine is shared and noisy: only the ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.distribution.layout import OCI_MANIFEST
from tests.integration.distribution.peers import free_port, start_distribution, stop

from dockyard.distribution.client import pull, push
from dockyard.images import ImageStore
from dockyard.oci import parse_reference
from dockyard.settings import Roots


def make_layout(layout: Path, size: int, layers: int) -> int:
    """An OCI layout of ``layers`` gzip layers of random data; returns the bytes."""
    import hashlib
    import json

    def blob(data: bytes) -> dict[str, object]:
        d = hashlib.sha256(data).hexdigest()
        (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (layout / "blobs" / "sha256" / d).write_bytes(data)
        return {"digest": "sha256:" + d, "size": len(data)}

    descs, diff_ids, total = [], [], 0
    for i in range(layers):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo(f"data{i}.bin")
            info.size = size // layers
            tar.addfile(info, io.BytesIO(os.urandom(info.size)))
        diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        gz = gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)
        total += len(gz)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(gz)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      **blob(config)}, "layers": descs}).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, **blob(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return total


class Dockyard:
    """``dockyard registry serve`` in a child process."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        code = ("import sys; from dockyard.cli.registry import registry; "
                "registry(sys.argv[1:])")
        self.proc = subprocess.Popen([sys.executable, "-c", code, "serve", "--addr",
                                      f"127.0.0.1:{self.port}", "--root", str(root)],
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("dockyard registry did not start") from None
                time.sleep(0.05)
        self.host = f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop(self.proc)


def skopeo(src: str, dst: str) -> None:
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    "--dest-tls-verify=false", src, dst], check=True,
                   stdout=subprocess.DEVNULL)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=101)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-regbench-"))
    results: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(seconds)

    try:
        src = work / "layout"
        total = make_layout(src, args.size_mib << 20, args.layers)
        print(f"image: {args.layers} gzip layers, {total / 1e6:.1f} MB", flush=True)
        for run in range(args.runs):
            base = work / f"run{run}"
            out = base / "out"
            # distribution A: skopeo push, skopeo pull, dockyard pull
            proc, host = start_distribution(base / "dist-a")
            roots = Roots(base / "store", base / "store-run")
            pref = parse_reference(f"{host}/bench:v1")
            try:
                record("skopeo push -> distribution", timed(partial(
                    skopeo, f"oci:{src}:v1", f"docker://{host}/bench:v1")))
                record("skopeo pull <- distribution", timed(partial(
                    skopeo, f"docker://{host}/bench:v1", f"oci:{out}-a:v1")))
                with ImageStore(roots) as store:
                    record("dockyard pull <- distribution", timed(partial(
                        asyncio.run, pull(store, pref))))
            finally:
                stop(proc)
            # distribution B, fresh: dockyard push of the pulled image
            proc, host_b = start_distribution(base / "dist-b")
            try:
                with ImageStore(roots) as store:
                    record("dockyard push -> distribution", timed(partial(
                        asyncio.run, push(store, str(pref),
                                          parse_reference(f"{host_b}/bench:v1")))))
            finally:
                stop(proc)
            # dockyard registry serve, fresh: skopeo push and pull
            ours = Dockyard(base / "dockyard")
            try:
                record("skopeo push -> dockyard", timed(partial(
                    skopeo, f"oci:{src}:v1", f"docker://{ours.host}/bench:v1")))
                record("skopeo pull <- dockyard", timed(partial(
                    skopeo, f"docker://{ours.host}/bench:v1", f"oci:{out}-d:v1")))
            finally:
                ours.stop()
            shutil.rmtree(base, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    for name, secs in med.items():
        print(f"{name:42} {secs * 1000:8.0f} ms  {total / secs / 1e6:7.1f} MB/s")

    def ratio(peer: str, ours: str) -> None:
        print(f"{ours} vs {peer}: {med[peer] / med[ours]:.2f}x")

    print("ratios (>1: dockyard faster)")
    ratio("skopeo push -> distribution", "skopeo push -> dockyard")
    ratio("skopeo pull <- distribution", "skopeo pull <- dockyard")
    ratio("skopeo push -> distribution", "dockyard push -> distribution")
    ratio("skopeo pull <- distribution", "dockyard pull <- distribution")


if __name__ == "__main__":
    main()
