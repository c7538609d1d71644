"""Container lifecycle: the Docker-shaped model (Config, HostConfig, State...), spec
generation, the per-container monitor, logs. Ties images, runtime, network and volumes.

``Engine`` is imported on first use so that the monitor and light commands do not pay
for the whole package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.engine.facade import Engine

__all__ = ["Engine", "image_users"]


def image_users(roots: Any) -> Any:
    """The ``in_use`` hook for ``ImageStore(roots, in_use=...)``: image id ->
    ``[(container id, running)]``."""
    from dockyard.engine.store import ContainerStore

    return ContainerStore(roots.containers).image_users


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from dockyard.engine.facade import Engine

        return Engine
    raise AttributeError(name)
