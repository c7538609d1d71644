"""The rules nft.py writes (pure parts): owners in comments read back, rule shapes."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from dockyard.network import nft
from dockyard.network.ports import PublishedPort


@dataclass
class Ep:
    endpoint_id: str
    address: str
    prefixlen: int
    bridge: str
    veth: str


EP = Ep("e" * 64, "10.1.2.3", 24, "dyb1", "dyv1")


@given(st.sampled_from(["tcp", "udp", "sctp"]), st.integers(0, 65535),
       st.sampled_from(["0.0.0.0", "127.0.0.1", "10.9.8.7"]), st.integers(1, 65535))
def test_dnat_comment_reads_back(proto: str, cport: int, ip: str, hport: int) -> None:
    port = PublishedPort(proto, cport, ip, hport)
    rule = nft._dnat_rule("t", EP, port)["add"]["rule"]
    assert nft._parse_owner(rule["comment"]) == (EP.endpoint_id, port)
    exprs = rule["expr"]
    assert exprs[-1] == {"dnat": {"addr": "10.1.2.3", "port": cport}}
    daddr = [e for e in exprs if e.get("match", {}).get("left") ==
             {"payload": {"protocol": "ip", "field": "daddr"}}]
    assert (daddr == []) == (ip == "0.0.0.0")


def test_other_comments_are_not_owners() -> None:
    for comment in ["base", "net:abc", "ep:x", "ep:x tcp 1.2.3.4:80", ""]:
        assert nft._parse_owner(comment) is None


def test_hairpin_sources_are_loopback_and_the_subnet() -> None:
    rule = nft._hairpin_rule("t", EP)["add"]["rule"]
    assert rule["comment"] == f"ep:{EP.endpoint_id}"
    sets = [e["match"]["right"] for e in rule["expr"] if isinstance(
        e.get("match", {}).get("right"), dict) and "set" in e["match"]["right"]]
    assert sets == [{"set": [{"prefix": {"addr": "127.0.0.0", "len": 8}},
                             {"prefix": {"addr": "10.1.2.0", "len": 24}}]}]


def test_owned_matches_whole_owner_only() -> None:
    items = [{"rule": {"chain": "c", "handle": 1, "comment": "ep:ab tcp 0.0.0.0:1 1"}},
             {"rule": {"chain": "c", "handle": 2, "comment": "ep:abc tcp 0.0.0.0:2 2"}},
             {"rule": {"chain": "c", "handle": 3, "comment": "ep:ab"}},
             {"rule": {"chain": "c", "handle": 4}}]
    assert [r["handle"] for r in nft._owned(items, "ep:ab")] == [1, 3]
