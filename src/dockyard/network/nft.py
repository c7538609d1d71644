"""Published ports, masquerade and isolation in the one nftables table Dockyard owns.

Layout of table ``ip <table>`` (see docs/networking-firewall.md for how to filter)::

    guard        filter prerouting -300  non-loopback traffic to 127.0.0.0/8 → drop
    prerouting   nat    prerouting -100  to a local address → jump publish
    output       nat    output     -100  to a local address → jump publish (host, 127.0.0.1)
    publish      (regular)               per endpoint: [daddr] proto dport → dnat
    postrouting  nat    postrouting 100  per network: masquerade; per endpoint: hairpin
                                         and 127.0.0.1 sources (route_localnet) masquerade
    forward      filter forward      0   per network: leaving its bridge → jump isolate;
                                         --internal: nothing in or out
    isolate      (regular)               DNAT'd (published) → return; to any bridge → drop

All of it is nftables JSON (``nft_json``). Every rule Dockyard adds carries a comment
naming its owner, ``net:<id>`` or ``ep:<id> <proto> <ip>:<port> <container port>``;
the skeleton's rules say ``base``. Changes happen
under a lock file so that concurrent ``run``s (no daemon) neither pick the same host
port nor drop the table while another adds to it; the table goes with its last owned
rule. 127.0.0.1:port reaches containers through ``route_localnet`` on the bridge
plus masquerade, the way docker does without its userland proxy.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from dockyard.errors import InvalidArgument, NotFound
from dockyard.network.nft_json import (
    FAMILY,
    Expr,
    dnat,
    list_table,
    match,
    meta,
    payload,
    prefix,
    run_batch,
)
from dockyard.network.ports import PortMapping, PublishedPort, split_port_key
from dockyard.network.ports_alloc import choose_host_port

__all__ = [
    "EndpointLike",
    "drop_table_if_empty",
    "ensure_table",
    "network_rules",
    "publish",
    "published",
    "remove_network_rules",
    "unpublish",
]

LOCK_DIR = "/run/lock"


class EndpointLike(Protocol):
    """What ``publish`` needs of an endpoint (``dockyard.network.model.Endpoint`` fits)."""

    endpoint_id: str
    address: str
    prefixlen: int
    bridge: str
    veth: str  # the host side, a port of ``bridge``


@contextlib.contextmanager
def _locked(table: str) -> Iterator[None]:
    # One lock file for every table (engines with other prefixes rarely contend), so
    # that test sessions leave no file per table behind.
    os.makedirs(LOCK_DIR, exist_ok=True)
    fd = os.open(f"{LOCK_DIR}/dockyard-nft.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _chain(table: str, name: str, kind: str = "", hook: str = "", prio: int = 0) -> Expr:
    chain: Expr = {"family": FAMILY, "table": table, "name": name}
    if kind:
        chain.update(type=kind, hook=hook, prio=prio, policy="accept")
    return {"add": {"chain": chain}}


def _rule(table: str, chain: str, comment: str, *expr: Expr) -> Expr:
    return {"add": {"rule": {"family": FAMILY, "table": table, "chain": chain,
                             "comment": comment, "expr": list(expr)}}}


_LOCAL = match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
_DNATTED = match({"ct": {"key": "status"}}, "dnat", "in")
_ACCEPT_LOCALNET = prefix("127.0.0.0/8")


def _skeleton(table: str) -> list[Expr]:
    return [
        {"add": {"table": {"family": FAMILY, "name": table}}},
        _chain(table, "guard", "filter", "prerouting", -300),
        _chain(table, "prerouting", "nat", "prerouting", -100),
        _chain(table, "output", "nat", "output", -100),
        _chain(table, "publish"),
        _chain(table, "postrouting", "nat", "postrouting", 100),
        _chain(table, "forward", "filter", "forward", 0),
        _chain(table, "isolate"),
        # route_localnet lets 127.0.0.0/8 cross the bridges: only the host may send there.
        _rule(table, "guard", "base", match(meta("iifname"), "lo", "!="),
              match(payload("ip", "daddr"), _ACCEPT_LOCALNET), {"drop": None}),
        _rule(table, "prerouting", "base", _LOCAL, {"jump": {"target": "publish"}}),
        _rule(table, "output", "base", _LOCAL, {"jump": {"target": "publish"}}),
        _rule(table, "isolate", "base", _DNATTED, {"return": None}),
    ]


def ensure_table(table: str) -> None:
    """Create Dockyard's table with its chains unless it exists (idempotent)."""
    with _locked(table):
        _ensure(table)


