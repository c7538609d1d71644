"""Entry script of monitor processes, run as ``python -S -s -E boot.py ARGS``.

``boot.py <launch.json> <sync fd>`` starts one monitor; ``boot.py --spawner <dir>
<ready fd>`` starts the spawner that forks monitors (see ``spawner``).

Run as a file, not with ``-m``: the package ``__init__`` files above it (the engine's
facade, the monitor client) would pull in modules a monitor never uses. We register
bare package objects for them, so only the monitor's own modules are loaded.

First stage: fork (the launcher reaps the parent at once), ``setsid``, for a monitor
become a child subreaper with ctypes, then exec a fresh interpreter for the second
stage (``--detached``). The subreaper flag survives execve; ctypes' memory does not.
"""

import os
import sys


def _detach(subreaper: bool) -> None:
    if os.fork():
        os._exit(0)  # our parent (the launcher) reaps this; the child is nobody's child
    os.setsid()
    if subreaper:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            err = ctypes.get_errno()
            sys.stderr.write(f"monitor: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}\n")
            os._exit(1)
    os.execv(sys.executable,
             [sys.executable, "-S", "-s", "-E", __file__, "--detached", *sys.argv[1:]])


def _register_packages() -> None:
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


def _bootstrap() -> None:
    args = sys.argv[1:]
    if args[:1] != ["--detached"]:
        _detach(subreaper=args[:1] != ["--spawner"])
    args = args[1:]
    _register_packages()
    if args[:1] == ["--spawner"]:
        from dockyard.engine.monitor.spawner import serve

        sys.exit(serve(args[1], int(args[2])))
    from dockyard.engine.monitor.process import main

    sys.exit(main(args))


if __name__ == "__main__":
    _bootstrap()
