"""``dockyard`` with only the image commands registered, so image tests do not depend on
other areas' command modules: ``python -m tests.unit.images.cli_runner ARGS…``."""

from __future__ import annotations

import sys

import dockyard.cli.main as cli_main

if __name__ == "__main__":
    cli_main.COMMAND_MODULES = ["dockyard.cli.images"]
    sys.exit(cli_main.main(sys.argv[1:]))
