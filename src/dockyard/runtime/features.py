"""``features``: what this runtime supports, in runc's ``features`` JSON shape."""

from __future__ import annotations

from dockyard.runtime.mounts import known_options
from dockyard.runtime.spec import HOOK_KINDS, NAMESPACE_TYPES, OCI_VERSION

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = ["features"]


def features() -> dict[str, Any]:
    from dockyard.runtime.capabilities import NAMES

    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": list(HOOK_KINDS),
        "mountOptions": known_options(),
        "linux": {
            "namespaces": sorted(NAMESPACE_TYPES),
            "capabilities": list(NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": True},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"org.opencontainers.runc.version": "dockyard"},
    }
