"""The DNS codec: queries as resolvers send them, answers byte by byte, hostile input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.network.dns_wire import (
    FORMERR,
    NXDOMAIN,
    TYPE_A,
    TYPE_PTR,
    DnsFormatError,
    answer,
    encode_name,
    error,
    header_error,
    parse_query,
)

# "web.example" A IN with RD, id 0x1234, as busybox nslookup sends it.
QUERY = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
         b"\x03web\x07example\x00\x00\x01\x00\x01")


def test_parse_query() -> None:
    q = parse_query(QUERY)
    assert (q.id, q.name, q.qtype, q.qclass, q.opcode, q.is_response) == (
        0x1234, "web.example", TYPE_A, 1, 0, False)
    assert q.question == QUERY[12:]


def test_names_are_lower_cased_and_pointers_followed() -> None:
    q = parse_query(QUERY.replace(b"web", b"WeB"))
    assert q.name == "web.example"
    # question name "x" + pointer to offset 12... is invalid (forward/self pointer)
    bad = QUERY[:12] + b"\xc0\x0c\x00\x01\x00\x01"
    with pytest.raises(DnsFormatError, match="point back"):
        parse_query(bad)


def test_answer_bytes() -> None:
    q = parse_query(QUERY)
    out = answer(q, ["10.0.0.2", "10.0.0.3"], ttl=600)
    qid, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", out)
    assert (qid, flags, qd, an, ns, ar) == (0x1234, 0x8180, 1, 2, 0, 0)
    body = out[12 + len(q.question):]
    assert body == (b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x02\x58\x00\x04\x0a\x00\x00\x02"
                    b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x02\x58\x00\x04\x0a\x00\x00\x03")


def test_answer_fits_udp_limit() -> None:
    q = parse_query(QUERY)
    out = answer(q, [f"10.0.{i // 256}.{i % 256}" for i in range(100)])
    assert len(out) <= 512
    assert struct.unpack_from("!H", out, 6)[0] == (512 - 12 - len(q.question)) // 16
    assert out[2] & 0x02  # truncated: TC set
    assert not answer(q, ["10.0.0.1"])[2] & 0x02
    assert struct.unpack_from("!H", answer(q, ["10.0.0.1"] * 100, limit=65535), 6)[0] == 100


def test_ptr_answer_and_errors() -> None:
    q = parse_query(QUERY)
    out = answer(q, ptr_names=["web.net"])
    assert out.endswith(struct.pack("!HHHIH", 0xC00C, TYPE_PTR, 1, 600, 9) + b"\x03web\x03net\x00")
    err = error(q, NXDOMAIN)
    assert struct.unpack_from("!HHHH", err) == (0x1234, 0x8183, 1, 0)
    assert header_error(QUERY[:12] + b"\xff", FORMERR) == (
        b"\x12\x34\x81\x81\x00\x00\x00\x00\x00\x00\x00\x00")
    assert header_error(b"\x00" * 5, FORMERR) is None
    assert header_error(b"\x12\x34\x81\x80" + b"\x00" * 8, FORMERR) is None  # a response


@pytest.mark.parametrize("data, why", [
    (b"", "shorter"), (QUERY[:11], "shorter"),
    (QUERY[:4] + b"\x00\x02" + QUERY[6:], "2 questions"),
    (QUERY[:12] + b"\x05ab", "past the end"),
    (QUERY[:12] + b"\x40abc\x00\x00\x01\x00\x01", "label type"),
    (QUERY[:-2], "question runs past"),
    (QUERY[:12] + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01", "longer than 255"),
    (QUERY[:12] + b"\xc0", "truncated compression"),
])
def test_malformed(data: bytes, why: str) -> None:
    with pytest.raises(DnsFormatError, match=why):
        parse_query(data)


def test_encode_name() -> None:
    assert encode_name("a.bc.") == b"\x01a\x02bc\x00"
    assert encode_name(".") == b"\x00"
    for bad in ["a..b", "x" * 64, ".".join(["abcdefgh"] * 40)]:
        with pytest.raises(ValueError):
            encode_name(bad)


@given(st.binary(max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        q = parse_query(data)
    except DnsFormatError:
        header_error(data, FORMERR)
        return
    assert answer(q, ["1.2.3.4"])[:2] == data[:2]


@given(st.lists(st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), min_size=1, max_size=6),
       st.integers(0, 0xFFFF), st.binary(max_size=40))
def test_round_trip_and_mutations(labels: list[str], qid: int, junk: bytes) -> None:
    name = ".".join(labels)
    packet = (struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name)
              + b"\x00\x01\x00\x01")
    q = parse_query(packet + junk)  # trailing bytes (e.g. an EDNS record) are ignored
    assert (q.id, q.name, q.qtype) == (qid, name, TYPE_A)
    for cut in range(len(packet)):
        try:
            parse_query(packet[:cut])
        except DnsFormatError:
            continue
        raise AssertionError(f"truncated at {cut} parsed")
