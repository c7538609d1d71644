"""Entry script of the monitor process: ``python -S -s -E boot.py <launch.json> <sync fd>``.

Run as a file, not with ``-m``: the package ``__init__`` files above it (the engine's
facade, the monitor client) would pull in modules the monitor never uses. We register
bare package objects for them, so only the monitor's own modules are loaded.
"""

import sys


def _bootstrap() -> None:
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

    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    _bootstrap()
