"""The -p/-P/--expose parser against the docker CLI's results and messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument, NotFound
from dockyard.network.ports import (
    PortMapping,
    PublishedPort,
    format_port,
    network_settings_ports,
    parse_expose,
    parse_port_range,
    parse_publish,
    parse_publish_specs,
    publish_all,
    split_port_key,
)


@pytest.mark.parametrize("spec, expect", [
    ("80", [PortMapping("80/tcp", "", "")]),
    ("80/udp", [PortMapping("80/udp", "", "")]),
    ("80/UDP", [PortMapping("80/udp", "", "")]),
    ("80/sctp", [PortMapping("80/sctp", "", "")]),
    ("80/", [PortMapping("80/tcp", "", "")]),
    ("8080:80", [PortMapping("80/tcp", "", "8080")]),
    ("127.0.0.1:18080:80", [PortMapping("80/tcp", "127.0.0.1", "18080")]),
    ("127.0.0.1::80", [PortMapping("80/tcp", "127.0.0.1", "")]),
    (":80", [PortMapping("80/tcp", "", "")]),
    ("127.0.0.1:18080:80/udp", [PortMapping("80/udp", "127.0.0.1", "18080")]),
    ("[::1]:8080:80", [PortMapping("80/tcp", "::1", "8080")]),
    ("::1:8080:80", [PortMapping("80/tcp", "::1", "8080")]),
    ("8080:80/tcp/x", [PortMapping("80/tcp", "", "8080")]),
    ("0080:080", [PortMapping("80/tcp", "", "80")]),
    ("8000-8001:80", [PortMapping("80/tcp", "", "8000-8001")]),
    ("8000-8002:80-82", [PortMapping("80/tcp", "", "8000"), PortMapping("81/tcp", "", "8001"),
                         PortMapping("82/tcp", "", "8002")]),
    ("80-81", [PortMapping("80/tcp", "", ""), PortMapping("81/tcp", "", "")]),
    ("1.2.3.4:9000-9001:80-81/udp", [PortMapping("80/udp", "1.2.3.4", "9000"),
                                     PortMapping("81/udp", "1.2.3.4", "9001")]),
    ("5-5:7", [PortMapping("7/tcp", "", "5")]),
])
def test_good_specs(spec: str, expect: list[PortMapping]) -> None:
    assert parse_publish(spec) == expect


# The messages the docker 28 CLI prints for these (checked against it in
# tests/integration/network/test_ports_docker.py).
BAD = [
    ("foo", "invalid containerPort: foo"),
    ("80/xyz", "invalid proto: xyz"),
    ("65536", "invalid containerPort: 65536"),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("abc:80", "invalid hostPort: abc"),
    ("8000-8005:80-82",
     "invalid ranges specified for container and host Ports: 80-82 and 8000-8005"),
    ("80-70", "invalid containerPort: 80-70"),
    ("", "no port specified: <empty>"),
    ("1.2.3.4:80", "invalid hostPort: 1.2.3.4"),
    ("99999:80", "invalid hostPort: 99999"),
    ("a-b:80", "invalid hostPort: a-b"),
    ("+80", "invalid containerPort: +80"),
    ("-80", "invalid containerPort: -80"),
    ("8080:", "no port specified: 8080:<empty>"),
    ("8080:/tcp", "no port specified: 8080:/tcp<empty>"),
    ("x:1:2", "invalid IP address: x"),
    ("80-", "invalid containerPort: 80-"),
    ("٨٠", "invalid containerPort: ٨٠"),
    ("1 ", "invalid containerPort: 1 "),
]


@pytest.mark.parametrize("spec, message", BAD)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_publish(spec)
    assert str(err.value) == message


@given(st.text(alphabet="0123456789:-/.[]abtcpud ", max_size=24))
def test_any_spec_parses_or_fails_cleanly(spec: str) -> None:
    try:
        out = parse_publish(spec)
    except InvalidArgument as err:
        assert "\n" not in str(err)
        return
    assert out
    for m in out:
        number, proto = split_port_key(m.port)
        assert 0 <= number <= 65535 and proto in ("tcp", "udp", "sctp")


@given(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 20),
       st.sampled_from(["tcp", "udp", "sctp"]))
def test_ranges_pair_up(host: int, cont: int, width: int, proto: str) -> None:
    spec = f"{host}-{host + width}:{cont}-{cont + width}/{proto}"
    if host + width > 65535 or cont + width > 65535:
        with pytest.raises(InvalidArgument):
            parse_publish(spec)
        return
    out = parse_publish(spec)
    assert [(m.port, m.host_port) for m in out] == [
        (f"{cont + i}/{proto}", str(host + i)) for i in range(width + 1)]


def test_specs_merge_into_docker_shapes() -> None:
    exposed, bindings = parse_publish_specs(["8080:80", "127.0.0.1:8081:80", "53/udp"])
    assert exposed == {"80/tcp": {}, "53/udp": {}}
    assert bindings == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8081"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
    }


def test_publish_all_adds_only_unbound() -> None:
    bindings = {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    out = publish_all({"80/tcp": {}, "443/tcp": {}}, bindings)
    assert out == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                   "443/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert bindings == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


@pytest.mark.parametrize("spec, expect", [
    ("80", ["80/tcp"]), ("53/udp", ["53/udp"]), ("8000-8002", ["8000/tcp", "8001/tcp", "8002/tcp"]),
])
def test_expose(spec: str, expect: list[str]) -> None:
    assert parse_expose(spec) == expect


@pytest.mark.parametrize("spec", ["x", "80/xyz", "90-80", "1:2", ""])
def test_bad_expose(spec: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_expose(spec)


def test_port_range_errors() -> None:
    assert parse_port_range("7-9") == (7, 9)
    for bad in ["", "9-7", "x", "1-", "70000"]:
        with pytest.raises(ValueError):
            parse_port_range(bad)


PORTS = network_settings_ports(
    ["80/tcp", "443/tcp", "53/udp"],
    [PublishedPort("tcp", 80, "0.0.0.0", 32768), PublishedPort("udp", 53, "127.0.0.1", 5353),
     PublishedPort("tcp", 80, "::", 32768), PublishedPort("tcp", 9, "0.0.0.0", 9)])


def test_network_settings_ports_shape() -> None:
    assert PORTS == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"},
                   {"HostIp": "::", "HostPort": "32768"}],
        "443/tcp": None,
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
        "9/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9"}],
    }


def test_format_port_lists_all_in_natural_order() -> None:
    assert format_port(PORTS, "web") == [
        "9/tcp -> 0.0.0.0:9",
        "53/udp -> 127.0.0.1:5353",
        "80/tcp -> 0.0.0.0:32768",
        "80/tcp -> [::]:32768",
    ]


def test_format_port_one() -> None:
    assert format_port(PORTS, "web", "80") == ["0.0.0.0:32768", "[::]:32768"]
    assert format_port(PORTS, "web", "53/udp") == ["127.0.0.1:5353"]
    with pytest.raises(NotFound, match=r"^No public port '443/tcp' published for web$"):
        format_port(PORTS, "web", "443")
    with pytest.raises(InvalidArgument):
        format_port(PORTS, "web", "http")
