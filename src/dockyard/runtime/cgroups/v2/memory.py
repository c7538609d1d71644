"""v2 memory controller: memory.max, memory.low, memory.swap.max; OOM events."""

from __future__ import annotations

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.convert import swap_to_v2
from dockyard.runtime.cgroups.fs import opt_int, read_int, read_kv, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "memory"
F = "linux.resources.memory"


def _max(v: int) -> str:
    return "max" if v == -1 else str(v)


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write the ``memory`` section into the v2 cgroup at ``path``."""
    mem = section(resources, "memory")
    if mem is None:
        return
    limit = opt_int(mem, "limit", F, minimum=-1) or None
    swap = swap_to_v2(opt_int(mem, "swap", F, minimum=-1), limit)
    # memory.swap.max first: lowering memory.max first could push pages into swap.
    if swap is not None:
        write(path, "memory.swap.max", _max(swap), f"{F}.swap")
    if limit is not None:
        write(path, "memory.max", _max(limit), f"{F}.limit")
    reservation = opt_int(mem, "reservation", F, minimum=-1) or None
    if reservation is not None:
        write(path, "memory.low", _max(reservation), f"{F}.reservation")
    swappiness = opt_int(mem, "swappiness", F, minimum=0)
    if swappiness is not None and swappiness != 2**64 - 1:
        raise InvalidConfig(f"{F}.swappiness: not supported on cgroup v2")
    if mem.get("disableOOMKiller"):
        raise InvalidConfig(f"{F}.disableOOMKiller: not supported on cgroup v2")


def oom_kill_count(path: str) -> int:
    """oom_kill from memory.events."""
    return read_kv(path, "memory.events").get("oom_kill", 0)


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["memory"]`` in the same shape as the v1 controller."""
    events = read_kv(path, "memory.events")
    raw = read_kv(path, "memory.stat")
    out["memory"] = {
        "cache": raw.get("file", 0),
        "usage": {"usage": read_int(path, "memory.current"),
                  "max": read_int(path, "memory.peak"),
                  "failcnt": events.get("max", 0),
                  "limit": read_int(path, "memory.max")},
        "swap": {"usage": read_int(path, "memory.swap.current"),
                 "max": read_int(path, "memory.swap.peak"),
                 "failcnt": events.get("swap_max", 0),
                 "limit": read_int(path, "memory.swap.max")},
        "raw": raw,
        "oom_kill": events.get("oom_kill", 0),
        "under_oom": events.get("oom", 0),
    }
