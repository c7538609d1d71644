"""Push: blobs the registry lacks (HEAD first), in parallel, each mounted from another
repository of the registry the image was pulled from or sent as one streamed PUT after
a POST; then the manifest under the tag."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from dockyard.distribution.client.compress import gzip_layer
from dockyard.distribution.client.driver import Session, raise_for, resolve_base
from dockyard.distribution.client.protocol import (
    Auth,
    Request,
    blob_url,
    endpoint,
    manifest_url,
    repo_scope,
    upload_url,
)
from dockyard.distribution.client.pull import run_all
from dockyard.errors import InvalidArgument
from dockyard.oci import Descriptor, Digest, Reference

if TYPE_CHECKING:
    from dockyard.images import Image, ImageStore

__all__ = ["push"]


async def _push_blob(session: Session, path: Path, base: str, ref: Reference,
                     desc: Descriptor, gate: asyncio.Semaphore, mount_from: str = ""
                     ) -> bool:
    """Upload ``desc`` unless the registry has it or can mount it from repository
    ``mount_from``; True when it was sent."""
    scope = repo_scope(ref, push=True)
    async with gate:
        head = await session.send(Request("HEAD", blob_url(base, ref, desc.digest)), scope)
        head.release()
        if head.status == 200:
            return False
        start = await session.send(
            Request("POST", upload_url(base, ref, desc.digest if mount_from else None,
                                       mount_from)), scope)
        start.release()
        if start.status == 201 and mount_from:
            return False  # mounted: the registry already holds it in the other repository
        if start.status != 202 or "Location" not in start.headers:
            raise raise_for(f"blob upload for {ref.familiar_name}", start.status, b"")
        location = urljoin(start.url.human_repr(), start.headers["Location"])
        sep = "&" if "?" in location else "?"
        files: list[Any] = []

        def body() -> Any:
            files.append(open(path, "rb"))  # noqa: SIM115 - closed below
            return files[-1]

        try:
            put = await session.send(
                Request("PUT", f"{location}{sep}digest={desc.digest}",
                        {"Content-Type": "application/octet-stream",
                         "Content-Length": str(desc.size)}), scope, body)
            try:
                if put.status != 201:
                    raise raise_for(f"blob {desc.digest}", put.status, await put.read())
            finally:
                put.release()
        finally:
            for f in files:
                f.close()
    return True


async def push(store: ImageStore, source: str, ref: Reference, *,
               insecure: frozenset[str] = frozenset(), auth: Auth | None = None,
               parallel: int = 6, compress: bool = True) -> Digest:
    """Push the stored image ``source`` to ``ref``, gzipping uncompressed layers unless
    ``compress`` is false; returns the manifest digest, also recorded among the image's
    ``RepoDigests``."""
    if ref.digest is not None:
        raise InvalidArgument(f"cannot push to a digest reference: {ref.familiar()}")
    image = store.resolve(source)
    scratch: list[Path] = []
    try:
        with store.writing():  # keep gc off the blobs while they are read
            blobs = [(image.manifest.config, store.content.path(image.manifest.config.digest))]
            layers = [(d, store.content.path(d.digest)) for d in image.manifest.layers]
            if compress:
                done = await asyncio.gather(*(
                    gzip_layer(d, path, store.roots.tmp / "push") for d, path in layers),
                    return_exceptions=True)
                scratch = [new[1] for new, old in zip(done, layers, strict=True)
                           if isinstance(new, tuple) and new[1] != old[1]]
                for item in done:
                    if isinstance(item, BaseException):
                        raise item
                layers = [item for item in done if isinstance(item, tuple)]
            blobs += layers
            if [d for d, _ in layers] == list(image.manifest.layers):
                body = store.content.read(image.manifest_digest)
            else:
                body = replace(image.manifest, layers=tuple(d for d, _ in layers)).to_bytes()
            digest = await _send(image, blobs, body, ref, insecure, auth, parallel)
        # docker records what the registry now serves under the name (RepoDigests)
        store.records.add_repo_digest(f"{ref.name}@{digest}", str(image.id))
        return digest
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


async def _send(image: Image, blobs: list[tuple[Descriptor, Path]],
                body: bytes, ref: Reference, insecure: frozenset[str], auth: Auth | None,
                parallel: int) -> Digest:
    # a repository of the same registry this image came from can lend its blobs
    mount_from = next((r.rpartition("@")[0].partition("/")[2] for r in image.repo_digests
                       if r.startswith(ref.domain + "/")
                       and r.rpartition("@")[0] != ref.name), "")
    base = await resolve_base(ref.domain, insecure)
    session = Session(auth, limit=parallel + 2, verify=base == endpoint(ref.domain, insecure))
    try:
        gate = asyncio.Semaphore(parallel)
        await run_all(_push_blob(session, path, base, ref, d, gate, mount_from)
                      for d, path in blobs)
        resp = await session.send(
            Request("PUT", manifest_url(base, ref),
                    {"Content-Type": image.manifest.media_type}),
            repo_scope(ref, push=True), body)
        try:
            if resp.status != 201:
                raise raise_for(f"manifest for {ref.familiar()}", resp.status,
                                await resp.read())
        finally:
            resp.release()
        return Digest.of(body)
    finally:
        await session.close()
