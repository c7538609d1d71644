"""cgroups for the runtime: detection, and one manager interface over v1, v2, hybrid.

``detect_mode()`` says how this host mounts cgroups (cached);
``manager_for(cgroups_path, container_id)`` returns the ``CgroupManager`` for a
container (see ``factory`` for how cgroupsPath maps to directories). Standard
library only. Names are imported on first use, so a container start loads only the
modules it needs.
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from dockyard.runtime.cgroups.base import CgroupManager
    from dockyard.runtime.cgroups.convert import (
        blkio_weight_to_io,
        shares_to_weight,
        swap_to_v2,
        weight_to_shares,
    )
    from dockyard.runtime.cgroups.detect import (
        CgroupMode,
        Hierarchies,
        detect_mode,
        hierarchies,
    )
    from dockyard.runtime.cgroups.factory import manager_for, resolve_path
    from dockyard.runtime.cgroups.fake import FakeManager
    from dockyard.runtime.cgroups.hybrid import HybridManager
    from dockyard.runtime.cgroups.null import NullManager
    from dockyard.runtime.cgroups.v1.manager import V1Manager
    from dockyard.runtime.cgroups.v2.manager import V2Manager

__all__ = [
    "CgroupManager",
    "CgroupMode",
    "FakeManager",
    "Hierarchies",
    "HybridManager",
    "NullManager",
    "V1Manager",
    "V2Manager",
    "blkio_weight_to_io",
    "detect_mode",
    "hierarchies",
    "manager_for",
    "resolve_path",
    "shares_to_weight",
    "swap_to_v2",
    "weight_to_shares",
]

_WHERE = {
    "CgroupManager": "base", "CgroupMode": "detect", "Hierarchies": "detect",
    "detect_mode": "detect", "hierarchies": "detect", "HybridManager": "hybrid",
    "NullManager": "null", "FakeManager": "fake", "V1Manager": "v1.manager",
    "V2Manager": "v2.manager",
    "manager_for": "factory", "resolve_path": "factory", "blkio_weight_to_io": "convert",
    "shares_to_weight": "convert", "swap_to_v2": "convert", "weight_to_shares": "convert",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod = __import__(f"{__name__}.{module}", fromlist=[name])
    value = getattr(mod, name)
    globals()[name] = value
    return value
