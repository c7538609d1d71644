"""``python -m tests.integration.network.core_driver ROOT RUN LOWER NAME [--network N]
[-p HOST:CONTAINER]``: one ``run -d`` of ``sleep 120`` in its own process (for
concurrency tests); prints the id."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dockyard.engine import Engine
from dockyard.errors import DockyardError
from dockyard.settings import Roots
from tests.integration.engine.conftest import DirImages


def main(argv: list[str]) -> int:
    root, run_root, lower, name, *rest = argv
    opts = dict(zip(rest[::2], rest[1::2], strict=True))
    roots = Roots(Path(root), Path(run_root))
    engine = Engine(roots, images=DirImages(roots, Path(lower)),
                    cgroup_parent=os.environ["DOCKYARD_CGROUP_PARENT"])
    hc: dict[str, object] = {"NetworkMode": opts.get("--network", "default")}
    if "-p" in opts:
        host, _, port = opts["-p"].partition(":")
        hc["PortBindings"] = {f"{port}/tcp": [{"HostIp": "", "HostPort": host}]}
    try:
        cid = engine.create(name, {"Image": "busybox", "Cmd": ["sleep", "120"]}, hc)["Id"]
        engine.start(cid)
    except DockyardError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 125
    print(cid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
