"""``ps``'s PORTS column: the docker client's grouping of the list API's ports."""

from __future__ import annotations

import pytest

from dockyard.cli.output import displayable_ports


def _p(private: int, proto: str = "tcp", ip: str = "", public: int = 0) -> dict[str, object]:
    port: dict[str, object] = {"PrivatePort": private, "Type": proto}
    if ip:
        port.update(IP=ip, PublicPort=public)
    return port


@pytest.mark.parametrize(("ports", "text"), [
    ([], ""),
    ([_p(80)], "80/tcp"),
    ([_p(81), _p(80), _p(82)], "80-82/tcp"),
    ([_p(80), _p(82)], "80/tcp, 82/tcp"),
    ([_p(53, "udp"), _p(53)], "53/tcp, 53/udp"),
    ([_p(80, ip="127.0.0.1", public=18080)], "127.0.0.1:18080->80/tcp"),
    ([_p(8000, ip="0.0.0.0", public=8000), _p(8001, ip="0.0.0.0", public=8001)],
     "0.0.0.0:8000-8001->8000-8001/tcp"),
    ([_p(80, ip="0.0.0.0", public=80), _p(80, ip="::", public=80)],
     "0.0.0.0:80->80/tcp, [::]:80->80/tcp"),
    ([_p(80, ip="0.0.0.0", public=9000), _p(99)], "99/tcp, 0.0.0.0:9000->80/tcp"),
])
def test_displayable_ports(ports: list[dict[str, object]], text: str) -> None:
    assert displayable_ports(ports) == text
