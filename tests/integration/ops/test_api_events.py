"""The docker 28 CLI's ``events`` against ``dockyard serve`` reads the engine's log."""

from __future__ import annotations

import json
import time

from tests.integration.api.conftest import Served, name, served  # noqa: F401  # fixtures


def test_docker_events_over_the_api(served: Served, name: str) -> None:  # noqa: F811
    since = time.time()
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "true")
    served.ok("wait", name)
    served.ok("rm", name)
    out = served.ok("events", "--since", f"{since - 1:.3f}", "--until", f"{time.time():.3f}",
                    "--filter", f"container={name}", "--format", "{{json .}}")
    evs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [e["Action"] for e in evs] == ["create", "start", "die", "destroy"]
    assert all(e["Actor"]["Attributes"]["name"] == name for e in evs)
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "0"
    bad = served.docker("events", "--until", "1", "--filter", "colour=red")
    assert bad.returncode != 0 and "invalid filter 'colour'" in bad.stderr