def _ensure(table: str) -> list[Expr]:
    try:
        return list_table(table)
    except NotFound:
        run_batch(_skeleton(table))
        return list_table(table)


def _rules(items: Sequence[Expr]) -> list[Expr]:
    return [i["rule"] for i in items if "rule" in i]


def _owned(items: Sequence[Expr], owner: str) -> list[Expr]:
    return [r for r in _rules(items)
            if r.get("comment", "") == owner or r.get("comment", "").startswith(owner + " ")]


def _delete(table: str, rules: Sequence[Expr]) -> list[Expr]:
    return [{"delete": {"rule": {"family": FAMILY, "table": table, "chain": r["chain"],
                                 "handle": r["handle"]}}} for r in rules]


def _switch_on(path: str, what: str) -> None:
    """Write ``1`` to a kernel knob of a link; NotFound naming ``what`` if it is gone."""
    try:
        with open(path, "w") as f:
            f.write("1")
    except FileNotFoundError:
        raise NotFound(f"no such {what}") from None


def _set_route_localnet(bridge: str) -> None:
    _switch_on(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet", f"bridge: {bridge}")


def _set_hairpin(veth: str) -> None:
    # br_netfilter DNATs bridged packets before routing; one DNAT'd back to its sender
    # must leave through the port it came in on, which bridges refuse without this.
    _switch_on(f"/sys/class/net/{veth}/brport/hairpin_mode", f"bridge port: {veth}")


def _subnet(net: Mapping[str, Any]) -> str:
    config = (net.get("IPAM") or {}).get("Config") or []
    if not config or not config[0].get("Subnet"):
        raise InvalidArgument(f"network {net.get('Name', '?')}: no subnet")
    return str(ipaddress.ip_network(config[0]["Subnet"], strict=False))


def network_rules(table: str, net: Mapping[str, Any]) -> None:
    """Masquerade (unless ``Internal``) and isolation for a bridge network record.

    ``net`` is the network's inspect-shaped record with Dockyard's ``Dockyard.Bridge``.
    Calling it again replaces the network's rules (nothing changes when they are in
    place: the bridge and its rules stay between containers).
    """
    net_id, bridge = str(net["Id"]), str(net["Dockyard"]["Bridge"])
    subnet, owner = prefix(_subnet(net)), f"net:{net_id}"
    brname = meta("iifname"), meta("oifname")
    adds = [
        _rule(table, "forward", owner, match(brname[0], bridge),
              match(brname[1], bridge, "!="), {"jump": {"target": "isolate"}}),
        _rule(table, "isolate", owner, match(brname[1], bridge), {"drop": None}),
    ]
    if net.get("Internal"):
        adds += [
            _rule(table, "forward", owner, match(brname[0], bridge),
                  match(brname[1], bridge, "!="), {"drop": None}),
            _rule(table, "forward", owner, match(brname[1], bridge),
                  match(brname[0], bridge, "!="), {"drop": None}),
        ]
    else:
        adds.append(_rule(table, "postrouting", owner, match(payload("ip", "saddr"), subnet),
                          match(brname[1], bridge, "!="), {"masquerade": None}))
    with _locked(table):
        items = _ensure(table)
        _set_route_localnet(bridge)
        have = _owned(items, owner)
        if _shape(have) != _shape(r["add"]["rule"] for r in adds):
            run_batch(_delete(table, have) + adds)


def _shape(rules: Iterable[Expr]) -> list[tuple[str, str]]:
    """Rules compared by chain and expressions (the listing gives back what was added,
    so a network whose rules are in place needs no transaction)."""
    return sorted((str(r["chain"]), json.dumps(r["expr"], sort_keys=True)) for r in rules)


def remove_network_rules(table: str, net_id: str) -> None:
    """Drop every rule of network ``net_id`` (its endpoints' ports go with ``unpublish``)."""
    with _locked(table):
        try:
            items = list_table(table)
        except NotFound:
            return
        run_batch(_delete(table, _owned(items, f"net:{net_id}")))


def _parse_owner(comment: str) -> tuple[str, PublishedPort] | None:
    # "ep:<id> <proto> <ip>:<host port> <container port>"
    parts = comment.split()
    if len(parts) != 4 or not parts[0].startswith("ep:"):
        return None
    ip, _, host_port = parts[2].rpartition(":")
    return parts[0][3:], PublishedPort(parts[1], int(parts[3]), ip, int(host_port))


def published(table: str) -> list[tuple[str, PublishedPort]]:
    """Every (endpoint id, port) the table publishes."""
    try:
        items = list_table(table)
    except NotFound:
        return []
    found = [_parse_owner(r.get("comment", "")) for r in _rules(items) if r["chain"] == "publish"]
    return [f for f in found if f is not None]


def publish(table: str, endpoint: EndpointLike, ports: Sequence[PortMapping]
            ) -> list[PublishedPort]:
    """DNAT host ports to ``endpoint``; returns the ports with host ports chosen.

    A host port another endpoint publishes, or a host process holds, is refused with
    docker's ``Bind for IP:PORT failed: port is already allocated`` and nothing is added.
    """
    with _locked(table):
        items = _ensure(table)
        taken = [p for _, p in published(table)]
        chosen: list[PublishedPort] = []
        for m in ports:
            number, proto = split_port_key(m.port)
            host_ip = m.host_ip or "0.0.0.0"
            if ":" in host_ip:
                raise InvalidArgument(f"publishing on IPv6 address {host_ip} is not supported")
            port = choose_host_port(proto, host_ip, m.host_port, taken + chosen)
            chosen.append(PublishedPort(proto, number, host_ip, port))
        adds = [_dnat_rule(table, endpoint, p) for p in chosen]
        if chosen:
            adds.append(_hairpin_rule(table, endpoint))
        _set_route_localnet(endpoint.bridge)
        if chosen:
            _set_hairpin(endpoint.veth)
        run_batch(_delete(table, _owned(items, f"ep:{endpoint.endpoint_id}")) + adds)
        return chosen


def _dnat_rule(table: str, ep: EndpointLike, p: PublishedPort) -> Expr:
    matches = [] if p.host_ip == "0.0.0.0" else [match(payload("ip", "daddr"), p.host_ip)]
    comment = f"ep:{ep.endpoint_id} {p.proto} {p.host_ip}:{p.host_port} {p.container_port}"
    return _rule(table, "publish", comment, *matches,
                 match(payload(p.proto, "dport"), p.host_port), dnat(ep.address, p.container_port))


def _hairpin_rule(table: str, ep: EndpointLike) -> Expr:
    # Replies must come back through the host: from the container itself or its
    # neighbours (they would answer directly), and from 127.0.0.1 (not routable).
    subnet = str(ipaddress.ip_interface(f"{ep.address}/{ep.prefixlen or 32}").network)
    sources = {"set": [_ACCEPT_LOCALNET, prefix(subnet)]}
    return _rule(table, "postrouting", f"ep:{ep.endpoint_id}",
                 match(payload("ip", "daddr"), ep.address), _DNATTED,
                 match(payload("ip", "saddr"), sources), {"masquerade": None})


def unpublish(table: str, endpoint_id: str) -> None:
    """Remove every rule of ``endpoint_id``; a missing table or rule is not an error.

    The UDP flows to its ports are forgotten too (``nft_conntrack``)."""
    with _locked(table):
        try:
            items = list_table(table)
        except NotFound:
            return
        owned = _owned(items, f"ep:{endpoint_id}")
        run_batch(_delete(table, owned))
    ports = [found[1] for r in owned if (found := _parse_owner(r.get("comment", "")))]
    if any(p.proto == "udp" for p in ports):
        from dockyard.network.nft_conntrack import forget_udp

        forget_udp(ports)


def drop_table_if_empty(table: str) -> bool:
    """Delete the table when only its skeleton is left; True if it is gone."""
    with _locked(table):
        try:
            items = list_table(table)
        except NotFound:
            return True
        if any(r.get("comment") != "base" for r in _rules(items)):
            return False
        run_batch([{"delete": {"table": {"family": FAMILY, "name": table}}}])
        return True
