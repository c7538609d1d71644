"""Attach this process's terminal to a container: ``attach_driver.py <run_dir>``.

Exits with the container's exit code, or 100 after detaching.
"""

import sys

from dockyard.engine.monitor import attach

code = attach(sys.argv[1])
if code is None:
    sys.stdout.write("\r\n[detached]\r\n")
    sys.exit(100)
sys.exit(code)
