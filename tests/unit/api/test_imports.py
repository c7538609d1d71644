"""aiohttp is imported by ``dockyard serve`` only, never by other commands."""

from __future__ import annotations

import subprocess
import sys


def test_commands_do_not_import_aiohttp() -> None:
    code = ("import sys, dockyard.cli.main as m; m._register_commands(); import dockyard.api;"
            "print('aiohttp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
