"""A stand-in ``dockyard`` process for crash tests: one engine verb per argv.

``python -m tests.integration.engine.driver ROOT RUN_ROOT LOWER CGROUP_PARENT verb...``
"""

from __future__ import annotations

import sys
from pathlib import Path

from dockyard.engine import Engine
from dockyard.errors import DockyardError
from dockyard.settings import Roots
from tests.integration.engine.conftest import DirImages


def main(argv: list[str]) -> int:
    root, run_root, lower, parent, verb, *args = argv
    roots = Roots(Path(root), Path(run_root))
    engine = Engine(roots, images=DirImages(roots, Path(lower)), cgroup_parent=parent)
    try:
        if verb == "run":  # create + start, like `run -d`
            cid = engine.create(args[0], {"Image": "busybox", "Cmd": args[1:]},
                                {"NetworkMode": "none"})["Id"]
            engine.start(cid)
            print(cid)
        elif verb == "cycle":  # run, stop, remove
            cid = engine.create(args[0], {"Image": "busybox", "Cmd": args[1:]},
                                {"NetworkMode": "none"})["Id"]
            engine.start(cid)
            engine.stop(cid, timeout=0)
            engine.remove(cid)
        elif verb == "create":
            print(engine.create(args[0], {"Image": "busybox", "Cmd": ["true"]},
                                {"NetworkMode": "none"})["Id"])
        elif verb == "rm":
            engine.remove(args[0], force=True)
    except DockyardError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 125
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
