"""The typed messages the runtime and its init exchange over a SOCK_SEQPACKET pair.

One datagram per message: ``{"kind": <Kind>, ...payload}`` as JSON. The init reports
progress and failures; the parent answers when it has done its part (uid maps, cgroup,
hooks). A closed socket is a message too: the peer died.
"""

from __future__ import annotations

import json
import socket
from enum import StrEnum
from typing import Any

from dockyard import errors

__all__ = ["Kind", "error_from", "recv", "send", "send_error"]


class Kind(StrEnum):
    USERNS_READY = "userns-ready"    # child -> parent: unshared the user ns, write maps
    MAPS_WRITTEN = "maps-written"    # parent -> child
    INIT_PID = "init-pid"            # intermediate -> parent: pid of the container init
    JOIN_CGROUP = "join-cgroup"      # init -> parent: put me into the cgroup
    CGROUP_JOINED = "cgroup-joined"  # parent -> init
    RUN_HOOKS = "run-hooks"          # init -> parent: prestart/createRuntime time
    HOOKS_DONE = "hooks-done"        # parent -> init
    READY = "ready"                  # init -> parent: waiting on exec.fifo
    ERROR = "error"                  # either way: one-line message and error class


def send(sock: socket.socket, kind: Kind, **payload: Any) -> None:
    payload["kind"] = kind.value
    sock.send(json.dumps(payload).encode())


def send_error(sock: socket.socket, exc: BaseException) -> None:
    cls = type(exc).__name__ if isinstance(exc, errors.DockyardError) else "SystemFailure"
    send(sock, Kind.ERROR, error=cls, message=str(exc))


def recv(sock: socket.socket) -> tuple[Kind, dict[str, Any]]:
    """The next message; a peer that went away is reported as an ``ERROR``."""
    raw = sock.recv(65536)
    if not raw:
        return Kind.ERROR, {"error": "SystemFailure",
                            "message": "container init exited during setup"}
    data = json.loads(raw)
    return Kind(data.pop("kind")), data


def error_from(payload: dict[str, Any]) -> errors.DockyardError:
    """Rebuild the error the peer sent, as the same ``dockyard.errors`` class."""
    cls = getattr(errors, str(payload.get("error")), errors.SystemFailure)
    if not (isinstance(cls, type) and issubclass(cls, errors.DockyardError)):
        cls = errors.SystemFailure
    return cls(str(payload.get("message", "unknown error")))  # type: ignore[no-any-return]
