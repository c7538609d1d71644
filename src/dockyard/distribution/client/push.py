"""Push: blobs the registry lacks (HEAD first), in parallel, each mounted from another
repository of the registry the image was pulled from or sent as one streamed PUT after
a POST; then the manifest under the tag."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from dockyard.distribution.client.compress import FORMATS, compress_layer
from dockyard.distribution.client.driver import Session, raise_for, resolve_base
from dockyard.distribution.client.extract import Progress
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

_REPORT_EVERY = 1 << 20


class _Counting(io.BufferedReader):
    """A blob file that reports how much of it was read (from aiohttp's reader
    thread, through ``report``)."""

    def __init__(self, path: Path, report: Callable[[int], None] | None) -> None:
        super().__init__(io.FileIO(path, "rb"), buffer_size=1 << 20)
        self._sent = 0
        self._next = _REPORT_EVERY
        self._report = report

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self._sent += len(data)
        if self._report and (self._sent >= self._next or not data):
            self._next = self._sent + _REPORT_EVERY
            self._report(self._sent)
        return data


async def _push_blob(session: Session, path: Path, base: str, ref: Reference,
                     desc: Descriptor, gate: asyncio.Semaphore, mount_from: str = "",
                     progress: Callable[[str, int], None] | None = None) -> bool:
    """Upload ``desc`` unless the registry has it or can mount it from repository
    ``mount_from``; True when it was sent. ``progress`` hears docker's words."""
    scope = repo_scope(ref, push=True)
    if progress and gate.locked():
        progress("Waiting", 0)
    async with gate:
        head = await session.send(Request("HEAD", blob_url(base, ref, desc.digest)), scope)
        head.release()
        if head.status == 200:
            if progress:
                progress("Layer already exists", desc.size)
            return False
        start = await session.send(
            Request("POST", upload_url(base, ref, desc.digest if mount_from else None,
                                       mount_from)), scope)
        start.release()
        if start.status == 201 and mount_from:
            if progress:  # the registry already holds it in the other repository
                progress(f"Mounted from {mount_from}", desc.size)
            return False
        if start.status != 202 or "Location" not in start.headers:
            raise raise_for(f"blob upload for {ref.familiar_name}", start.status, b"")
        location = urljoin(start.url.human_repr(), start.headers["Location"])
        sep = "&" if "?" in location else "?"
        files: list[Any] = []
        loop = asyncio.get_running_loop()

        def report(sent: int) -> None:
            if progress:
                loop.call_soon_threadsafe(progress, "Pushing", sent)

        def body() -> Any:
            files.append(_Counting(path, report if progress else None))
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
    if progress:
        progress("Pushed", desc.size)
    return True


async def push(store: ImageStore, source: str, ref: Reference, *,
               insecure: frozenset[str] = frozenset(), auth: Auth | None = None,
               parallel: int = 6, compress: bool = True, compression: str = "gzip",
               progress: Progress | None = None) -> Descriptor:
    """Push the stored image ``source`` to ``ref``, compressing uncompressed layers with
    ``compression`` (gzip or zstd) unless ``compress`` is false; returns the manifest
    sent (its digest is also recorded among the image's ``RepoDigests``).
    ``progress`` hears docker's words for each layer."""
    if ref.digest is not None:
        raise InvalidArgument(f"cannot push to a digest reference: {ref.familiar()}")
    if compression not in FORMATS:
        raise InvalidArgument(f"unsupported compression format {compression!r}: want one "
                              f"of {', '.join(FORMATS)}")
    image = store.resolve(source)
    scratch: list[Path] = []
    try:
        with store.writing():  # keep gc off the blobs while they are read
            blobs = [(image.manifest.config, store.content.path(image.manifest.config.digest))]
            layers = [(d, store.content.path(d.digest)) for d in image.manifest.layers]
            if progress:  # docker names a layer being pushed by its diff id
                for d, diff_id in zip(image.manifest.layers, image.diff_ids, strict=True):
                    progress(replace(d, digest=diff_id), "Preparing", 0)
            if compress:
                done = await asyncio.gather(*(
                    compress_layer(d, path, store.roots.tmp / "push", compression)
                    for d, path in layers),
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
            sent = {d.digest: replace(d, digest=diff_id)
                    for (d, _), diff_id in zip(layers, image.diff_ids, strict=True)}
            digest = await _send(image, blobs, body, ref, insecure, auth, parallel,
                                 _per_layer(progress, sent))
        # docker records what the registry now serves under the name (RepoDigests)
        store.records.add_repo_digest(f"{ref.name}@{digest}", str(image.id))
        return Descriptor(image.manifest.media_type, digest, len(body))
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)


def _per_layer(progress: Progress | None, sent: dict[Digest, Descriptor]
               ) -> Callable[[Descriptor], Callable[[str, int], None] | None]:
    """For each blob sent, a reporter naming its layer as docker does: the descriptor
    reported has the layer's diff id and the size sent (none for the config)."""
    def for_blob(desc: Descriptor) -> Callable[[str, int], None] | None:
        origin = sent.get(desc.digest)
        if progress is None or origin is None:
            return None
        return lambda status, done: progress(origin, status, done)
    return for_blob


async def _send(image: Image, blobs: list[tuple[Descriptor, Path]],
                body: bytes, ref: Reference, insecure: frozenset[str], auth: Auth | None,
                parallel: int,
                reporter: Callable[[Descriptor], Callable[[str, int], None] | None]
                ) -> Digest:
    # a repository of the same registry this image came from can lend its blobs
    mount_from = next((r.rpartition("@")[0].partition("/")[2] for r in image.repo_digests
                       if r.startswith(ref.domain + "/")
                       and r.rpartition("@")[0] != ref.name), "")
    base = await resolve_base(ref.domain, insecure)
    session = Session(auth, limit=parallel + 2, verify=base == endpoint(ref.domain, insecure))
    try:
        gate = asyncio.Semaphore(parallel)
        await run_all(_push_blob(session, path, base, ref, d, gate, mount_from, reporter(d))
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
