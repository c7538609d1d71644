"""v1 memory controller: limit, reservation, memory+swap, swappiness, OOM killer."""

from __future__ import annotations

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import opt_int, read_int, read_kv, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "memory"
F = "linux.resources.memory"


def _limit(mem: Mapping[str, Any], key: str) -> int | None:
    v = opt_int(mem, key, F, minimum=-1)
    return None if v == 0 else v  # 0 means "not set", as in runc


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write the ``memory`` section into the v1 memory cgroup at ``path``."""
    mem = section(resources, "memory")
    if mem is None:
        return
    limit, swap = _limit(mem, "limit"), _limit(mem, "swap")
    if limit is not None and swap is not None and swap != -1 and limit != -1 and swap < limit:
        raise InvalidConfig(f"{F}.swap: {swap} is below memory.limit {limit} "
                            "(swap counts memory plus swap)")
    writes = []
    if limit is not None:
        writes.append(("memory.limit_in_bytes", limit, f"{F}.limit"))
    if swap is not None:
        writes.append(("memory.memsw.limit_in_bytes", swap, f"{F}.swap"))
    # memsw may never be below the limit, so which goes first depends on the values
    # already there; try one order and fall back to the other.
    try:
        for name, value, field in writes:
            write(path, name, value, field)
    except InvalidConfig:
        for name, value, field in reversed(writes):
            write(path, name, value, field)
    reservation = _limit(mem, "reservation")
    if reservation is not None:
        write(path, "memory.soft_limit_in_bytes", reservation, f"{F}.reservation")
    kernel_tcp = _limit(mem, "kernelTCP")
    if kernel_tcp is not None:
        write(path, "memory.kmem.tcp.limit_in_bytes", kernel_tcp, f"{F}.kernelTCP")
    swappiness = opt_int(mem, "swappiness", F, minimum=0)
    # Docker writes -1 as "unset"; it arrives as 2^64-1 after an unsigned round trip.
    if swappiness is not None and swappiness <= 100:
        write(path, "memory.swappiness", swappiness, f"{F}.swappiness")
    elif swappiness is not None and swappiness != 2**64 - 1:
        raise InvalidConfig(f"{F}.swappiness: must be 0 to 100, got {swappiness}")
    disable = mem.get("disableOOMKiller")
    if disable is not None and not isinstance(disable, bool):
        raise InvalidConfig(f"{F}.disableOOMKiller: must be true or false")
    if disable:
        write(path, "memory.oom_control", 1, f"{F}.disableOOMKiller")


def oom_kill_count(path: str) -> int:
    """Processes killed by the OOM killer in this cgroup (memory.oom_control)."""
    return read_kv(path, "memory.oom_control").get("oom_kill", 0)


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["memory"]`` with usage, limits, failure counts and memory.stat."""
    def usage(prefix: str) -> dict[str, int]:
        return {"usage": read_int(path, f"{prefix}usage_in_bytes"),
                "max": read_int(path, f"{prefix}max_usage_in_bytes"),
                "failcnt": read_int(path, f"{prefix}failcnt"),
                "limit": read_int(path, f"{prefix}limit_in_bytes")}
    raw = read_kv(path, "memory.stat")
    oom = read_kv(path, "memory.oom_control")
    out["memory"] = {
        "cache": raw.get("total_cache", raw.get("cache", 0)),
        "usage": usage("memory."),
        "swap": usage("memory.memsw."),
        "kernel": usage("memory.kmem."),
        "kernelTCP": usage("memory.kmem.tcp."),
        "raw": raw,
        "oom_kill": oom.get("oom_kill", 0),
        "under_oom": oom.get("under_oom", 0),
    }
