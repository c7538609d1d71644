"""Bad requests get dockerd 20.10's statuses (and its words where docker's are fixed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.conftest import Served, api_call

pytestmark = pytest.mark.peer

# (method, path, body, compare the message too)
CASES: list[tuple[str, str, Any, bool]] = [
    ("GET", "/v1.41/no/such/endpoint", None, True),
    ("GET", "/v1.41/containers/nosuch/json", None, True),
    ("POST", "/v1.41/containers/nosuch/start", None, True),
    ("POST", "/v1.41/containers/nosuch/kill", None, True),
    ("DELETE", "/v1.41/containers/nosuch", None, True),
    ("GET", "/v1.41/containers/nosuch/logs?stdout=1", None, True),
    # dockerd 20.10 answers 500 to undecodable bodies; docker 23 and later 400, as we do
    ("POST", "/v1.41/containers/create", b"{", False),
    ("POST", "/v1.41/containers/create", {}, True),
    ("POST", "/v1.41/containers/create", {"Image": "busybox", "Env": "A=1"}, False),
    ("POST", "/v1.41/containers/create", {"Image": "busybox", "Tty": "yes"}, False),
    ("POST", "/v1.41/containers/create", {"Image": "nosuchimage:1"}, True),
    ("POST", "/v1.41/containers/create?name=bad%20name!", {"Image": "busybox",
                                                          "Cmd": ["true"]}, True),
    ("GET", '/v1.41/containers/json?filters={"bogus":["x"]}', None, False),
    ("GET", "/v1.41/containers/json?filters={", None, False),
    # dockerd 20.10 says "no such image: X: No such image: X"; later ones say it once
    ("GET", "/v1.41/images/nosuchimage:1/json", None, False),
    ("DELETE", "/v1.41/images/nosuchimage:1", None, False),
    ("GET", "/v1.41/exec/nosuch/json", None, True),
    ("POST", "/v1.41/containers/nosuch/exec", {"Cmd": ["true"]}, True),
]


def _send(sock: str, method: str, path: str, body: Any) -> tuple[int, str]:
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    status, data = api_call(sock, method, path, raw)
    message = json.loads(data).get("message", "") if status >= 400 and data else ""
    return status, message


@pytest.fixture(scope="module")
def docker_sock(dockerd: Any, busybox_rootfs_template: Path) -> str:
    dockerd.import_rootfs(busybox_rootfs_template, "busybox")
    return str(dockerd.host).removeprefix("unix://")


@pytest.mark.parametrize(("method", "path", "body", "same_words"), CASES,
                         ids=[f"{m} {p}" for m, p, _, _ in CASES])
def test_same_status_as_dockerd(served: Served, docker_sock: str, method: str, path: str,
                                body: Any, same_words: bool) -> None:
    served.ok("image", "inspect", "busybox") if served.docker(
        "image", "inspect", "busybox").returncode == 0 else served.ok(
        "run", "--rm", "--network", "none", "busybox", "true")
    ours = _send(served.sock, method, path, body)
    theirs = _send(docker_sock, method, path, body)
    if theirs[0] == 500 and ("unmarshal" in theirs[1] or "EOF" in theirs[1] or
                             "JSON input" in theirs[1]):
        theirs = (400, theirs[1])  # see above: a decoding error is the client's
    assert ours[0] == theirs[0], f"ours {ours}, dockerd {theirs}"
    assert ours[1], "an error without a message"
    if same_words:
        assert ours[1].lower() == theirs[1].lower(), f"ours {ours}, dockerd {theirs}"


def test_conflicts_match_dockerd(served: Served, docker_sock: str, name: str) -> None:
    """Kill a stopped container, reuse a name: 409 on both."""
    for sock in (served.sock, docker_sock):
        status, data = api_call(sock, "POST", f"/v1.41/containers/create?name={name}",
                                json.dumps({"Image": "busybox", "Cmd": ["true"],
                                            "HostConfig": {"NetworkMode": "none"}}).encode())
        assert status == 201, data
        try:
            assert _send(sock, "POST", f"/v1.41/containers/{name}/kill", None)[0] == 409
            again = _send(sock, "POST", f"/v1.41/containers/create?name={name}",
                          {"Image": "busybox", "Cmd": ["true"]})
            assert again[0] == 409 and "is already in use" in again[1]
        finally:
            api_call(sock, "DELETE", f"/v1.41/containers/{name}?force=1")
