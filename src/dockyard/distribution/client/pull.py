"""Pull: manifest (with platform selection from an index), then config and layers in
parallel, each streamed into the image store's ingest and verified as it arrives, and
each layer unpacked into its snapshot as soon as it and its parent are in
(``extract.py``); the image is recorded only when every blob is in."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.distribution.client.driver import Session, raise_for, resolve_base
from dockyard.distribution.client.extract import Arrivals, Progress, apply_layers
from dockyard.distribution.client.feed import Feed
from dockyard.distribution.client.protocol import (
    ACCEPT,
    Auth,
    Request,
    blob_url,
    endpoint,
    manifest_url,
    repo_scope,
)
from dockyard.errors import Corrupt, DockyardError, InvalidArgument, NotFound, SystemFailure
from dockyard.oci import (
    DEFAULT_DOMAIN,
    Descriptor,
    Digest,
    Index,
    Manifest,
    Platform,
    Reference,
    host_platform,
    parse_document,
)

if TYPE_CHECKING:
    from dockyard.images import Image, ImageStore

__all__ = ["MAX_MANIFEST", "Progress", "fetch_manifest", "pull", "run_all"]

MAX_MANIFEST = 4 << 20
_CHUNK = 1 << 20


async def fetch_manifest(session: Session, base: str, ref: Reference, target: str = ""
                         ) -> tuple[bytes, str, Digest]:
    """The manifest bytes, media type and digest of ``ref`` (or of digest ``target``);
    the bytes are checked against the digest asked for, or the one the registry sent."""
    req = Request("GET", manifest_url(base, ref, target), {"Accept": ACCEPT})
    resp = await session.send(req, repo_scope(ref))
    try:
        if resp.status != 200:
            raise raise_for(f"manifest for {ref.familiar()}", resp.status, await resp.read())
        body = await resp.content.read(MAX_MANIFEST + 1)
        if len(body) > MAX_MANIFEST:
            raise Corrupt(f"manifest for {ref.familiar()}: over {MAX_MANIFEST} bytes")
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        sent = resp.headers.get("Docker-Content-Digest", "")
    finally:
        resp.release()
    want = Digest.parse(target) if target else ref.digest
    if want is None and sent:
        try:
            want = Digest.parse(sent)
        except InvalidArgument:
            want = None
    actual = Digest.of(body, want.algorithm if want else "sha256")
    if want is not None and actual != want:
        raise Corrupt(f"manifest verification failed for digest {want} "  # docker's words
                      f"({ref.familiar()}: got {actual})")
    return body, media_type, actual


def _partial(store: ImageStore, digest: Digest) -> Path:
    """Where the bytes of an interrupted download wait for the next pull."""
    return store.roots.tmp / "partial-blobs" / f"{digest.algorithm}-{digest.hex}"


def _keep_partial(writer: Any, partial: Path) -> None:
    """Hard-link the ingest file to ``partial`` before the ingest is dropped."""
    if writer.size == 0:
        return
    writer.flush()
    partial.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial.with_name(partial.name + ".tmp")
    tmp.unlink(missing_ok=True)
    os.link(writer.path, tmp)
    os.replace(tmp, partial)


async def _fetch_blob(session: Session, store: ImageStore, base: str, ref: Reference,
                      desc: Descriptor, gate: asyncio.Semaphore,
                      progress: Progress | None, arrivals: Arrivals) -> None:
    """Stream one blob into the store, resuming with Range from the bytes an earlier
    interrupted pull left behind."""
    if store.content.exists(desc.digest):
        if progress:
            progress(desc, "Already exists", desc.size)
        arrivals.done(desc.digest, store.content.path(desc.digest), desc.size, existed=True)
        return
    feed = arrivals.feeds[desc.digest]
    try:
        await _download(session, store, base, ref, desc, gate, progress, feed)
    except BaseException as err:
        feed.fail(err)
        raise
    arrivals.done(desc.digest, store.content.path(desc.digest), desc.size)


async def _download(session: Session, store: ImageStore, base: str, ref: Reference,
                    desc: Descriptor, gate: asyncio.Semaphore, progress: Progress | None,
                    feed: Feed) -> None:
    import aiohttp

    partial = _partial(store, desc.digest)
    if progress and gate.locked():
        progress(desc, "Waiting", 0)
    async with gate:
        writer = store.content.writer()
        resp = None
        keep = False
        try:
            with contextlib.suppress(FileNotFoundError), open(partial, "rb") as f:
                writer.copy_from(f, limit=desc.size)
            if writer.size < desc.size:
                headers = {"Range": f"bytes={writer.size}-"} if writer.size else {}
                resp = await session.send(Request("GET", blob_url(base, ref, desc.digest),
                                                  headers), repo_scope(ref))
                if resp.status == 200 and writer.size:  # Range ignored: start over
                    writer.abort()
                    writer = store.content.writer()
                elif resp.status == 206 and not resp.headers.get(
                        "Content-Range", "").startswith(f"bytes {writer.size}-"):
                    raise Corrupt(f"blob {desc.digest}: reply range "
                                  f"{resp.headers.get('Content-Range')!r} is not the one "
                                  "asked for")
                elif resp.status not in (200, 206):
                    raise raise_for(f"blob {desc.digest}", resp.status, await resp.read())
                writer.flush()
                feed.start(writer.path, writer.size)  # readers may follow from here on
                shown = writer.size
                keep = True
                try:
                    async for chunk in resp.content.iter_chunked(_CHUNK):
                        if writer.size + len(chunk) > desc.size:
                            keep = False
                            raise Corrupt(f"blob {desc.digest}: more than the {desc.size} "
                                          "bytes its descriptor gives")
                        writer.write(chunk)
                        if writer.size - shown >= _CHUNK:  # wake the reader per MiB
                            writer.flush()
                            shown = writer.size
                            feed.grew(shown)
                        if progress:
                            progress(desc, "Downloading", writer.size)
                except (aiohttp.ClientError, OSError, TimeoutError) as err:
                    raise SystemFailure(f"blob {desc.digest}: download interrupted after "
                                        f"{writer.size} bytes: {err or 'timeout'}") from None
            keep = False
            partial.unlink(missing_ok=True)
            if progress:
                progress(desc, "Verifying Checksum", desc.size)
            try:
                writer.commit(desc.digest, desc.size)  # Corrupt on a digest or size mismatch
            except Corrupt as err:
                if "layer" not in desc.media_type:
                    raise
                raise Corrupt(f"filesystem layer verification failed for digest "  # docker's
                              f"{desc.digest} ({err})") from None
        finally:
            if keep:  # interrupted or cancelled: the next pull continues from here
                _keep_partial(writer, partial)
            writer.abort()
            if resp is not None:
                resp.release()
    if progress:
        progress(desc, "Download complete", desc.size)


async def run_all(jobs: Iterable[Coroutine[Any, Any, Any]]) -> None:
    """Run ``jobs`` together; the first failure cancels the rest (their ingests are
    dropped) and is raised once they have stopped."""
    tasks = [asyncio.ensure_future(j) for j in jobs]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _pick(index: Index, ref: Reference, platform: Platform) -> Descriptor:
    for desc in index.select(platform):
        if desc.media_type and "index" not in desc.media_type and "list" not in \
                desc.media_type:
            return desc
    raise NotFound(f"no matching manifest for {platform} in the manifest list entries "
                   f"of {ref.familiar()}")


async def pull(store: ImageStore, ref: Reference, *, platform: Platform | None = None,
               insecure: frozenset[str] = frozenset(), auth: Auth | None = None,
               parallel: int = 6, progress: Progress | None = None,
               mirrors: tuple[str, ...] = (), unpack: bool = True) -> Image:
    """Pull ``ref`` into ``store``; returns the image, tagged ``ref`` when it has a tag.
    Layers are unpacked into snapshots while others download, unless ``unpack`` is
    false. ``progress`` hears docker's status words for each blob.
    Docker Hub references try each of ``mirrors`` (``http[s]://host[:port]``) first,
    as docker's ``registry-mirrors`` do, and fall back to the Hub."""
    if ref.domain == DEFAULT_DOMAIN:
        for mirror in mirrors:
            if not mirror.startswith(("http://", "https://")):
                raise InvalidArgument(f"invalid registry mirror {mirror!r}: want a url")
            try:
                return await _pull_from(store, mirror.rstrip("/"), ref, platform, None,
                                        parallel, progress, unpack)
            except DockyardError:
                continue  # docker falls back to the next mirror, then the Hub
    base = await resolve_base(ref.domain, insecure)
    return await _pull_from(store, base, ref, platform, auth, parallel, progress, unpack,
                            verify=base == endpoint(ref.domain, insecure))


async def _pull_from(store: ImageStore, base: str, ref: Reference, platform: Platform | None,
                     auth: Auth | None, parallel: int, progress: Progress | None,
                     unpack: bool, verify: bool = True) -> Image:
    session = Session(auth, limit=parallel + 2, verify=verify)
    try:
        body, media_type, mdigest = await fetch_manifest(session, base, ref)
        doc = parse_document(body, f"manifest for {ref.familiar()}", media_type)
        top = mdigest  # docker records the index's digest, not the platform's manifest
        if isinstance(doc, Index):
            child = _pick(doc, ref, platform or host_platform())
            body, media_type, mdigest = await fetch_manifest(session, base, ref,
                                                             str(child.digest))
            doc = parse_document(body, f"manifest {child.digest}", media_type)
        if not isinstance(doc, Manifest):
            raise Corrupt(f"manifest for {ref.familiar()}: a nested index is not supported")
        gate = asyncio.Semaphore(parallel)
        blobs = tuple({d.digest: d for d in (doc.config, *doc.layers)}.values())
        arrivals = Arrivals(blobs)
        if all(store.content.exists(d.digest) for d in blobs):
            progress = None  # the image is here already: docker shows no layer then
        if progress:
            for d in doc.layers:
                if not store.content.exists(d.digest):
                    progress(d, "Pulling fs layer", 0)
        with store.writing():
            jobs = [_fetch_blob(session, store, base, ref, d, gate, progress, arrivals)
                    for d in blobs]
            if unpack:
                jobs.append(apply_layers(store, doc, arrivals, progress))
            await run_all(jobs)
            image, _ = store.register(doc, [str(ref)] if ref.tag else [],
                                      [f"{ref.name}@{top}"], hold=False)
        return image
    finally:
        await session.close()
