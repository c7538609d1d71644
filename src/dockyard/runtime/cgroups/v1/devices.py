"""v1 devices controller: devices.allow / devices.deny rules in config order."""

from __future__ import annotations

from dockyard.runtime.cgroups.devices_rules import parse_device_rules
from dockyard.runtime.cgroups.fs import write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

NAME = "devices"
F = "linux.resources.devices"


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Write each rule; later rules refine earlier ones, as the kernel applies them."""
    for i, rule in enumerate(parse_device_rules(resources.get("devices"))):
        name = "devices.allow" if rule.allow else "devices.deny"
        write(path, name, rule.line(), f"{F}[{i}]")


def stats(path: str, out: dict[str, Any]) -> None:
    """The devices controller has no usage figures."""
