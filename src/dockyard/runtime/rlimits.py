"""OCI ``process.rlimits``: validation against the caller's limits, and setrlimit.

Raising a hard limit needs CAP_SYS_RESOURCE, which root does not have on every host
(here the hard RLIMIT_NOFILE is 20000 and cannot be raised). A container asking for
more gets a clear ``InvalidConfig`` from ``check_rlimits`` in the parent, before any
process, mount or cgroup exists, instead of a failing setrlimit inside the init.
"""

from __future__ import annotations

import resource

from dockyard.errors import InvalidConfig, SystemFailure

TYPE_CHECKING = False  # typing costs milliseconds per start

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["RLIMITS", "Rlimit", "apply_rlimits", "check_rlimits", "parse_rlimits"]

RLIMITS: dict[str, int] = {
    "RLIMIT_AS": resource.RLIMIT_AS,
    "RLIMIT_CORE": resource.RLIMIT_CORE,
    "RLIMIT_CPU": resource.RLIMIT_CPU,
    "RLIMIT_DATA": resource.RLIMIT_DATA,
    "RLIMIT_FSIZE": resource.RLIMIT_FSIZE,
    "RLIMIT_LOCKS": 10,  # not exported by the resource module
    "RLIMIT_MEMLOCK": resource.RLIMIT_MEMLOCK,
    "RLIMIT_MSGQUEUE": resource.RLIMIT_MSGQUEUE,
    "RLIMIT_NICE": resource.RLIMIT_NICE,
    "RLIMIT_NOFILE": resource.RLIMIT_NOFILE,
    "RLIMIT_NPROC": resource.RLIMIT_NPROC,
    "RLIMIT_RSS": resource.RLIMIT_RSS,
    "RLIMIT_RTPRIO": resource.RLIMIT_RTPRIO,
    "RLIMIT_RTTIME": resource.RLIMIT_RTTIME,
    "RLIMIT_SIGPENDING": resource.RLIMIT_SIGPENDING,
    "RLIMIT_STACK": resource.RLIMIT_STACK,
}
_CAP_SYS_RESOURCE = 24
_U64_MAX = 2**64 - 1


class Rlimit:
    """One validated rlimit; ``soft``/``hard`` use ``resource.RLIM_INFINITY`` for unlimited."""

    __slots__ = ("hard", "name", "resource", "soft")

    def __init__(self, name: str, resource: int, soft: int, hard: int) -> None:
        self.name = name
        self.resource = resource
        self.soft = soft
        self.hard = hard

    def _key(self) -> tuple[str, int, int, int]:
        return (self.name, self.resource, self.soft, self.hard)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rlimit) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Rlimit{self._key()!r}"


def _value(v: object, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > _U64_MAX:
        raise InvalidConfig(f"{field}: must be an integer from 0 to 2^64-1, got {v!r}")
    # OCI writes "unlimited" as 2^64-1 (RLIM_INFINITY as an unsigned 64-bit value).
    return resource.RLIM_INFINITY if v >= 2**63 else v


def _fmt(v: int) -> str:
    return "unlimited" if v == resource.RLIM_INFINITY else str(v)


def _above(a: int, b: int) -> bool:
    """Whether limit ``a`` is above limit ``b`` (RLIM_INFINITY being the largest)."""
    if a == resource.RLIM_INFINITY:
        return b != resource.RLIM_INFINITY
    return b != resource.RLIM_INFINITY and a > b


def parse_rlimits(config: object) -> list[Rlimit]:
    """Validate the shape of ``process.rlimits``: known types, once each, soft <= hard."""
    if config is None:
        return []
    if not isinstance(config, list):
        raise InvalidConfig("process.rlimits: must be a list")
    out: list[Rlimit] = []
    seen: set[str] = set()
    for i, item in enumerate(config):
        field = f"process.rlimits[{i}]"
        if not isinstance(item, dict):
            raise InvalidConfig(f"{field}: must be an object")
        name = item.get("type")
        if not isinstance(name, str) or name not in RLIMITS:
            raise InvalidConfig(f"{field}.type: unknown rlimit: {name}")
        if name in seen:
            raise InvalidConfig(f"{field}.type: {name} given twice")
        seen.add(name)
        for key in ("soft", "hard"):
            if key not in item:
                raise InvalidConfig(f"{field}.{key}: missing for {name}")
        soft = _value(item["soft"], f"{field}.soft")
        hard = _value(item["hard"], f"{field}.hard")
        if _above(soft, hard):
            raise InvalidConfig(f"{field}: {name} soft {_fmt(soft)} is above hard {_fmt(hard)}")
        out.append(Rlimit(name, RLIMITS[name], soft, hard))
    return out


def _can_raise_hard() -> bool:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_RESOURCE & 1)
    except OSError:
        pass
    return False


def check_rlimits(config: object) -> list[Rlimit]:
    """Validate ``process.rlimits`` against this process's hard limits; run before forking.

    Without CAP_SYS_RESOURCE no soft or hard value may exceed the caller's hard limit:
    the error names the rlimit, the value asked for and the limit.
    """
    limits = parse_rlimits(config)
    if _can_raise_hard():
        return limits
    for lim in limits:
        _, cur_hard = resource.getrlimit(lim.resource)
        for key, asked in (("hard", lim.hard), ("soft", lim.soft)):
            if _above(asked, cur_hard):
                raise InvalidConfig(
                    f"process.rlimits: {lim.name} {key} {_fmt(asked)} is above the runtime's "
                    f"hard limit {_fmt(cur_hard)} (no CAP_SYS_RESOURCE to raise it)")
    return limits


def apply_rlimits(limits: Sequence[Rlimit]) -> None:
    """setrlimit each limit in this process (the container init, before exec)."""
    for lim in limits:
        try:
            resource.setrlimit(lim.resource, (lim.soft, lim.hard))
        except (ValueError, OSError) as e:
            raise SystemFailure(
                f"setrlimit {lim.name} soft {_fmt(lim.soft)} hard {_fmt(lim.hard)}: {e}")
