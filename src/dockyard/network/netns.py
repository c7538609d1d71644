"""Network namespaces the engine makes before the runtime starts a container.

A namespace is kept alive by a bind mount of its ``nsfs`` file onto a plain file
(``$RUN/containers/<id>/netns``), so it exists before the container's init and can be
handed to the runtime as a ``path``. :func:`inside` runs a function with the calling
thread moved into a namespace (network namespaces are per thread), so netlink sockets
opened there talk to that namespace; the thread ends afterwards.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dockyard.errors import SystemFailure
from dockyard.runtime import syscalls as sc

__all__ = ["create", "exists", "in_use", "inside", "remove"]

T = TypeVar("T")


def _in_thread(fn: Callable[[], T]) -> T:
    box: list[T] = []
    err: list[BaseException] = []

    def body() -> None:
        try:
            box.append(fn())
        except BaseException as e:  # re-raised in the caller's thread
            err.append(e)

    t = threading.Thread(target=body, name="dockyard-netns")
    t.start()
    t.join()
    if err:
        raise err[0]
    return box[0]


def create(path: Path) -> None:
    """A new, empty network namespace pinned at ``path`` (replacing a stale one)."""
    remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()

    def make() -> None:
        sc.unshare(sc.CLONE_NEWNET)
        sc.mount("/proc/thread-self/ns/net", str(path), None, sc.MS_BIND)

    try:
        _in_thread(make)
    except OSError as e:
        with contextlib.suppress(OSError):
            path.unlink()
        raise SystemFailure(f"network namespace {path}: {e.strerror or e}".lower()) from None


def exists(path: Path) -> bool:
    """Whether ``path`` holds a pinned namespace (an nsfs mount, not the plain file)."""
    try:
        return os.stat(path).st_dev != os.stat(path.parent).st_dev
    except OSError:
        return False


def remove(path: Path) -> None:
    """Unpin the namespace (the kernel frees it, and its veth ends, when the last
    process in it is gone) and delete the file; missing is fine."""
    while exists(path):
        try:
            sc.umount2(str(path), sc.MNT_DETACH)
        except OSError:
            break
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def in_use(path: Path) -> bool:
    """Whether a process is in the namespace pinned at ``path`` (False when none is
    pinned there). A namespace that no process is in dies when it is unpinned, and the
    kernel deletes the veth pairs with an end in it then, in the background."""
    if not exists(path):
        return False
    pinned = os.stat(path)
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                ns = os.stat(f"/proc/{pid}/ns/net")
            except OSError:  # gone, or a zombie
                continue
            if (ns.st_ino, ns.st_dev) == (pinned.st_ino, pinned.st_dev):
                return True
    return False


def inside(path: Path, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that has joined the namespace at ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def body() -> T:
        sc.setns(fd, sc.CLONE_NEWNET)
        return fn()

    try:
        return _in_thread(body)
    finally:
        os.close(fd)
