"""The Prometheus endpoint (must-show 5): scraped twice, CPU counters grow, labels right."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from typing import Any

from dockyard.engine.metrics import CONTENT_TYPE, serve_metrics

LINE = re.compile(r'^(\w+)\{(.*)\} (\S+)$')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        assert m, line
        labels = frozenset(tuple(kv.split("=", 1)) for kv in re.findall(r'\w+="[^"]*"',
                                                                         m.group(2)))
        out[(m.group(1), frozenset((k, v.strip('"')) for k, v in labels))] = float(m.group(3))
    return out


def test_scraped_twice_cpu_grows_with_cadvisor_labels(engine: Any) -> None:
    cid = engine.create("busy", {"Image": "busybox",
                                 "Cmd": ["sh", "-c", "while :; do :; done"]},
                        {"NetworkMode": "none", "NanoCpus": 500_000_000})["Id"]
    engine.start(cid)
    ready = threading.Event()
    servers: list[Any] = []

    def up(server: Any) -> None:
        servers.append(server)
        ready.set()

    thread = threading.Thread(target=serve_metrics, daemon=True,
                              args=(engine.roots, "127.0.0.1", 0, engine.lc.cgroup_parent, up))
    thread.start()
    assert ready.wait(10)
    port = servers[0].server_address[1]
    try:
        def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                assert r.headers["Content-Type"] == CONTENT_TYPE
                return parse(r.read().decode())

        first = scrape()
        time.sleep(1.0)
        second = scrape()
    finally:
        servers[0].shutdown()
        thread.join(10)
    labels = frozenset({("id", f"/{engine.lc.cgroup_parent}/{cid}"), ("name", "busy"),
                        ("image", "busybox")})
    key = ("container_cpu_usage_seconds_total", labels)
    assert key in first and key in second, sorted(first)[:5]
    assert second[key] > first[key] + 0.1
    assert second[("container_processes", labels)] == 1
    assert second[("dockyard_container_restarts_total", labels)] == 0
    started = second[("container_start_time_seconds", labels)]
    assert abs(started - time.time()) < 60


def test_render_includes_help_and_type_lines(engine: Any) -> None:
    from dockyard.engine.metrics import render_metrics

    text = render_metrics(engine)
    assert "# TYPE container_cpu_usage_seconds_total counter" in text
    assert "# TYPE container_memory_usage_bytes gauge" in text
