"""Conversions between cgroup v1 values (what OCI configs carry) and v2 ones."""

from __future__ import annotations

from dockyard.errors import InvalidConfig

__all__ = [
    "blkio_weight_to_io",
    "shares_to_weight",
    "swap_to_v2",
    "weight_to_shares",
]

SHARES_MIN, SHARES_MAX = 2, 262144
WEIGHT_MIN, WEIGHT_MAX = 1, 10000


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] to cpu.weight [1, 10000], linearly (runc's mapping).

    0 means "not set" and maps to 0; out-of-range shares are clamped first, as the
    kernel clamps cpu.shares.
    """
    if shares == 0:
        return 0
    s = min(max(shares, SHARES_MIN), SHARES_MAX)
    return 1 + ((s - SHARES_MIN) * (WEIGHT_MAX - 1)) // (SHARES_MAX - SHARES_MIN)


def weight_to_shares(weight: int) -> int:
    """cpu.weight [1, 10000] back to cpu.shares; the inverse of ``shares_to_weight``
    up to its rounding (0 stays 0)."""
    if weight == 0:
        return 0
    w = min(max(weight, WEIGHT_MIN), WEIGHT_MAX)
    return SHARES_MIN + -((-(w - 1) * (SHARES_MAX - SHARES_MIN)) // (WEIGHT_MAX - 1))


def blkio_weight_to_io(weight: int) -> int:
    """blkio.weight [10, 1000] to io.weight [1, 10000] (0 stays 0)."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_to_v2(swap: int | None, limit: int | None) -> int | None:
    """OCI ``memory.swap`` (memory + swap, the v1 memsw meaning) to memory.swap.max.

    Returns None when nothing is to be written, -1 for unlimited.
    """
    if swap is None or swap == 0:  # 0: not set, as runc reads it
        return None
    if swap == -1:
        return -1
    if limit is None or limit in (-1, 0):
        raise InvalidConfig("linux.resources.memory.swap: needs memory.limit on cgroup v2")
    if swap < limit:
        raise InvalidConfig(f"linux.resources.memory.swap: {swap} is below memory.limit "
                            f"{limit} (swap counts memory plus swap)")
    return swap - limit
