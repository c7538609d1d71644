"""Push and pull of a ~106 MB image (4 gzip layers) through local registries.

    .venv/bin/python benchmarks/registry.py [--size-mib 101] [--layers 4] [--runs 3]
                                            [--no-docker]

In one run, interleaved, each on a fresh registry root for pushes (so nothing is
skipped or mounted) and a fresh store for pulls:

* skopeo through ``dockyard registry serve`` beside skopeo through distribution 2.8
  (Debian's ``docker-registry``): push (oci: layout → registry) and pull (→ oci:);
* the dockyard client (push from / pull into an ImageStore) against distribution,
  beside skopeo against the same distribution: the pull without unpacking (skopeo
  does not unpack either);
* pull with unpacking: every layer applied after the downloads (docker's way,
  moby#21814) beside each layer applied as it arrives (ours), and ``docker pull``
  through a private dockerd (overlay2) from the same registry, in a rotating order,
  each after a ``sync``; the client's CPU time of the first two is printed too;
* push of an image of uncompressed layers (half random, half text), compressed on
  the way: dockyard gzip / zstd beside skopeo's ``--dest-compress-format`` gzip / zstd.

Prints medians in seconds and MB/s, and ratios (>1 means dockyard is faster). The
machine is shared and noisy: only the ratios within one run mean anything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from tests.support.warm import stop_engines_under as stop_warm_engines

from dockyard.distribution.client import pull, push
from dockyard.images import ImageStore
from dockyard.oci import Manifest, parse_document, parse_reference
from dockyard.settings import Roots

_TEXT = b"".join(b"line %d of a layer that compresses like text and logs do\n" % i
                 for i in range(20000))


def _data(size: int, plain: bool) -> bytes:
    if not plain:
        return os.urandom(size)
    half = size // 2
    return os.urandom(half) + (_TEXT * (size // len(_TEXT) + 1))[: size - half]


def make_layout(layout: Path, size: int, layers: int, plain: bool = False) -> int:
    """An OCI layout of ``layers`` gzip layers of random data (``plain``: uncompressed
    layers, half random, half text); returns the bytes of the layers."""
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
            tar.addfile(info, io.BytesIO(_data(info.size, plain)))
        diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        if plain:
            total += len(raw.getvalue())
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                          **blob(raw.getvalue())})
            continue
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


def store_layout(store: ImageStore, layout: Path, tag: str) -> None:
    """Put the image of an OCI layout made above into ``store`` under ``tag``."""
    import json

    def read(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    top = json.loads((layout / "index.json").read_text())["manifests"][0]
    doc = parse_document(read(top["digest"]), "manifest")
    assert isinstance(doc, Manifest)
    for d in (doc.config, *doc.layers):
        store.content.write(read(str(d.digest)))
    store.register(doc, [tag])


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


def skopeo(src: str, dst: str, *flags: str) -> None:
    subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    "--dest-tls-verify=false", *flags, src, dst], check=True,
                   stdout=subprocess.DEVNULL)


def pull_then_unpack(store: ImageStore, ref: Any) -> None:
    """Download every layer, then apply them one by one (docker's order)."""
    image = asyncio.run(pull(store, ref, unpack=False))
    store.unpack(image)


CPU: dict[str, list[float]] = {}  # CPU seconds of this process, for in-process runs


def timed(fn: Callable[[], Any], cpu: str = "") -> float:
    """Wall seconds of ``fn``; with ``cpu``, also record this process's CPU seconds
    (threads included) under that name: steadier than wall time on a busy machine."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    if cpu:
        CPU.setdefault(cpu, []).append(after.ru_utime - before.ru_utime
                                       + after.ru_stime - before.ru_stime)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=101)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-docker", action="store_true", help="Skip docker pull.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dockyard-regbench-"))
    results: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}

    def record(name: str, seconds: float, size: int) -> None:
        results.setdefault(name, []).append(seconds)
        sizes[name] = size

    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, True)
        stack.callback(stop_warm_engines, work)  # `dockyard registry serve` starts one
        src, plain = work / "layout", work / "plain"
        total = make_layout(src, args.size_mib << 20, args.layers)
        raw = make_layout(plain, args.size_mib << 20, args.layers, plain=True)
        print(f"image: {args.layers} gzip layers, {total / 1e6:.1f} MB; uncompressed "
              f"image: {raw / 1e6:.1f} MB", flush=True)
        daemon = None
        if not args.no_docker and shutil.which("dockerd"):
            from tests.support.dockerd import start_dockerd, stop_dockerd

            parent = f"dockyard-regbench-{os.getpid()}"
            daemon = start_dockerd(work / "docker", parent)
            stack.callback(stop_dockerd, daemon, parent)
        plain_roots = Roots(work / "plain-store", work / "plain-store-run")
        with ImageStore(plain_roots) as store:
            store_layout(store, plain, "local/plain:v1")
        for run in range(args.runs):
            base = work / f"run{run}"
            out = base / "out"
            # distribution A: skopeo push, skopeo pull, dockyard pulls, docker pull
            proc, host = start_distribution(base / "dist-a")
            pref = parse_reference(f"{host}/bench:v1")
            try:
                record("skopeo push -> distribution", timed(partial(
                    skopeo, f"oci:{src}:v1", f"docker://{host}/bench:v1")), total)
                record("skopeo pull <- distribution", timed(partial(
                    skopeo, f"docker://{host}/bench:v1", f"oci:{out}-a:v1")), total)
                with ImageStore(Roots(base / "store", base / "store-run")) as store:
                    record("dockyard pull (no unpack) <- distribution", timed(partial(
                        asyncio.run, pull(store, pref, unpack=False))), total)
                # the three pulls that unpack, in a rotating order, each after a sync
                # (so none pays for the writeback of the one before)
                unpacking = ["after", "arrive", "docker"]
                for which in unpacking[run % 3:] + unpacking[: run % 3]:
                    os.sync()
                    if which == "after":
                        with ImageStore(Roots(base / "seq", base / "seq-run")) as store:
                            record("pull, then unpack (docker's order)", timed(partial(
                                pull_then_unpack, store, pref), cpu="after"), total)
                    elif which == "arrive":
                        with ImageStore(Roots(base / "ovl", base / "ovl-run")) as store:
                            record("dockyard pull (unpack as layers arrive)", timed(partial(
                                asyncio.run, pull(store, pref)), cpu="arrive"), total)
                    elif daemon is not None:
                        record("docker pull <- distribution", timed(partial(
                            daemon.docker, "pull", "-q", str(pref))), total)
                        daemon.docker("rmi", str(pref))
            finally:
                stop(proc)
            # distribution B, fresh: dockyard push of the pulled image (gzip layers
            # sent as they are)
            proc, host_b = start_distribution(base / "dist-b")
            try:
                with ImageStore(Roots(base / "store", base / "store-run")) as store:
                    record("dockyard push -> distribution", timed(partial(
                        asyncio.run, push(store, str(pref),
                                          parse_reference(f"{host_b}/bench:v1")))), total)
            finally:
                stop(proc)
            # uncompressed layers gzipped / zstd-compressed on the way, a fresh
            # distribution for each format (so no blob of the other one is reused)
            for fmt in ("gzip", "zstd"):
                proc, host_c = start_distribution(base / f"dist-{fmt}")
                try:
                    record(f"skopeo push, {fmt} on the way", timed(partial(
                        skopeo, f"oci:{plain}:v1", f"docker://{host_c}/sk:v1",
                        "--dest-compress", "--dest-compress-format", fmt)), raw)
                    with ImageStore(plain_roots) as store:
                        record(f"dockyard push, {fmt} on the way", timed(partial(
                            asyncio.run, push(store, "local/plain:v1", parse_reference(
                                f"{host_c}/dy:v1"), compression=fmt))), raw)
                finally:
                    stop(proc)
            # dockyard registry serve, fresh: skopeo push and pull
            ours = Dockyard(base / "dockyard")
            try:
                record("skopeo push -> dockyard", timed(partial(
                    skopeo, f"oci:{src}:v1", f"docker://{ours.host}/bench:v1")), total)
                record("skopeo pull <- dockyard", timed(partial(
                    skopeo, f"docker://{ours.host}/bench:v1", f"oci:{out}-d:v1")), total)
            finally:
                ours.stop()
            shutil.rmtree(base, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    for name, secs in med.items():
        print(f"{name:44} {secs * 1000:8.0f} ms  {sizes[name] / secs / 1e6:7.1f} MB/s")

    def ratio(peer: str, ours: str) -> None:
        if peer in med and ours in med:
            print(f"{ours} vs {peer}: {med[peer] / med[ours]:.2f}x")

    if CPU:
        print("client CPU (median): unpack after the downloads "
              f"{statistics.median(CPU['after']) * 1000:.0f} ms, as layers arrive "
              f"{statistics.median(CPU['arrive']) * 1000:.0f} ms")
    print("ratios (>1: dockyard faster)")
    ratio("skopeo push -> distribution", "skopeo push -> dockyard")
    ratio("skopeo pull <- distribution", "skopeo pull <- dockyard")
    ratio("skopeo push -> distribution", "dockyard push -> distribution")
    ratio("skopeo pull <- distribution", "dockyard pull (no unpack) <- distribution")
    ratio("pull, then unpack (docker's order)", "dockyard pull (unpack as layers arrive)")
    ratio("docker pull <- distribution", "dockyard pull (unpack as layers arrive)")
    for fmt in ("gzip", "zstd"):
        ratio(f"skopeo push, {fmt} on the way", f"dockyard push, {fmt} on the way")


if __name__ == "__main__":
    main()
