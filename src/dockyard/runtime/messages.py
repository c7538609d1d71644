"""The typed messages the runtime and its init exchange over a SOCK_SEQPACKET pair.

One datagram per message: ``{"kind": <Kind>, ...payload}`` as JSON. The init reports
progress and failures; the parent answers when it has done its part (uid maps, cgroup,
hooks). A closed socket is a message too: the peer died. ``_socket`` is used directly
because ``socket`` imports ``enum`` and friends, milliseconds on every start.
"""

from __future__ import annotations

from dockyard import errors
from dockyard.runtime.jsonfast import dumps, loads

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from _socket import socket
    from typing import Any

__all__ = ["Kind", "error_from", "recv", "send", "send_error"]


class Kind:
    """Message kinds, by direction."""

    USERNS_READY = "userns-ready"    # child -> parent: unshared the user ns, write maps
    MAPS_WRITTEN = "maps-written"    # parent -> child
    INIT_PID = "init-pid"            # intermediate -> parent: pid of the container init
    CGROUP_JOINED = "cgroup-joined"  # parent -> init: you are in the cgroup (+ hook state)
    RUN_HOOKS = "run-hooks"          # init -> parent: prestart/createRuntime time
    HOOKS_DONE = "hooks-done"        # parent -> init
    READY = "ready"                  # init -> parent: waiting on exec.fifo
    ERROR = "error"                  # either way: one-line message and error class
    ALL = frozenset({USERNS_READY, MAPS_WRITTEN, INIT_PID, CGROUP_JOINED,
                     RUN_HOOKS, HOOKS_DONE, READY, ERROR})


def send(sock: socket, kind: str, **payload: Any) -> None:
    payload["kind"] = kind
    sock.send(dumps(payload).encode())


def send_error(sock: socket, exc: BaseException) -> None:
    cls = type(exc).__name__ if isinstance(exc, errors.DockyardError) else "SystemFailure"
    send(sock, Kind.ERROR, error=cls, message=str(exc))


def recv(sock: socket) -> tuple[str, dict[str, Any]]:
    """The next message; a peer that went away is reported as an ``ERROR``."""
    raw = sock.recv(65536)
    if not raw:
        return Kind.ERROR, {"error": "SystemFailure",
                            "message": "container init exited during setup"}
    data = loads(raw)
    kind = data.pop("kind", None)
    if kind not in Kind.ALL:
        return Kind.ERROR, {"error": "SystemFailure", "message": f"bad message {kind!r}"}
    return kind, data


def error_from(payload: dict[str, Any]) -> errors.DockyardError:
    """Rebuild the error the peer sent, as the same ``dockyard.errors`` class."""
    cls = getattr(errors, str(payload.get("error")), errors.SystemFailure)
    if not (isinstance(cls, type) and issubclass(cls, errors.DockyardError)):
        cls = errors.SystemFailure
    return cls(str(payload.get("message", "unknown error")))  # type: ignore[no-any-return]
