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


def test_docker_stats_over_the_api(served: Served, name: str) -> None:  # noqa: F811
    served.ok("run", "-d", "--name", name, "--network", "none", "--cpus", "0.5", "-m", "64m",
              "busybox", "sh", "-c", "while :; do :; done")
    try:
        out = served.ok("stats", "--no-stream", "--format",
                        "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", name)
        got_name, cpu, usage, _, limit, pids = out.split()
        assert got_name == name and limit == "64MiB" and pids == "1"
        assert 5.0 < float(cpu.rstrip("%")) <= 55.0, out  # a busy loop, capped at half a CPU
        assert usage.endswith(("KiB", "MiB"))
    finally:
        served.ok("rm", "-f", name)
