"""A fast ``dockyard-runtime`` launcher: ``#!<python> -SI`` plus the source path.

The pip console script imports ``site`` (and every ``.pth`` file of the venv) before
it reaches our code; the runtime needs neither. The engine and the benchmark write
this script once (``write_launcher``) and call it instead; ``python -m
dockyard.runtime`` also works where start-up time does not matter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["launcher_text", "write_launcher"]


def launcher_text(python: str | None = None) -> str:
    src = str(Path(__file__).resolve().parents[2])
    return (f"#!{python or sys.executable} -SI\n"
            "import sys\n"
            f"sys.path.insert(0, {src!r})\n"
            "from dockyard.runtime.cli.main import exit_now, main\n"
            "exit_now(main())\n")


def write_launcher(dest: str | Path, python: str | None = None) -> Path:
    """Write the launcher script to ``dest`` (atomically, mode 0755); return its path."""
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}")
    tmp.write_text(launcher_text(python))
    os.chmod(tmp, 0o755)
    os.rename(tmp, dest)
    return dest
