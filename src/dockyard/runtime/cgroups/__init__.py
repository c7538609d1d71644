"""cgroups for the runtime: detection, and one manager interface over v1, v2, hybrid.

``detect_mode()`` says how this host mounts cgroups (cached);
``manager_for(cgroups_path, container_id)`` returns the ``CgroupManager`` for a
container (see ``factory`` for how cgroupsPath maps to directories). Standard
library only.
"""

from dockyard.runtime.cgroups.base import CgroupManager, CgroupMode
from dockyard.runtime.cgroups.convert import (
    blkio_weight_to_io,
    shares_to_weight,
    swap_to_v2,
    weight_to_shares,
)
from dockyard.runtime.cgroups.detect import Hierarchies, detect_mode, hierarchies
from dockyard.runtime.cgroups.factory import manager_for, resolve_path
from dockyard.runtime.cgroups.hybrid import HybridManager
from dockyard.runtime.cgroups.null import NullManager
from dockyard.runtime.cgroups.v1 import V1Manager
from dockyard.runtime.cgroups.v2 import V2Manager

__all__ = [
    "CgroupManager",
    "CgroupMode",
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
