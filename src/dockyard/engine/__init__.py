"""Container lifecycle: the Docker-shaped model (Config, HostConfig, State...), spec
generation, the per-container monitor, logs. Ties images, runtime, network and volumes.

``Engine`` is imported on first use so that the monitor and light commands do not pay
for the whole package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.engine.facade import Engine

__all__ = ["Engine"]


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from dockyard.engine.facade import Engine

        return Engine
    raise AttributeError(name)
