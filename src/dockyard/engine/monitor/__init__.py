"""The per-container monitor process and the engine's client for it.

``start_monitor(cfg)`` launches a detached monitor that creates (and starts) the
container through a runc-compatible runtime, holds its stdio, writes its logs and
records its State into ``$ROOT/containers/<id>/state.json``. The other functions talk
to it over ``$RUN/containers/<id>/monitor.sock`` (see ``protocol``).
"""

from .attach import AttachPoint, attach, relay
from .client import (
    MonitorConfig,
    connect,
    monitor_pid,
    monitor_python,
    request,
    resize,
    start_container,
    start_monitor,
    state,
    stop_spawner,
    wait_exit,
)
from .detachkeys import DEFAULT_DETACH_KEYS, DetachFilter, parse_detach_keys
from .records import read_state

__all__ = [
    "DEFAULT_DETACH_KEYS",
    "AttachPoint",
    "DetachFilter",
    "MonitorConfig",
    "attach",
    "connect",
    "monitor_pid",
    "monitor_python",
    "parse_detach_keys",
    "read_state",
    "relay",
    "request",
    "resize",
    "start_container",
    "start_monitor",
    "state",
    "stop_spawner",
    "wait_exit",
]
