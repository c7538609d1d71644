"""Listener addresses, the loopback rule, error statuses and version parsing."""

from __future__ import annotations

import pytest

from dockyard import errors
from dockyard.api.app import _version_tuple
from dockyard.api.errors import ApiError, status_for
from dockyard.api.server import Listener, TlsOptions, check_listeners, parse_host


@pytest.mark.parametrize(("text", "want"), [
    ("unix:///run/x.sock", Listener("unix", path="/run/x.sock")),
    ("tcp://127.0.0.1:2375", Listener("tcp", host="127.0.0.1", port=2375)),
    ("tcp://[::1]:2376", Listener("tcp", host="::1", port=2376)),
])
def test_parse_host(text: str, want: Listener) -> None:
    assert parse_host(text) == want


@pytest.mark.parametrize("text", ["unix://relative.sock", "tcp://127.0.0.1", "tcp://:99999",
                                  "fd://", "http://127.0.0.1:1", "tcp://h:1/path"])
def test_parse_host_refuses(text: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="--host"):
        parse_host(text)


def test_tcp_off_loopback_needs_tls_verify() -> None:
    check_listeners([Listener("tcp", host="127.0.0.1", port=1)], TlsOptions())
    check_listeners([Listener("tcp", host="localhost", port=1)], TlsOptions())
    with pytest.raises(errors.Forbidden, match="without --tlsverify"):
        check_listeners([Listener("tcp", host="0.0.0.0", port=1)], TlsOptions())
    with pytest.raises(errors.Forbidden):
        check_listeners([Listener("tcp", host="10.1.2.3", port=1)],
                        TlsOptions(cert="c", key="k"))  # TLS without client certs
    check_listeners([Listener("tcp", host="0.0.0.0", port=1)],
                    TlsOptions(True, "ca", "c", "k"))
    with pytest.raises(errors.InvalidArgument, match="--tlscacert"):
        check_listeners([], TlsOptions(True, "", "c", "k"))


@pytest.mark.parametrize(("err", "status"), [
    (errors.NotFound("x"), 404), (errors.AlreadyExists("x"), 409), (errors.Conflict("x"), 409),
    (errors.InvalidArgument("x"), 400), (errors.InvalidConfig("x"), 400),
    (errors.CommandNotFound("x"), 400), (errors.Forbidden("x"), 403),
    (errors.Corrupt("x"), 500), (errors.SystemFailure("x"), 500), (ApiError(501, "x"), 501),
])
def test_status_for(err: Exception, status: int) -> None:
    assert status_for(err) == status


@pytest.mark.parametrize(("text", "want"), [
    ("1.43", (1, 43)), ("1.24", (1, 24)), ("2.0", (2, 0)), ("1", None), ("1.x", None),
    ("", None), ("1.4.3", None), ("99999999999.1", None),
])
def test_version_tuple(text: str, want: tuple[int, int] | None) -> None:
    assert _version_tuple(text) == want
