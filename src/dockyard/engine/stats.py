"""Resource usage of running containers, in the Engine API's ``/containers/<id>/stats`` shape.

Figures come from the container's cgroup through the runtime's cgroup manager (v1, v2
and the hybrid layout read alike), the network counters from ``/proc/<init>/net/dev``
(every interface but ``lo``, as docker counts only the sandbox's endpoints), the host's
CPU time from ``/proc/stat``. :func:`summarize` turns two samples into what ``docker
stats`` prints: CPU % over the interval, memory without the inactive file cache, and
so on.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from dockyard.engine.logs import format_nano
from dockyard.engine.store import read_json

__all__ = ["cpu_percent", "memory_usage", "net_dev", "sample", "summarize",
           "system_cpu_ns"]

_TICKS = os.sysconf("SC_CLK_TCK")


def system_cpu_ns() -> int:
    """The host's total CPU time (every state, every CPU) in ns, as docker reads it."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                return sum(int(x) for x in line.split()[1:8]) * 1_000_000_000 // _TICKS
    return 0


def _host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def net_dev(text: str) -> dict[str, dict[str, int]]:
    """``/proc/net/dev`` parsed into docker's per-interface counters, ``lo`` left out."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        name = name.strip()
        if not sep or name == "lo":
            continue
        v = [int(x) for x in rest.split()]
        if len(v) < 16:
            continue
        out[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2],
                     "rx_dropped": v[3], "tx_bytes": v[8], "tx_packets": v[9],
                     "tx_errors": v[10], "tx_dropped": v[11]}
    return out


def _blkio(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v2's rbytes/wbytes named as v1's Read/Write (docker's shape)."""
    names = {"rbytes": "read", "wbytes": "write", "rios": "read", "wios": "write"}
    return [{"major": r["major"], "minor": r["minor"],
             "op": names.get(str(r["op"]), str(r["op"])).lower(), "value": r["value"]}
            for r in rows]


def sample(lc: Any, cid: str) -> dict[str, Any]:
    """One stats object for a container (zeros where it is not running)."""
    from dockyard.runtime.cgroups import manager_for

    record = lc.store.load(cid)
    state = lc.state(cid)
    out: dict[str, Any] = {
        "read": format_nano(time.time_ns()), "preread": "0001-01-01T00:00:00Z",
        "pids_stats": {}, "blkio_stats": {"io_service_bytes_recursive": None,
                                          "io_serviced_recursive": None},
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                    "usage_in_usermode": 0}, "throttling_data": {}},
        "memory_stats": {}, "name": record["Name"], "id": cid,
    }
    if not state.get("Running") or state.get("Restarting"):
        return out
    try:
        bundle = read_json(lc.run_dir(cid) / "config.json")
        path = bundle["linux"]["cgroupsPath"]
        raw = manager_for(path, cid).stats()
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        return out
    cpu = raw.get("cpu", {})
    usage = cpu.get("usage", {})
    throttle = cpu.get("throttling", {})
    out["cpu_stats"] = {
        "cpu_usage": {"total_usage": usage.get("total", 0),
                      **({"percpu_usage": usage["percpu"]} if usage.get("percpu") else {}),
                      "usage_in_kernelmode": usage.get("kernel", 0),
                      "usage_in_usermode": usage.get("user", 0)},
        "system_cpu_usage": system_cpu_ns(), "online_cpus": os.cpu_count() or 1,
        "throttling_data": {"periods": throttle.get("periods", 0),
                            "throttled_periods": throttle.get("throttledPeriods", 0),
                            "throttled_time": throttle.get("throttledTime", 0)},
    }
    mem = raw.get("memory", {})
    if mem:
        limit = int(mem["usage"].get("limit") or 0)
        host = _host_memory()
        if host and (limit <= 0 or limit > host):
            limit = host  # dockerd: no limit shows the machine's memory
        out["memory_stats"] = {"usage": mem["usage"].get("usage", 0),
                               "max_usage": mem["usage"].get("max", 0),
                               "stats": dict(mem.get("raw") or {}), "limit": limit}
    pids = raw.get("pids", {})
    if pids:
        out["pids_stats"] = {"current": pids.get("current", 0),
                             **({"limit": pids["limit"]} if pids.get("limit") else {})}
    blk = raw.get("blkio", {})
    if blk:
        out["blkio_stats"] = {
            "io_service_bytes_recursive": _blkio(blk.get("ioServiceBytesRecursive") or []),
            "io_serviced_recursive": _blkio(blk.get("ioServicedRecursive") or [])}
    pid = int(state.get("Pid") or 0)
    if pid and (record["HostConfig"].get("NetworkMode") or "default") != "host":
        try:
            with open(f"/proc/{pid}/net/dev") as f:
                nets = net_dev(f.read())
            if nets:
                out["networks"] = nets
        except OSError:
            pass
    return out


def cpu_percent(cur: dict[str, Any], prev: dict[str, Any] | None) -> float:
    """docker's calculateCPUPercentUnix: container over host CPU time, times CPUs."""
    if prev is None:
        return 0.0
    c, p = cur.get("cpu_stats", {}), prev.get("cpu_stats", {})
    cpu_delta = c.get("cpu_usage", {}).get("total_usage", 0) - \
        p.get("cpu_usage", {}).get("total_usage", 0)
    sys_delta = c.get("system_cpu_usage", 0) - p.get("system_cpu_usage", 0)
    cpus = c.get("online_cpus") or len(c.get("cpu_usage", {}).get("percpu_usage") or []) or 1
    if sys_delta > 0 and cpu_delta > 0:
        return float(cpu_delta / sys_delta * cpus * 100.0)
    return 0.0


def memory_usage(mem: dict[str, Any]) -> int:
    """docker's usage without the page cache it could drop: minus inactive_file."""
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats and stats[key] < usage:
            return usage - int(stats[key])
    return usage


def summarize(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    """The figures ``docker stats`` shows, as numbers: cpu %, memory, net, block, pids."""
    mem = cur.get("memory_stats") or {}
    used = memory_usage(mem)
    limit = int(mem.get("limit") or 0)
    rx = sum(n["rx_bytes"] for n in (cur.get("networks") or {}).values())
    tx = sum(n["tx_bytes"] for n in (cur.get("networks") or {}).values())
    blk = (cur.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    read = sum(r["value"] for r in blk if str(r["op"]).lower() == "read")
    write = sum(r["value"] for r in blk if str(r["op"]).lower() == "write")
    return {"id": cur["id"], "name": str(cur["name"]).lstrip("/"),
            "cpu_percent": cpu_percent(cur, prev), "mem_usage": used, "mem_limit": limit,
            "mem_percent": used / limit * 100.0 if limit else 0.0,
            "net_rx": rx, "net_tx": tx, "block_read": read, "block_write": write,
            "pids": int((cur.get("pids_stats") or {}).get("current") or 0)}
