"""OCI runtime: turns a bundle (config.json + rootfs) into a confined process.

Standard library, ctypes and libseccomp only: this is the hot path of every start.
Shipped as the runc-compatible ``dockyard-runtime`` command (``runtime/cli``).

The lifecycle as a library, over a state root (``--root``)::

    create(root, id, bundle, pid_file=None, console_socket=None) -> ContainerState
    start(root, id); state(root, id) -> dict; kill(root, id, signal, all=False)
    delete(root, id, force=False); exec_process(root, id, ExecOptions) -> exit code
    pause(root, id); resume(root, id); ps(root, id) -> list[int]

Each function imports its module on first use, so ``import dockyard.runtime`` costs
nothing on the hot path.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.container_state import ContainerState, StrPath
    from dockyard.runtime.exec import ExecOptions

__all__ = ["create", "delete", "exec_process", "kill", "pause", "ps", "resume", "start",
           "state"]




def create(state_root: StrPath, container_id: str, bundle: StrPath, *, pid_file: str | None = None,
           console_socket: str | None = None, preserve_fds: int = 0) -> ContainerState:
    """Create a container whose init waits for ``start``; see ``runtime/create.py``."""
    from dockyard.runtime.container_create import create as _create

    return _create(state_root, container_id, bundle, pid_file=pid_file,
                   console_socket=console_socket, preserve_fds=preserve_fds)


def start(state_root: StrPath, container_id: str) -> None:
    """Release a created container's init to exec the user's process."""
    from dockyard.runtime.container_start import start as _start

    _start(state_root, container_id)


def state(state_root: StrPath, container_id: str) -> dict[str, Any]:
    """runc's state JSON: ociVersion, id, pid, status, bundle, rootfs, created, owner."""
    from dockyard.runtime.container_state import load

    return load(state_root, container_id).to_oci()


def kill(state_root: StrPath, container_id: str, signal: str | int = "SIGTERM",
         all: bool = False) -> None:
    """Signal the init (``all``: every process of the container)."""
    from dockyard.runtime.container_kill import kill as _kill

    _kill(state_root, container_id, signal, all=all)


def delete(state_root: StrPath, container_id: str, force: bool = False) -> None:
    """Remove a stopped (or, with ``force``, any) container."""
    from dockyard.runtime.container_delete import delete as _delete

    _delete(state_root, container_id, force=force)


def exec_process(state_root: StrPath, container_id: str, options: ExecOptions) -> int:
    """Run another process in a running container; its exit code (0 when detached)."""
    from dockyard.runtime.exec import exec_process as _exec

    return _exec(state_root, container_id, options)


def pause(state_root: StrPath, container_id: str) -> None:
    """Freeze every process of the container."""
    from dockyard.runtime.ops import pause as _pause

    _pause(state_root, container_id)


def resume(state_root: StrPath, container_id: str) -> None:
    """Thaw a paused container."""
    from dockyard.runtime.ops import resume as _resume

    _resume(state_root, container_id)


def ps(state_root: StrPath, container_id: str) -> list[int]:
    """Host pids of the container's processes."""
    from dockyard.runtime.ops import ps as _ps

    return _ps(state_root, container_id)
