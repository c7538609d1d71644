"""A fast ``dockyard`` launcher: ``#!<system python> -S`` and the package's path.

pip's console script starts the venv's interpreter with ``site`` (every ``.pth`` file)
before it reaches the thin client, which needs neither: it is standard library only.
The launcher runs it on the distribution's interpreter (built with PGO and LTO, as for
the runtime's launcher: ``runtime.launcher.runtime_python``) without ``site``; that is
about 6 ms instead of 10.5 ms here. The venv's interpreter still runs the warm engine
and any command that runs cold (the client re-executes it then).

``scripts/lib.sh`` writes it over the console script after installing:
``python -m dockyard.cli.warm.launcher .venv/bin/dockyard``. A later ``pip install``
puts the console script back, which works the same, only slower to start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["launcher_text", "write_launcher"]


def launcher_text(engine_python: str | None = None, client_python: str | None = None) -> str:
    """The script: ``client_python -S`` runs the client, which runs the engine and cold
    commands on ``engine_python`` (default: this interpreter)."""
    from dockyard.runtime.launcher import runtime_python

    package_parent = str(Path(__file__).resolve().parents[3])
    return (f"#!{client_python or runtime_python()} -S\n"
            "import sys\n"
            f"sys.path.append({package_parent!r})  # after PYTHONPATH, as site would\n"
            "from dockyard.cli.warm.client import main\n"
            f"main({engine_python or sys.executable!r})\n")


def write_launcher(dest: str | Path, engine_python: str | None = None) -> Path:
    """Write the launcher to ``dest`` (atomically, mode 0755); return its path."""
    from dockyard.fileio import atomic_write

    dest = Path(dest)
    atomic_write(dest, launcher_text(engine_python).encode(), mode=0o755)
    os.chmod(dest, 0o755)  # whatever the umask
    return dest


if __name__ == "__main__":
    print(write_launcher(sys.argv[1]))
