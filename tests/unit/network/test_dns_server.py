"""The embedded DNS's answers (no sockets): names, aliases, round robin, odd queries."""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dockyard.network import dns_wire as wire
from dockyard.network.dns import DnsServer, host_resolvers, monitor_config
from dockyard.network.dns_records import StoreRecords, names_of

RECORDS = {"web": ["10.0.0.2"], "db": ["10.0.0.3", "10.0.0.4", "10.0.0.5"], "empty": []}


def lookup(name: str) -> Sequence[str] | None:
    return RECORDS.get(name)


def query(name: str, qtype: int = wire.TYPE_A, qid: int = 7, flags: int = 0x0100) -> bytes:
    return (struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + wire.encode_name(name)
            + struct.pack("!HH", qtype, 1))


def addresses(reply: bytes) -> list[str]:
    q = wire.parse_query(reply)
    count = struct.unpack_from("!H", reply, 6)[0]
    body = reply[12 + len(q.question):]
    return [".".join(str(b) for b in body[16 * i + 12:16 * i + 16]) for i in range(count)]


def rcode(reply: bytes) -> int:
    return reply[3] & 0xF


def test_names_and_case() -> None:
    server = DnsServer(lookup, [])
    reply = server.respond(query("WEB"))
    assert reply is not None and addresses(reply) == ["10.0.0.2"] and rcode(reply) == 0
    assert reply[:2] == b"\x00\x07"


def test_round_robin_rotates_all_addresses() -> None:
    server = DnsServer(lookup, [])
    firsts = []
    for _ in range(3):
        reply = server.respond(query("db"))
        assert reply is not None
        got = addresses(reply)
        assert sorted(got) == RECORDS["db"]
        firsts.append(got[0])
    assert sorted(firsts) == RECORDS["db"]


def test_known_name_other_type_is_empty_noerror_and_unknown_is_relayed() -> None:
    server = DnsServer(lookup, [])
    reply = server.respond(query("web", wire.TYPE_AAAA))
    assert reply is not None and rcode(reply) == 0 and addresses(reply) == []
    assert server.respond(query("example.org")) is None
    # nothing to relay to: SERVFAIL
    assert rcode(server.relay(query("example.org"))) == wire.SERVFAIL


def test_odd_queries() -> None:
    server = DnsServer(lookup, [])
    assert server.respond(query("web", flags=0x8100)) is None  # a response: dropped
    notimp = server.respond(query("web", flags=0x2100))  # opcode 4 (notify)
    assert notimp is not None and rcode(notimp) == wire.NOTIMP
    bad = server.respond(b"\x00\x09\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07trunc")
    assert bad is not None and rcode(bad) == wire.FORMERR and bad[:2] == b"\x00\x09"
    assert server.respond(b"\x01") is None


@given(st.binary(max_size=300))
def test_any_packet_is_answered_or_dropped_never_crashes(data: bytes) -> None:
    server = DnsServer(lookup, [])
    reply = server.respond(data)
    if reply is not None:
        assert reply[:2] == data[:2] and len(reply) <= 512


def test_host_resolvers(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# x\nsearch lan\nnameserver 10.0.0.1\nnameserver fe80::1\n"
                    "nameserver 127.0.0.53\noptions ndots:2\nnameserver\n")
    assert host_resolvers(str(conf)) == ["10.0.0.1", "127.0.0.53"]
    assert host_resolvers(str(tmp_path / "none")) == []


NET = {
    "Name": "appnet", "Id": "n1",
    "Containers": {
        "a" * 64: {"Name": "web", "IPv4Address": "10.5.0.2/24"},
        "b" * 64: {"Name": "db1", "IPv4Address": "10.5.0.3/24"},
        "c" * 64: {"Name": "db2", "IPv4Address": "10.5.0.4/24"},
    },
    "Dockyard": {"Endpoints": {"b" * 64: {"Aliases": ["DB"]}, "c" * 64: {"Aliases": ["db"]}}},
}


