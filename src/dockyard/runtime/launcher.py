"""A fast ``dockyard-runtime`` launcher: ``#!<python> -SI`` plus the source path.

The pip console script imports ``site`` (and every ``.pth`` file of the venv) before
it reaches our code; the runtime needs neither. The engine and the benchmark write
this script once (``write_launcher``) and call it instead; ``python -m
dockyard.runtime`` also works where start-up time does not matter.

The runtime is standard library only, so any interpreter of the same Python version
runs it, sharing the same ``__pycache__`` files. ``runtime_python`` prefers the
distribution's own (``/usr/bin/python3.X``): distributions build it with PGO and LTO
and link libpython into the binary, where pyenv-style builds (like this machine's
venv) usually have neither; here that is 4 ms of a 30 ms ``run``.
``DOCKYARD_RUNTIME_PYTHON`` names another interpreter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["launcher_text", "runtime_python", "write_launcher"]


def runtime_python() -> str:
    """The interpreter the launcher runs the runtime with (see the module's text)."""
    chosen = os.environ.get("DOCKYARD_RUNTIME_PYTHON")
    if chosen:
        return chosen
    system = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
    if os.access(system, os.X_OK) and sys.implementation.name == "cpython":
        return system
    return sys.executable


def launcher_text(python: str | None = None) -> str:
    """The launcher script: ``python`` (default ``runtime_python()``) -SI, this tree."""
    from dockyard.runtime.cgroup_glue import PRIME_SOURCE

    src = str(Path(__file__).resolve().parents[2])
    return (f"#!{python or runtime_python()} -SI\n"
            f"{PRIME_SOURCE}"
            "import sys\n"
            f"sys.path.insert(0, {src!r})\n"
            "from dockyard.runtime.cli.main import exit_now, main\n"
            "exit_now(main())\n")


def write_launcher(dest: str | Path, python: str | None = None) -> Path:
    """Write the launcher script to ``dest`` (atomically, mode 0755); return its path."""
    from dockyard.fileio import atomic_write

    dest = Path(dest)
    atomic_write(dest, launcher_text(python).encode(), mode=0o755)
    os.chmod(dest, 0o755)  # whatever the umask
    return dest
