"""The cp helper child keeps exactly the descriptors it is given."""

from __future__ import annotations

import os

from dockyard.engine.copy import _close_others


def test_close_others_keeps_only_what_is_asked() -> None:
    r, w = os.pipe()
    other_r, other_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports which of its descriptors are still open
        _close_others({0, 1, 2, w})
        alive = []
        for fd in (0, w, other_r, other_w):
            try:
                os.fstat(fd)
                alive.append(str(fd))
            except OSError:
                pass
        os.write(w, ",".join(alive).encode())
        os._exit(0)
    os.close(w)
    got = os.read(r, 100).decode()
    os.waitpid(pid, 0)
    for fd in (r, other_r, other_w):
        os.close(fd)
    assert got == f"0,{w}"
