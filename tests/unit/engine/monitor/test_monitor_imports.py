"""The monitor process stays light: no package __init__, no heavy stdlib modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dockyard.engine.monitor

BOOT = str(Path(dockyard.engine.monitor.__file__).with_name("boot.py"))
HEAVY = {"typing", "re", "json", "enum", "socket", "signal", "subprocess", "selectors",
         "collections", "dataclasses", "inspect", "ctypes", "threading", "gzip", "asyncio",
         "struct"}  # struct: ctypes' (each monitor carried ~0.4 MiB of it)

PROBE = f"""
import sys
ns = {{"__file__": {BOOT!r}, "__name__": "boot"}}
exec(compile(open({BOOT!r}).read(), {BOOT!r}, "exec"), ns)
ns["_register_packages"]()
import dockyard.engine.monitor.process
import dockyard.engine.monitor.spawner
from dockyard.engine.monitor.libc import Libc
libc = Libc()  # what the spawner loads before forking monitors
assert libc.malloc_trim(0) in (0, 1) and libc.prctl(-1, 0, 0, 0, 0) == -1
print(repr(sorted(sys.modules)))
"""


def test_monitor_imports_only_light_modules() -> None:
    out = subprocess.run([sys.executable, "-S", "-s", "-E", "-c", PROBE], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stderr
    mods = set(ast.literal_eval(out.stdout))
    assert "dockyard.engine.monitor.process" in mods
    assert not mods & HEAVY, sorted(mods & HEAVY)
    # The package __init__ files (the engine's facade, the client) never ran.
    assert "dockyard.engine.monitor.client" not in mods
    assert "dockyard.engine.facade" not in mods
    assert "dockyard.engine.logs.reader" not in mods
