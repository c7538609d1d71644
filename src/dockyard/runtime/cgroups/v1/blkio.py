"""v1 blkio controller: weights and per-device throttles."""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import opt_int, read_lines, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "blkio"
F = "linux.resources.blockIO"
THROTTLES = {
    "throttleReadBpsDevice": "read_bps_device",
    "throttleWriteBpsDevice": "write_bps_device",
    "throttleReadIOPSDevice": "read_iops_device",
    "throttleWriteIOPSDevice": "write_iops_device",
}


def devices(blkio: Mapping[str, Any], key: str, value_key: str) -> list[tuple[str, int, str]]:
    """("major:minor", value, field) for each entry of the device list ``blkio[key]``."""
    items = blkio.get(key) or []
    if not isinstance(items, list):
        raise InvalidConfig(f"{F}.{key}: must be a list")
    out = []
    for i, dev in enumerate(items):
        where = f"{F}.{key}[{i}]"
        if not isinstance(dev, dict):
            raise InvalidConfig(f"{where}: must be an object")
        major = opt_int(dev, "major", where, minimum=0)
        minor = opt_int(dev, "minor", where, minimum=0)
        value = opt_int(dev, value_key, where, minimum=0)
        if major is None or minor is None:
            raise InvalidConfig(f"{where}: major and minor are required")
        if value is not None:
            out.append((f"{major}:{minor}", value, f"{where}.{value_key}"))
    return out


def _weight_file(path: str, base: str) -> str:
    for name in (f"blkio.{base}", f"blkio.bfq.{base}"):
        if os.path.exists(os.path.join(path, name)):
            return name
    return f"blkio.{base}"  # missing: write() reports it as unsupported


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write the ``blockIO`` section into the v1 blkio cgroup at ``path``."""
    blkio = section(resources, "blockIO")
    if blkio is None:
        return
    weight = opt_int(blkio, "weight", F, minimum=0, maximum=1000)
    if weight:
        write(path, _weight_file(path, "weight"), weight, f"{F}.weight")
    leaf = opt_int(blkio, "leafWeight", F, minimum=0, maximum=1000)
    if leaf:
        write(path, "blkio.leaf_weight", leaf, f"{F}.leafWeight")
    for dev, value, field in devices(blkio, "weightDevice", "weight"):
        write(path, _weight_file(path, "weight_device"), f"{dev} {value}", field)
    for dev, value, field in devices(blkio, "weightDevice", "leafWeight"):
        write(path, "blkio.leaf_weight_device", f"{dev} {value}", field)
    for key, suffix in THROTTLES.items():
        for dev, value, field in devices(blkio, key, "rate"):
            write(path, f"blkio.throttle.{suffix}", f"{dev} {value}", field)


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["blkio"]`` with the throttle layer's byte and op counters."""
    def entries(name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        try:
            lines = read_lines(path, name)
        except FileNotFoundError:
            return rows
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and ":" in parts[0]:
                major, minor = parts[0].split(":")
                rows.append({"major": int(major), "minor": int(minor), "op": parts[1],
                             "value": int(parts[2])})
        return rows
    out["blkio"] = {
        "ioServiceBytesRecursive": entries("blkio.throttle.io_service_bytes_recursive"),
        "ioServicedRecursive": entries("blkio.throttle.io_serviced_recursive"),
    }
