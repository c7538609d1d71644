"""The runtime's hot path stays light: no module that costs milliseconds to import.

runc takes ~22 ms for a whole ``run`` here; ``python -S -I -c pass`` ~9 ms. Each of
these modules costs 2-25 ms on this machine (``python -X importtime``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
HOT = ["dockyard.runtime.cli.main", "dockyard.runtime.cli.verbs",
       "dockyard.runtime.container_create", "dockyard.runtime.run", "dockyard.runtime.init",
       "dockyard.runtime.rootfs", "dockyard.runtime.container_start",
       "dockyard.runtime.container_delete", "dockyard.runtime.container_kill",
       "dockyard.runtime.cgroup_glue", "dockyard.runtime.capabilities",
       "dockyard.runtime.rlimits", "dockyard.runtime.cgroups", "dockyard.runtime.syscalls",
       "dockyard.runtime.paths", "dockyard.runtime.mounts", "dockyard.runtime.seccomp",
       "dockyard.runtime.landlock"]
HEAVY = {"typing", "re", "json", "dataclasses", "pathlib", "argparse", "enum", "socket",
         "subprocess", "signal", "datetime", "inspect", "shutil", "ctypes",
         "threading", "platform", "dockyard.oci"}


def test_hot_path_imports_nothing_heavy() -> None:
    code = (f"import sys; sys.path.insert(0, {str(SRC)!r})\n"
            f"for m in {HOT!r}: __import__(m)\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-I", "-c", code], capture_output=True,
                         text=True, check=True).stdout.split()
    assert not HEAVY & set(out), sorted(HEAVY & set(out))
