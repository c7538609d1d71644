"""Layers applied as they arrive: once layer N-1 is applied, layer N is unpacked into its
snapshot from its bytes as they come in (``feed.py``), while later layers still
download (docker extracts only after every download is done: moby#21814).

Each layer goes through ``snapshots.unpack_layer`` (a scratch snapshot committed under
its chain id, the diff id checked), in a worker thread; the stream it reads ends only
once the blob's digest is verified, so no snapshot is committed from bytes that turn out
wrong. A pull that fails or is killed
half-way leaves committed layer snapshots no image lists yet (gc removes them, or the
next pull reuses them) and at most one unfinished extraction (``check`` notes it, gc
removes it); the image itself is recorded only at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dockyard.distribution.client.feed import Feed, FeedReader
from dockyard.errors import Corrupt
from dockyard.oci import Descriptor, Digest, ImageConfig, Manifest

if TYPE_CHECKING:
    from dockyard.images import ImageStore

__all__ = ["Arrivals", "Progress", "apply_layers"]

Progress = Callable[[Descriptor, str, int], None]  # (blob, docker's status, bytes so far)
_REPORT_EVERY = 1 << 20


class Arrivals:
    """Per blob digest: a :class:`Feed` of its bytes and an event set when it is
    complete in the store; and which blobs were there before the pull began."""

    def __init__(self, descs: tuple[Descriptor, ...]) -> None:
        self._events = {d.digest: asyncio.Event() for d in descs}
        self.feeds = {d.digest: Feed(f"blob {d.digest}") for d in descs}
        self.existed: set[Digest] = set()

    def done(self, digest: Digest, path: Path, size: int, existed: bool = False) -> None:
        """The blob is verified and stored at ``path``."""
        if existed:
            self.existed.add(digest)
        self.feeds[digest].finish(path, size)
        self._events[digest].set()

    def fail_all(self) -> None:
        """Stop every reader still waiting for bytes (the pull is ending)."""
        for feed in self.feeds.values():
            feed.fail()

    async def wait(self, digest: Digest) -> None:
        await self._events[digest].wait()


class _Counting:
    """A read-only stream that reports how far it has been read (from the thread
    reading it, through the loop)."""

    def __init__(self, raw: BinaryIO | FeedReader, report: Callable[[int], None]) -> None:
        self.raw = raw
        self.pos = 0
        self._next = _REPORT_EVERY
        self._report = report

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.pos += len(data)
        if self.pos >= self._next or not data:
            self._next = self.pos + _REPORT_EVERY
            self._report(self.pos)
        return data

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)


async def _in_thread(fn: Callable[[], object], arrivals: Arrivals) -> None:
    """Run ``fn`` in a worker thread; if cancelled, stop its feeds and still wait for
    it to stop, so no extraction outlives the pull that started it."""
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        arrivals.fail_all()  # a download cancelled before it began never fails its feed
        await asyncio.gather(task, return_exceptions=True)
        raise


async def apply_layers(store: ImageStore, manifest: Manifest, arrivals: Arrivals,
                       progress: Progress | None = None) -> None:
    """Unpack every layer of ``manifest`` lacking a committed snapshot, bottom up, each
    as soon as it and its parent are ready."""
    from dockyard.images.snapshots import has_committed, unpack_layer
    from dockyard.images.unpack import snapshotter_for

    await arrivals.wait(manifest.config.digest)
    config = ImageConfig.from_bytes(store.content.read(manifest.config.digest),
                                    f"config {manifest.config.digest}")
    if len(config.diff_ids) != len(manifest.layers):
        raise Corrupt(f"image {manifest.config.digest}: config lists "
                      f"{len(config.diff_ids)} layers, manifest {len(manifest.layers)}")
    loop = asyncio.get_running_loop()
    sn = snapshotter_for(store)
    try:
        parent: str | None = None
        for desc, diff_id, chain in zip(manifest.layers, config.diff_ids,
                                        config.chain_ids(), strict=True):
            if not has_committed(sn, str(chain)):
                feed = arrivals.feeds[desc.digest]

                def report(pos: int, desc: Descriptor = desc, feed: Feed = feed) -> None:
                    # the line says Downloading until the download is done, as docker's
                    if progress and feed.done:
                        loop.call_soon_threadsafe(progress, desc, "Extracting", pos)

                def unpack(feed: Feed = feed, report: Callable[[int], None] = report,
                           chain: str = str(chain), parent: str | None = parent,
                           diff_id: str = str(diff_id)) -> None:
                    with FeedReader(feed) as f:
                        unpack_layer(sn, _Counting(f, report), chain,  # type: ignore[arg-type]
                                     parent, expected_diff_id=diff_id)

                await _in_thread(unpack, arrivals)
            await arrivals.wait(desc.digest)
            if progress and desc.digest not in arrivals.existed:  # docker: "Already exists"
                progress(desc, "Pull complete", desc.size)
            parent = str(chain)
    finally:
        sn.close()
