"""What ``create`` records about networks, and docker's errors for bad combinations
(no kernel: only the store's files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.networking import Networking, network_of_mode
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.settings import Roots


@pytest.fixture
def nets(tmp_path: Path) -> Networking:
    n = Networking(Roots(tmp_path / "root", tmp_path / "run"))
    n.store.create("app", subnet="10.210.0.0/24")
    return n


@pytest.mark.parametrize(("mode", "want"), [
    ("", "bridge"), ("default", "bridge"), ("bridge", "bridge"), ("host", None),
    ("none", None), ("container:abc", None), ("app", "app"),
])
def test_network_of_mode(mode: str, want: str | None) -> None:
    assert network_of_mode(mode) == want


def _ep(ip: str = "", aliases: list[str] | None = None) -> dict[str, Any]:
    return {"IPAMConfig": {"IPv4Address": ip} if ip else None, "Aliases": aliases}


def test_plan_records_network_id_aliases_and_address(nets: Networking) -> None:
    app = nets.store.get("app")["Id"]
    got = nets.plan({"NetworkMode": "app"},
                    {"EndpointsConfig": {"app": _ep("10.210.0.5", ["db"])}})
    assert got == {"app": {"NetworkID": app, "Aliases": ["db"],
                           "IPAMConfig": {"IPv4Address": "10.210.0.5"}}}
    bridge = nets.plan({"NetworkMode": "default"}, None)
    assert list(bridge) == ["bridge"] and bridge["bridge"]["IPAMConfig"] is None
    assert nets.plan({"NetworkMode": app[:12]}, None).keys() == {"app"}
    assert nets.plan({"NetworkMode": "host"}, None) == {}
    assert nets.plan({"NetworkMode": "none"}, {"EndpointsConfig": {}}) == {}


@pytest.mark.parametrize(("mode", "endpoints", "error", "message"), [
    ("nosuch", {}, NotFound, "network nosuch not found"),
    ("default", {"default": _ep("172.17.0.9")}, InvalidArgument, "user defined networks only"),
    ("bridge", {"bridge": _ep(aliases=["x"])}, InvalidArgument,
     "network-scoped alias is supported only for containers in user defined networks"),
    ("none", {"none": _ep("10.0.0.2")}, InvalidArgument, "user defined networks only"),
    ("app", {"app": _ep("10.9.0.1")}, InvalidArgument, "does not belong"),
    ("app", {"app": _ep("10.210.0.1")}, Conflict, "Address already in use"),
    ("app", {"app": _ep(), "bridge": _ep()}, InvalidArgument,
     "cannot be connected to network endpoints"),
])
def test_plan_refuses_with_dockers_message(nets: Networking, mode: str,
                                           endpoints: dict[str, Any],
                                           error: type[Exception], message: str) -> None:
    before = sorted(p.name for p in nets.store.dir.iterdir())
    with pytest.raises(error, match=message):
        nets.plan({"NetworkMode": mode}, {"EndpointsConfig": endpoints})
    assert sorted(p.name for p in nets.store.dir.iterdir()) == before
