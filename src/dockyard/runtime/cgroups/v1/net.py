"""v1 net_cls and net_prio controllers: the class id and per-interface priorities."""

from __future__ import annotations

from dockyard.errors import InvalidConfig
from dockyard.runtime.cgroups.fs import opt_int, section, write

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

F = "linux.resources.network"


def apply_cls(path: str, resources: Mapping[str, Any]) -> None:
    """net_cls.classid from ``network.classID``."""
    net = section(resources, "network")
    if net is None:
        return
    class_id = opt_int(net, "classID", F, minimum=0, maximum=0xFFFFFFFF)
    if class_id is not None:
        write(path, "net_cls.classid", class_id, f"{F}.classID")


def apply_prio(path: str, resources: Mapping[str, Any]) -> None:
    """net_prio.ifpriomap lines from ``network.priorities``."""
    net = section(resources, "network")
    if net is None:
        return
    prios = net.get("priorities") or []
    if not isinstance(prios, list):
        raise InvalidConfig(f"{F}.priorities: must be a list")
    for i, item in enumerate(prios):
        where = f"{F}.priorities[{i}]"
        if not isinstance(item, dict):
            raise InvalidConfig(f"{where}: must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not name or len(name) > 15 or set(name) & set(" \n/"):
            raise InvalidConfig(f"{where}.name: not an interface name: {name!r}")
        prio = opt_int(item, "priority", where, minimum=0, maximum=0xFFFFFFFF)
        write(path, "net_prio.ifpriomap", f"{name} {prio or 0}", where)
