"""Messages between the runtime and its init survive the socket; errors keep their class."""

from __future__ import annotations

import _socket

import pytest

from dockyard import errors
from dockyard.runtime.messages import Kind, error_from, recv, send, send_error


@pytest.fixture
def pair() -> tuple[_socket.socket, _socket.socket]:
    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)


def test_round_trip(pair: tuple[_socket.socket, _socket.socket]) -> None:
    a, b = pair
    send(a, Kind.INIT_PID, pid=42)
    send(a, Kind.READY)
    assert recv(b) == (Kind.INIT_PID, {"pid": 42})
    assert recv(b) == (Kind.READY, {})
    a.close()
    kind, payload = recv(b)
    assert kind == Kind.ERROR and "exited" in payload["message"]


@pytest.mark.parametrize("exc", [errors.CommandNotFound("exec: x: not found"),
                                 errors.InvalidConfig("config.json: x: bad"),
                                 errors.Forbidden("no"), OSError(13, "denied")])
def test_errors_keep_their_class(pair: tuple[_socket.socket, _socket.socket],
                                 exc: BaseException) -> None:
    a, b = pair
    send_error(a, exc)
    kind, payload = recv(b)
    assert kind == Kind.ERROR
    rebuilt = error_from(payload)
    expected = type(exc) if isinstance(exc, errors.DockyardError) else errors.SystemFailure
    assert type(rebuilt) is expected and str(rebuilt) == str(exc)


def test_unknown_kinds_and_classes_are_failures(pair: tuple[_socket.socket,
                                                            _socket.socket]) -> None:
    a, b = pair
    a.send(b'{"kind": "surprise"}')
    assert recv(b)[0] == Kind.ERROR
    assert type(error_from({"error": "os", "message": "m"})) is errors.SystemFailure
