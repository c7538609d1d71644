"""Entry script of the monitor process: ``python -S -s -E boot.py <launch.json> <sync fd>``.

Run as a file, not with ``-m``: the package ``__init__`` files above it (the engine's
facade, the monitor client) would pull in modules the monitor never uses. We register
bare package objects for them, so only the monitor's own modules are loaded.

First stage: fork (the launcher reaps the parent at once), ``setsid``, become a child
subreaper with ctypes, then exec a fresh interpreter for the second stage
(``--detached``). The subreaper flag survives execve; ctypes' memory does not.
"""

import os
import sys


def _detach() -> None:
    if os.fork():
        os._exit(0)  # our parent (the launcher) reaps this; the child is nobody's child
    os.setsid()
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        err = ctypes.get_errno()
        sys.stderr.write(f"monitor: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}\n")
        os._exit(1)
    os.execv(sys.executable,
             [sys.executable, "-S", "-s", "-E", __file__, "--detached", *sys.argv[1:]])


def _bootstrap() -> None:
    if sys.argv[1:2] != ["--detached"]:
        _detach()
    here = __file__.rsplit("/", 1)[0]  # .../dockyard/engine/monitor
    engine = here.rsplit("/", 1)[0]
    dockyard = engine.rsplit("/", 1)[0]
    module_type = type(sys)
    for name, path in (("dockyard", dockyard), ("dockyard.engine", engine),
                       ("dockyard.engine.monitor", here),
                       ("dockyard.engine.logs", engine + "/logs")):
        if name not in sys.modules:
            mod = module_type(name)
            mod.__path__ = [path]  # type: ignore[attr-defined]
            sys.modules[name] = mod
    if sys.path and sys.path[0] == here:
        del sys.path[0]  # the script's own directory would shadow stdlib names

    from dockyard.engine.monitor.process import main

    sys.exit(main(sys.argv[2:]))


if __name__ == "__main__":
    _bootstrap()
