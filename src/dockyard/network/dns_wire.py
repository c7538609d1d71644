"""The DNS wire format, as far as the embedded resolver needs it (RFC 1035); pure.

``parse_query`` reads the header and the one question of a query, ``answer`` builds a
response with A (or PTR) records, ``error`` one with just a response code. Anything
malformed raises ``DnsFormatError``; nothing here trusts a length or a pointer.
Light imports only (``_socket``, ``struct``): the container's monitor loads this.
"""

from __future__ import annotations

import _socket
import struct

TYPE_CHECKING = False  # not typing's: importing typing would cost the monitor memory
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "CLASS_IN",
    "FORMERR",
    "NOERROR",
    "NOTIMP",
    "NXDOMAIN",
    "SERVFAIL",
    "TYPE_A",
    "TYPE_AAAA",
    "TYPE_PTR",
    "DnsFormatError",
    "Query",
    "answer",
    "encode_name",
    "error",
    "header_error",
    "parse_query",
]

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 1, 2, 3, 4
TYPE_A, TYPE_PTR, TYPE_AAAA, CLASS_IN = 1, 12, 28, 1
UDP_LIMIT = 512
_HEADER = struct.Struct("!HHHHHH")
_QR, _TC, _RD, _RA = 0x8000, 0x0200, 0x0100, 0x0080


class DnsFormatError(ValueError):
    """The packet is not a well-formed DNS message."""


class Query:
    """One question: ``name`` is lower case, without the final dot; ``question`` is
    the question section as received, echoed in answers."""

    __slots__ = ("flags", "id", "name", "qclass", "qtype", "question")

    def __init__(self, qid: int, flags: int, name: str, qtype: int, qclass: int,
                 question: bytes) -> None:
        self.id, self.flags, self.name = qid, flags, name
        self.qtype, self.qclass, self.question = qtype, qclass, question

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def is_response(self) -> bool:
        return bool(self.flags & _QR)


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` and the offset after it (pointers followed, not trusted)."""
    labels: list[str] = []
    end, jumps, length = -1, 0, 0
    while True:
        if offset >= len(data):
            raise DnsFormatError("name runs past the end of the message")
        size = data[offset]
        if size & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise DnsFormatError("truncated compression pointer")
            target = ((size & 0x3F) << 8) | data[offset + 1]
            if target >= offset or jumps > 32:
                raise DnsFormatError("compression pointer does not point back")
            if end < 0:
                end = offset + 2
            offset, jumps = target, jumps + 1
            continue
        if size & 0xC0:
            raise DnsFormatError(f"bad label type {size:#x}")
        offset += 1
        if size == 0:
            break
        label = data[offset:offset + size]
        if len(label) != size:
            raise DnsFormatError("label runs past the end of the message")
        length += size + 1
        if length > 255:
            raise DnsFormatError("name longer than 255 bytes")
        labels.append(label.decode("latin-1").lower())
        offset += size
    return ".".join(labels), end if end >= 0 else offset


def parse_query(data: bytes) -> Query:
    """The header and sole question of ``data``."""
    if len(data) < _HEADER.size:
        raise DnsFormatError("shorter than a DNS header")
    qid, flags, qdcount, _, _, _ = _HEADER.unpack_from(data)
    if qdcount != 1:
        raise DnsFormatError(f"{qdcount} questions, expected 1")
    name, offset = _read_name(data, _HEADER.size)
    if offset + 4 > len(data):
        raise DnsFormatError("question runs past the end of the message")
    qtype, qclass = struct.unpack_from("!HH", data, offset)
    return Query(qid, flags, name, qtype, qclass, data[_HEADER.size:offset + 4])


def encode_name(name: str) -> bytes:
    """``a.b`` → wire labels; ValueError for labels too long or empty."""
    out = bytearray()
    for label in name.rstrip(".").split(".") if name.strip(".") else []:
        raw = label.encode("latin-1")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    out.append(0)
    if len(out) > 255:
        raise ValueError(f"name too long: {name!r}")
    return bytes(out)


def _flags(query: Query, rcode: int) -> int:
    return _QR | (query.opcode << 11) | (query.flags & _RD) | _RA | rcode


def error(query: Query, rcode: int) -> bytes:
    """A response to ``query`` with ``rcode`` and no answers."""
    return _HEADER.pack(query.id, _flags(query, rcode), 1, 0, 0, 0) + query.question


def header_error(data: bytes, rcode: int) -> bytes | None:
    """A bare response for a query whose question could not be read; None if not even
    the header could (such packets get no answer)."""
    if len(data) < _HEADER.size:
        return None
    qid, flags = struct.unpack_from("!HH", data)
    if flags & _QR:
        return None
    return _HEADER.pack(qid, _QR | (flags & 0x7900) | _RA | rcode, 0, 0, 0, 0)


def _packed(addr: str) -> bytes:
    try:
        return bytes(_socket.inet_pton(_socket.AF_INET, addr))
    except OSError:
        raise ValueError(f"not an IPv4 address: {addr!r}") from None


def answer(query: Query, addresses: Sequence[str] = (), ptr_names: Sequence[str] = (),
           ttl: int = 600, limit: int = UDP_LIMIT) -> bytes:
    """A NOERROR response with an A record per address or a PTR per name, as many as
    fit in ``limit`` bytes, with TC set when some did not (the names point back at
    the question)."""
    records = []
    for addr in addresses:
        records.append(struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, ttl, 4)
                       + _packed(addr))
    for target in ptr_names:
        rdata = encode_name(target)
        records.append(struct.pack("!HHHIH", 0xC00C, TYPE_PTR, CLASS_IN, ttl, len(rdata))
                       + rdata)
    body, count = query.question, 0
    size = _HEADER.size + len(body)
    for rec in records:
        if size + len(rec) > limit:
            break
        body += rec
        size += len(rec)
        count += 1
    # TC tells the client that more did not fit: it asks again over TCP
    flags = _flags(query, NOERROR) | (_TC if count < len(records) else 0)
    return _HEADER.pack(query.id, flags, 1, count, 0, 0) + body
