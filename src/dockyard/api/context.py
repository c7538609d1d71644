"""What every handler shares: the roots, one engine per worker thread, the thread pool.

The engine is synchronous; handlers run its calls in worker threads so the event loop
keeps serving. Each thread gets its own ``Engine`` and ``ImageStore`` (SQLite
connections belong to the thread that opened them).
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.engine import Engine
    from dockyard.images import ImageStore

__all__ = ["ApiContext", "insecure_registries"]

T = TypeVar("T")


class ApiContext:
    """The engine roots and the workers of one ``dockyard serve``."""

    def __init__(self, roots: Roots, cgroup_parent: str | None = None,
                 workers: int = 64) -> None:
        self.roots = roots
        self.cgroup_parent = cgroup_parent or os.environ.get("DOCKYARD_CGROUP_PARENT")
        # Long calls (wait, logs -f, attach, exec) hold a worker each: keep many.
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="api")
        self._local = threading.local()
        self.debug = False
        # Set when the server stops: blocking loops in workers (wait, log follow) end.
        self.stopping = threading.Event()
        # Attaches made before a start, by container id (``AttachPoint``s): the start
        # hands the one there to the new monitor. Used from the event loop only.
        self.attach_points: dict[str, Any] = {}

    def engine(self) -> Engine:
        """This thread's engine."""
        eng: Engine | None = getattr(self._local, "engine", None)
        if eng is None:
            from dockyard.engine import Engine

            if self.cgroup_parent:
                eng = Engine(self.roots, cgroup_parent=self.cgroup_parent)
            else:
                eng = Engine(self.roots)
            self._local.engine = eng
        return eng

    def images(self) -> ImageStore:
        """This thread's image store."""
        store: ImageStore | None = getattr(self._local, "images", None)
        if store is None:
            from dockyard.engine import image_users
            from dockyard.images import ImageStore

            store = ImageStore(self.roots, in_use=image_users(self.roots))
            self._local.images = store
        return store

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=False, cancel_futures=True)


def insecure_registries() -> frozenset[str]:
    """``DOCKYARD_INSECURE_REGISTRIES`` (comma separated), as the CLI reads it."""
    value = os.environ.get("DOCKYARD_INSECURE_REGISTRIES", "")
    return frozenset(h.strip() for h in value.split(",") if h.strip())
