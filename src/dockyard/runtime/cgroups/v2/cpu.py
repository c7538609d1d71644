"""v2 cpu and cpuset controllers: weight, cpu.max, burst, idle, cpus/mems; usage."""

from __future__ import annotations

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.convert import shares_to_weight
from dockyard.runtime.cgroups.fs import opt_int, read_kv, read_text, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "cpu"
F = "linux.resources.cpu"
DEFAULT_PERIOD = 100000


def max_value(quota: int | None, period: int | None, current: str | None) -> str | None:
    """cpu.max text for an OCI quota/period pair; keeps whichever half is not given."""
    if quota is None and period is None:
        return None
    cur_quota, cur_period = "max", str(DEFAULT_PERIOD)
    if current:
        parts = current.split()
        if len(parts) == 2:
            cur_quota, cur_period = parts
    q = cur_quota if quota is None else ("max" if quota <= 0 else str(quota))
    p = cur_period if period is None else str(period)
    return f"{q} {p}"


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write the ``cpu`` section (weight, max, burst, idle, cpuset) at ``path``."""
    cpu = section(resources, "cpu")
    if cpu is None:
        return
    shares = opt_int(cpu, "shares", F, minimum=0)
    if shares:
        write(path, "cpu.weight", shares_to_weight(shares), f"{F}.shares")
    quota = opt_int(cpu, "quota", F, minimum=-1) or None
    period = opt_int(cpu, "period", F, minimum=0) or None
    if quota is not None or period is not None:
        try:
            current: str | None = read_text(path, "cpu.max")
        except FileNotFoundError:
            current = None
        value = max_value(quota, period, current)
        write(path, "cpu.max", value, f"{F}.quota")
    burst = opt_int(cpu, "burst", F, minimum=0)
    if burst is not None:
        write(path, "cpu.max.burst", burst, f"{F}.burst")
    idle = opt_int(cpu, "idle", F, minimum=0, maximum=1)
    if idle is not None:
        write(path, "cpu.idle", idle, f"{F}.idle")
    if cpu.get("realtimeRuntime") or cpu.get("realtimePeriod"):
        raise InvalidConfig(f"{F}.realtimeRuntime: not supported on cgroup v2")
    for key in ("cpus", "mems"):
        value = cpu.get(key)
        if value:
            if not isinstance(value, str):
                raise InvalidConfig(f"{F}.{key}: must be a string like \"0-2,4\"")
            write(path, f"cpuset.{key}", value, f"{F}.{key}")


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["cpu"]`` from cpu.stat (usec converted to nanoseconds)."""
    st = read_kv(path, "cpu.stat")
    out["cpu"] = {
        "usage": {"total": st.get("usage_usec", 0) * 1000, "percpu": [],
                  "kernel": st.get("system_usec", 0) * 1000,
                  "user": st.get("user_usec", 0) * 1000},
        "throttling": {"periods": st.get("nr_periods", 0),
                       "throttledPeriods": st.get("nr_throttled", 0),
                       "throttledTime": st.get("throttled_usec", 0) * 1000},
    }
