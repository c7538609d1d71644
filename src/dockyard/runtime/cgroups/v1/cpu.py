"""v1 cpu and cpuacct controllers: shares, CFS quota/period/burst, RT, idle; usage."""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import opt_int, read_int, read_kv, read_text, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "cpu"
F = "linux.resources.cpu"
_NS_PER_TICK = 10**9 // (os.sysconf("SC_CLK_TCK") or 100)


def _pair(path: str, first: tuple[str, int | None, str],
          second: tuple[str, int | None, str]) -> None:
    """Write two interdependent files, trying the other order if the kernel refuses."""
    writes = [w for w in (first, second) if w[1] is not None]
    try:
        for name, value, field in writes:
            write(path, name, value, field)
    except InvalidConfig:
        for name, value, field in reversed(writes):
            write(path, name, value, field)


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write the cpu part of the ``cpu`` section (cpus/mems go to cpuset)."""
    cpu = section(resources, "cpu")
    if cpu is None:
        return
    shares = opt_int(cpu, "shares", F, minimum=0)
    if shares:
        write(path, "cpu.shares", shares, f"{F}.shares")
        got = read_int(path, "cpu.shares")
        if got != shares:
            raise InvalidConfig(f"{F}.shares: the kernel clamped {shares} to {got} "
                                "(allowed 2 to 262144)")
    period = opt_int(cpu, "period", F, minimum=0) or None
    quota = opt_int(cpu, "quota", F, minimum=-1) or None
    _pair(path, ("cpu.cfs_period_us", period, f"{F}.period"),
          ("cpu.cfs_quota_us", quota, f"{F}.quota"))
    burst = opt_int(cpu, "burst", F, minimum=0)
    if burst is not None:
        write(path, "cpu.cfs_burst_us", burst, f"{F}.burst")
    rt_period = opt_int(cpu, "realtimePeriod", F, minimum=0) or None
    rt_runtime = opt_int(cpu, "realtimeRuntime", F, minimum=-1) or None
    _pair(path, ("cpu.rt_period_us", rt_period, f"{F}.realtimePeriod"),
          ("cpu.rt_runtime_us", rt_runtime, f"{F}.realtimeRuntime"))
    idle = opt_int(cpu, "idle", F, minimum=0, maximum=1)
    if idle is not None:
        write(path, "cpu.idle", idle, f"{F}.idle")


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["cpu"]["throttling"]`` from cpu.stat."""
    st = read_kv(path, "cpu.stat")
    out.setdefault("cpu", {})["throttling"] = {
        "periods": st.get("nr_periods", 0),
        "throttledPeriods": st.get("nr_throttled", 0),
        "throttledTime": st.get("throttled_time", 0),
    }


def acct_stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["cpu"]["usage"]`` from cpuacct (nanoseconds)."""
    try:
        percpu = [int(x) for x in read_text(path, "cpuacct.usage_percpu").split()]
    except FileNotFoundError:
        percpu = []
    ticks = read_kv(path, "cpuacct.stat")
    out.setdefault("cpu", {})["usage"] = {
        "total": read_int(path, "cpuacct.usage"),
        "percpu": percpu,
        "kernel": ticks.get("system", 0) * _NS_PER_TICK,
        "user": ticks.get("user", 0) * _NS_PER_TICK,
    }