def test_names_of_a_record() -> None:
    table = names_of(NET)
    assert table["web"] == ["10.5.0.2"] and table["web.appnet"] == ["10.5.0.2"]
    assert table["db"] == ["10.5.0.3", "10.5.0.4"]
    assert table["a" * 12] == ["10.5.0.2"]


def put(path: Path, doc: dict[str, Any]) -> None:
    """Like the network store: a temporary name, then rename."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    tmp.rename(path)


def test_store_records_follow_file_changes(tmp_path: Path) -> None:
    (tmp_path / "n1.json").write_text(json.dumps(NET))
    other = {**NET, "Name": "other", "Id": "n2", "Dockyard": {}, "Containers": {
        "d" * 64: {"Name": "hidden", "IPv4Address": "10.6.0.2/24"}}}
    (tmp_path / "n2.json").write_text(json.dumps(other))
    default = {**other, "Name": "bridge", "Id": "n3", "Containers": {
        "a" * 64: {"Name": "web", "IPv4Address": "10.7.0.2/24"}}}
    (tmp_path / "n3.json").write_text(json.dumps(default))
    records = StoreRecords(tmp_path, "a" * 64)
    assert records.lookup("hidden") is None  # a network the container is not on
    assert records.lookup("web") == ["10.5.0.2"]  # not the default bridge's address
    assert records.lookup("db.appnet") == ["10.5.0.3", "10.5.0.4"]
    assert records.lookup("nope") is None
    assert records.ptr("2.0.5.10.in-addr.arpa") == ["web.appnet"]
    assert records.ptr("9.0.5.10.in-addr.arpa") == []
    assert records.ptr("x.in-addr.arpa") == []
    changed = json.loads(json.dumps(NET))
    changed["Containers"]["e" * 64] = {"Name": "new", "IPv4Address": "10.5.0.9/24"}
    (tmp_path / "tmp").write_text(json.dumps(changed))
    (tmp_path / "tmp").rename(tmp_path / "n1.json")
    assert records.lookup("new") == ["10.5.0.9"]
    # connect to n2 (the container appears in its record): its names resolve too
    other["Containers"]["a" * 64] = {"Name": "web", "IPv4Address": "10.6.0.3/24"}
    put(tmp_path / "n2.json", other)
    assert records.lookup("hidden") == ["10.6.0.2"]
    assert records.lookup("web") == ["10.5.0.2", "10.6.0.3"]
    (tmp_path / "n2.json").unlink()
    assert records.lookup("hidden") is None
    (tmp_path / "bad").write_text("{not json")
    (tmp_path / "bad").rename(tmp_path / "n1.json")
    assert records.lookup("db") is not None  # a torn record keeps the last good table


def test_relay_only_when_some_network_is_not_internal(tmp_path: Path) -> None:
    internal = {**NET, "Internal": True}
    (tmp_path / "n1.json").write_text(json.dumps(internal))
    records = StoreRecords(tmp_path, "a" * 64)
    assert records.lookup("web") == ["10.5.0.2"] and not records.may_relay()
    server = DnsServer(records.lookup, ["127.0.0.1:9"], records.ptr, records.may_relay)
    assert rcode(server.relay(query("example.org"))) == wire.SERVFAIL  # never sent
    put(tmp_path / "n1.json", NET)
    assert records.may_relay()
    assert not StoreRecords(tmp_path, "f" * 64).may_relay()  # on no network at all


def test_monitor_config_upstreams(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.11\nnameserver 10.0.0.1\n")
    cfg = monitor_config("/ns", "/store", "c1", str(conf))
    assert cfg == {"netns": "/ns", "store": "/store", "cid": "c1", "upstreams": ["10.0.0.1"]}
    assert monitor_config("/ns", "/s", "c1", str(conf), dns=["10.9.9.9", "fe80::1"])[
        "upstreams"] == ["10.9.9.9"]
