"""v2 io controller: io.weight (or io.bfq.weight) and io.max throttles."""

from __future__ import annotations

import os

from dockyard.runtime.cgroups.convert import blkio_weight_to_io
from dockyard.runtime.cgroups.fs import opt_int, read_lines, section, write
from dockyard.runtime.cgroups.v1.blkio import devices

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "io"
F = "linux.resources.blockIO"
_IO_MAX_KEYS = {"throttleReadBpsDevice": "rbps", "throttleWriteBpsDevice": "wbps",
                "throttleReadIOPSDevice": "riops", "throttleWriteIOPSDevice": "wiops"}


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write the ``blockIO`` section into the v2 cgroup at ``path``."""
    blkio = section(resources, "blockIO")
    if blkio is None:
        return
    weight = opt_int(blkio, "weight", F, minimum=0, maximum=1000)
    bfq = os.path.exists(os.path.join(path, "io.bfq.weight"))
    if weight:
        if bfq:  # bfq takes the v1 range as is
            write(path, "io.bfq.weight", weight, f"{F}.weight")
        else:
            write(path, "io.weight", f"default {blkio_weight_to_io(weight)}", f"{F}.weight")
    for dev, value, field in devices(blkio, "weightDevice", "weight"):
        if bfq:
            write(path, "io.bfq.weight", f"{dev} {value}", field)
        else:
            write(path, "io.weight", f"{dev} {blkio_weight_to_io(value)}", field)
    for key, word in _IO_MAX_KEYS.items():
        for dev, value, field in devices(blkio, key, "rate"):
            write(path, "io.max", f"{dev} {word}={value or 'max'}", field)


def stats(path: str, out: dict[str, Any]) -> None:
    """Fill ``out["blkio"]`` from io.stat."""
    rows = []
    try:
        lines = read_lines(path, "io.stat")
    except FileNotFoundError:
        lines = []
    for line in lines:
        dev, *pairs = line.split()
        major, _, minor = dev.partition(":")
        for pair in pairs:
            key, _, value = pair.partition("=")
            rows.append({"major": int(major), "minor": int(minor), "op": key,
                         "value": int(value)})
    out["blkio"] = {"ioServiceBytesRecursive": [r for r in rows if r["op"] in ("rbytes",
                                                                                "wbytes")],
                    "ioServicedRecursive": [r for r in rows if r["op"] in ("rios", "wios")]}
