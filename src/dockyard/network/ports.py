"""The ``-p``/``-P``/``--expose`` syntax and Docker's port shapes; pure functions.

``-p [ip:][hostPort:]containerPort[/proto]`` with port ranges becomes Docker's
``ExposedPorts`` (``{"80/tcp": {}}``) and ``PortBindings`` (``{"80/tcp":
[{"HostIp": "", "HostPort": "8080"}]}``), with the docker CLI's error messages for
bad specs. Once host ports are chosen, ``network_settings_ports`` gives the
``NetworkSettings.Ports`` shape and ``format_port`` the lines of ``dockyard port``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument, NotFound

__all__ = [
    "PROTOCOLS",
    "PortMapping",
    "PublishedPort",
    "format_port",
    "network_settings_ports",
    "parse_expose",
    "parse_port_range",
    "parse_publish",
    "parse_publish_specs",
    "publish_all",
    "split_port_key",
]

PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class PortMapping:
    """One container port of a ``-p`` spec: ``port`` is ``80/tcp``; host parts may be ''.

    ``host_port`` is one port, '' (choose one), or a range ``8000-8005`` to choose from.
    """

    port: str
    host_ip: str
    host_port: str

    def binding(self) -> dict[str, str]:
        return {"HostIp": self.host_ip, "HostPort": self.host_port}


@dataclass(frozen=True)
class PublishedPort:
    """A published port with everything chosen: what nft DNATs and inspect shows."""

    proto: str
    container_port: int
    host_ip: str
    host_port: int


def parse_port_range(text: str) -> tuple[int, int]:
    """``80`` → (80, 80), ``80-85`` → (80, 85); ValueError like Go's ParseUint."""
    if text == "":
        raise ValueError("empty string specified for ports")
    if "-" not in text:
        port = _uint16(text)
        return port, port
    parts = text.split("-")
    start, end = _uint16(parts[0]), _uint16(parts[1])
    if end < start:
        raise ValueError(f"invalid range specified for port: {text}")
    return start, end


def _uint16(text: str) -> int:
    if not text or not text.isascii() or not text.isdigit():
        raise ValueError(f"invalid port: {text!r}")
    value = int(text)
    if value > 0xFFFF:
        raise ValueError(f"port out of range: {text}")
    return value


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    # An unbracketed IPv6 address keeps its colons: only the last two parts are ports.
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _split_proto(raw: str) -> tuple[str, str]:
    parts = raw.split("/")
    if raw == "" or parts[0] == "":
        return "", ""
    if len(parts) == 1 or parts[1] == "":
        return "tcp", parts[0]
    return parts[1], parts[0]


def parse_publish(raw: str) -> list[PortMapping]:
    """One ``-p`` value → one mapping per container port, or ``InvalidArgument``."""
    ip, host_port, container_part = _split_parts(raw)
    proto, container_port = _split_proto(container_part)
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise InvalidArgument(f"invalid IP address {ip}: missing ']' in address")
        ip = ip[1:-1]
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidArgument(f"invalid IP address: {ip}") from None
    if container_port == "":
        raise InvalidArgument(f"no port specified: {raw}<empty>")
    try:
        start, end = parse_port_range(container_port)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {container_port}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = parse_port_range(host_port)
        except ValueError:
            raise InvalidArgument(f"invalid hostPort: {host_port}") from None
        # A host range for a single container port is a range to choose from.
        if end - start != host_end - host_start and end != start:
            raise InvalidArgument(
                "invalid ranges specified for container and host Ports: "
                f"{container_port} and {host_port}")
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        hp = ""
        if host_port:
            hp = str(host_start + i)
            if start == end and host_start != host_end:
                hp = f"{host_start}-{host_end}"
        out.append(PortMapping(f"{start + i}/{proto}", ip, hp))
    return out


def parse_publish_specs(
    specs: Iterable[str],
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """All ``-p`` values → (``ExposedPorts``, ``PortBindings``) as the docker CLI sends them."""
    exposed: dict[str, dict[str, Any]] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for raw in specs:
        for m in parse_publish(raw):
            exposed.setdefault(m.port, {})
            bindings.setdefault(m.port, []).append(m.binding())
    return exposed, bindings


def parse_expose(raw: str) -> list[str]:
    """One ``--expose`` value (``80``, ``80/udp``, ``8000-8002``) → port keys."""
    proto, port = _split_proto(raw)
    if ":" in raw:
        raise InvalidArgument(f"invalid port format for --expose: {raw}")
    try:
        start, end = parse_port_range(port)
    except ValueError as err:
        raise InvalidArgument(
            f"invalid range format for --expose: {raw}, error: {err}") from None
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def split_port_key(key: str) -> tuple[int, str]:
    """``80/tcp`` → (80, "tcp"); a key without protocol is tcp."""
    proto, port = _split_proto(key)
    try:
        number = _uint16(port)
    except ValueError:
        raise InvalidArgument(f"invalid port: {key}") from None
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    return number, proto


def publish_all(
    exposed: Mapping[str, Any], bindings: Mapping[str, list[dict[str, str]]],
) -> dict[str, list[dict[str, str]]]:
    """``-P``: every exposed port without a binding gets one to a host port chosen later."""
    out = {k: list(v) for k, v in bindings.items()}
    for key in exposed:
        if not out.get(key):
            out[key] = [{"HostIp": "", "HostPort": ""}]
    return out


def network_settings_ports(
    exposed: Iterable[str], published: Iterable[PublishedPort],
) -> dict[str, list[dict[str, str]] | None]:
    """``NetworkSettings.Ports``: every exposed port, ``None`` where nothing is published."""
    out: dict[str, list[dict[str, str]] | None] = {key: None for key in exposed}
    for p in published:
        key = f"{p.container_port}/{p.proto}"
        entries = out.get(key) or []
        entries.append({"HostIp": p.host_ip, "HostPort": str(p.host_port)})
        out[key] = entries
    return out


def _natural_key(text: str) -> list[Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", text) if part]


def _address(host_ip: str, host_port: str) -> str:
    if ":" in host_ip:
        return f"[{host_ip}]:{host_port}"
    return f"{host_ip}:{host_port}"


def format_port(
    ports: Mapping[str, list[dict[str, str]] | None], name: str, port: str | None = None,
) -> list[str]:
    """Lines of ``dockyard port NAME [PORT[/PROTO]]`` from ``NetworkSettings.Ports``.

    Without ``port``: ``80/tcp -> 0.0.0.0:8080`` for every binding, in natural order.
    With it: the host addresses only, or ``NotFound`` like docker's message.
    """
    if port is None:
        lines = [f"{key} -> {_address(b['HostIp'], b['HostPort'])}"
                 for key, binds in ports.items() for b in binds or []]
        return sorted(lines, key=_natural_key)
    number, proto = split_port_key(port)
    key = f"{number}/{proto}"
    binds = ports.get(key)
    if not binds:
        raise NotFound(f"No public port '{key}' published for {name}")  # docker's words
    return [_address(b["HostIp"], b["HostPort"]) for b in binds]
