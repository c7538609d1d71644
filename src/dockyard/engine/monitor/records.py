"""What the monitor writes into the container dir, and how it is read back.

``$ROOT/containers/<id>/state.json`` holds Docker's ``State`` object (Status, Running,
Paused, Restarting, OOMKilled, Dead, Pid, ExitCode, Error, StartedAt, FinishedAt). The
monitor owns that file while it lives and rewrites it atomically at each change.
Imported by the monitor process: standard library, light modules only.
"""

from __future__ import annotations

import os

from dockyard.fileio import atomic_write

from .protocol import dumps

__all__ = ["error_exit_code", "oom_kill_count", "read_state", "write_json_atomic"]


def write_json_atomic(path: str, obj: object, durable: bool = True) -> None:
    """``obj`` as one line of JSON, replacing ``path`` atomically (and, with
    ``durable``, fsynced so that it survives a power loss)."""
    atomic_write(path, dumps(obj).encode() + b"\n", mode=0o644, sync=durable)


def read_state(container_dir: str | os.PathLike[str]) -> dict[str, object] | None:
    """The State the monitor last recorded, or None if it never wrote one."""
    import json

    try:
        with open(os.path.join(container_dir, "state.json"), "rb") as f:
            obj = json.load(f)
    except FileNotFoundError:
        return None
    return obj if isinstance(obj, dict) else None


def error_exit_code(message: str) -> int:
    """Docker's State.ExitCode for a container that could not start."""
    low = message.lower()
    if "executable file not found" in low:
        return 127
    if "exec" in low and "no such file or directory" in low:
        return 127
    if "exec" in low and ("permission denied" in low or "is a directory" in low):
        return 126
    return 128


def _read_counter(path: str, key: str) -> int | None:
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        return None
    return None


def oom_kill_count(cfg: dict[str, object]) -> int:
    """How many processes the kernel's OOM killer took in the container's cgroup.

    For an absolute cgroups path, reads the memory controller's counter directly (v1
    ``memory.oom_control``, v2 ``memory.events``); otherwise, or if neither file is
    there, asks the runtime's cgroup manager (importing it costs the exit ~3 ms).
    """
    cgroups_path = str(cfg.get("cgroups_path") or "")
    if not cgroups_path or ":" in cgroups_path:
        return 0
    rel = cgroups_path.lstrip("/")
    if cgroups_path.startswith("/"):
        for path in (f"/sys/fs/cgroup/memory/{rel}/memory.oom_control",
                     f"/sys/fs/cgroup/{rel}/memory.events",
                     f"/sys/fs/cgroup/unified/{rel}/memory.events"):
            count = _read_counter(path, "oom_kill")
            if count is not None:
                return count
    try:
        from dockyard.runtime.cgroups import manager_for  # type: ignore[attr-defined]

        return int(manager_for(cgroups_path, str(cfg["id"])).oom_kill_count())
    except Exception:  # the manager is optional here
        return 0
