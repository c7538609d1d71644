"""Prometheus metrics of the running containers, with cAdvisor's metric names.

:func:`render_metrics` samples every running container (:mod:`dockyard.engine.stats`)
and writes the text exposition format (version 0.0.4). Labels are cAdvisor's: ``id``
(the container's cgroup path, e.g. ``/dockyard/<container id>``), ``name`` and
``image``; network series add ``interface``. Restarts and health, which cAdvisor does
not have, are ``dockyard_container_restarts_total`` and
``dockyard_container_health_status{status=...}``.

:func:`serve_metrics` answers ``GET /metrics`` with the standard library's threaded HTTP
server (``dockyard system metrics --addr``; ``dockyard serve --metrics-addr`` can call it).
"""

from __future__ import annotations

import contextlib
from typing import Any

from dockyard.engine.status import parse_time
from dockyard.errors import DockyardError
from dockyard.settings import Roots

__all__ = ["CONTENT_TYPE", "render_metrics", "serve_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name -> (type, help)
_FAMILIES = {
    "container_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed in seconds."),
    "container_cpu_user_seconds_total": ("counter", "Cumulative user cpu time consumed in "
                                         "seconds."),
    "container_cpu_system_seconds_total": ("counter", "Cumulative system cpu time consumed in "
                                           "seconds."),
    "container_memory_usage_bytes": ("gauge", "Current memory usage in bytes, including all "
                                     "memory regardless of when it was accessed."),
    "container_memory_working_set_bytes": ("gauge", "Current working set in bytes."),
    "container_spec_memory_limit_bytes": ("gauge", "Memory limit for the container."),
    "container_network_receive_bytes_total": ("counter", "Cumulative count of bytes received."),
    "container_network_transmit_bytes_total": ("counter", "Cumulative count of bytes "
                                               "transmitted."),
    "container_fs_reads_bytes_total": ("counter", "Cumulative count of bytes read."),
    "container_fs_writes_bytes_total": ("counter", "Cumulative count of bytes written."),
    "container_processes": ("gauge", "Number of processes running inside the container."),
    "container_start_time_seconds": ("gauge", "Start time of the container since unix epoch "
                                     "in seconds."),
    "dockyard_container_restarts_total": ("counter", "Times the restart policy or health "
                                          "check restarted the container."),
    "dockyard_container_health_status": ("gauge", "1 for the container's current health "
                                         "status."),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _container_series(engine: Any, cid: str) -> list[tuple[str, dict[str, str], float]]:
    from dockyard.engine.stats import memory_usage, sample

    lc = engine.lc
    record = lc.store.load(cid)
    state = lc.state(cid)
    if not state.get("Running") or state.get("Restarting"):
        return []
    cur = sample(lc, cid)
    parent = record["HostConfig"].get("CgroupParent") or lc.cgroup_parent
    base = {"id": f"/{parent.strip('/')}/{cid}", "name": record["Name"].lstrip("/"),
            "image": str(record["Config"].get("Image") or record["Image"])}
    usage = cur["cpu_stats"]["cpu_usage"]
    mem = cur.get("memory_stats") or {}
    blk = (cur.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    out = [
        ("container_cpu_usage_seconds_total", base, usage.get("total_usage", 0) / 1e9),
        ("container_cpu_user_seconds_total", base, usage.get("usage_in_usermode", 0) / 1e9),
        ("container_cpu_system_seconds_total", base,
         usage.get("usage_in_kernelmode", 0) / 1e9),
        ("container_memory_usage_bytes", base, float(mem.get("usage", 0))),
        ("container_memory_working_set_bytes", base, float(memory_usage(mem))),
        ("container_spec_memory_limit_bytes", base,
         float(record["HostConfig"].get("Memory") or 0)),
        ("container_fs_reads_bytes_total", base,
         float(sum(r["value"] for r in blk if r["op"] == "read"))),
        ("container_fs_writes_bytes_total", base,
         float(sum(r["value"] for r in blk if r["op"] == "write"))),
        ("container_processes", base, float((cur.get("pids_stats") or {}).get("current", 0))),
        ("container_start_time_seconds", base,
         parse_time(str(state.get("StartedAt", ""))) or 0.0),
        ("dockyard_container_restarts_total", base, float(state.get("RestartCount") or 0)),
    ]
    for iface, n in sorted((cur.get("networks") or {}).items()):
        labels = {**base, "interface": iface}
        out.append(("container_network_receive_bytes_total", labels, float(n["rx_bytes"])))
        out.append(("container_network_transmit_bytes_total", labels, float(n["tx_bytes"])))
    health = state.get("Health")
    if isinstance(health, dict) and health.get("Status"):
        for status in ("starting", "healthy", "unhealthy"):
            out.append(("dockyard_container_health_status", {**base, "status": status},
                        1.0 if health["Status"] == status else 0.0))
    return out


def render_metrics(engine: Any) -> str:
    """The exposition text for every running container of ``engine``."""
    series: dict[str, list[tuple[dict[str, str], float]]] = {name: [] for name in _FAMILIES}
    for cid in engine.lc.store.ids():
        with contextlib.suppress(DockyardError, FileNotFoundError, ValueError, KeyError):
            for name, labels, value in _container_series(engine, cid):
                series[name].append((labels, value))
    lines: list[str] = []
    for name, (kind, text) in _FAMILIES.items():
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in series[name]:
            lines.append(f"{name}{_labels(labels)} {value!r}")
    return "\n".join(lines) + "\n"


def serve_metrics(roots: Roots, host: str, port: int, cgroup_parent: str | None = None,
                  ready: Any = None) -> None:
    """Serve ``GET /metrics`` on ``host:port`` until interrupted.

    ``ready(server)`` is called once listening (port 0 picks a free port)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from dockyard.engine.facade import Engine

    engine = Engine(roots, cgroup_parent=cgroup_parent) if cgroup_parent else Engine(roots)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404, "not found: try /metrics")
                return
            body = render_metrics(engine).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    try:
        if ready is not None:
            ready(server)
        server.serve_forever()
    finally:
        server.server_close()
