"""``docker stats`` and ``docker events`` through ``dockyard serve``."""

from __future__ import annotations

import json
import subprocess
import time

import docker

from tests.integration.api.conftest import Served


def test_stats_no_stream(served: Served, name: str) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "-m", "64m", "busybox",
              "sleep", "60")
    try:
        out = served.ok("stats", "--no-stream", "--format",
                        "{{.Name}} {{.MemUsage}} {{.PIDs}}", name)
        got_name, usage, _, limit, pids = out.split()
        assert got_name == name and limit == "64MiB" and pids == "1"
        assert usage.endswith(("KiB", "MiB", "B"))
        client = docker.DockerClient(base_url=served.host, version="auto")
        try:
            one = client.containers.get(name).stats(stream=False)
            assert one["precpu_stats"]["cpu_usage"]["total_usage"] > 0
            assert one["memory_stats"]["limit"] == 64 << 20
            streamed = client.containers.get(name).stats(stream=True, decode=True)
            first, second = next(streamed), next(streamed)
            assert second["precpu_stats"] == first["cpu_stats"]
            streamed.close()
        finally:
            client.close()
    finally:
        served.ok("rm", "-f", name)


def test_events_stream_and_filters(served: Served, name: str) -> None:
    since = str(time.time() - 1)
    listener = subprocess.Popen(
        ["docker", "events", "--filter", f"container={name}", "--format",
         "{{.Type}} {{.Action}}"], env=served.env(), stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        served.ok("run", "--name", name, "--network", "none", "busybox", "true")
        served.ok("rm", name)
        assert listener.stdout is not None
        seen = [listener.stdout.readline().strip() for _ in range(4)]
        assert seen[:3] == ["container create", "container attach", "container start"] or \
            seen[:2] == ["container create", "container start"], seen
    finally:
        listener.kill()
        listener.wait()
    past = served.ok("events", "--since", since, "--until", str(time.time()), "--filter",
                     f"container={name}", "--format", "{{json .}}")
    actions = [json.loads(line)["Action"] for line in past.splitlines()]
    assert "create" in actions and "destroy" in actions
