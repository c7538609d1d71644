"""``dockyard create``/``run`` without storage, port or registry flags imports none of the
heavy or unrelated packages (start-up time is the product): measured with ``-X
importtime`` on the real command (regression: every create loaded the volume store)."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.cli.conftest import Dockyard

NOT_ON_A_PLAIN_CREATE = ("aiohttp", "rich", "pyroute2", "zstandard", "jsonschema",
                         "dockyard.volumes", "dockyard.engine.mounts", "dockyard.api",
                         "dockyard.distribution", "dockyard.build")


def test_plain_create_imports_nothing_heavy(dockyard: Dockyard) -> None:
    argv = [sys.executable, "-X", "importtime", "-m", "dockyard.cli.main",
            *dockyard.argv("create", "--network", "none", "busybox", "true")[1:]]
    proc = subprocess.run(argv, env=dockyard.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    assert "dockyard.engine.lifecycle" in loaded  # the measurement saw the command's work
    assert sorted(m for m in loaded if m.split(".")[0] in NOT_ON_A_PLAIN_CREATE or
                  any(m == p or m.startswith(p + ".") for p in NOT_ON_A_PLAIN_CREATE)) == []
