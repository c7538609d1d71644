"""The strict tar reader: what it accepts, and the clear errors for what it refuses."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errors import Corrupt, Forbidden
from dockyard.images.layers import Limits
from dockyard.images.layers.tarstream import read_entries

from .tarbuild import END, E, pad, raw_header, tar_bytes


def entries(data: bytes, limits: Limits | None = None) -> list[tuple[str, str, bytes]]:
    out = []
    for entry, body in read_entries(io.BytesIO(data), limits or Limits()):
        out.append((entry.name, entry.type, body.read(1 << 30)))
    return out


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_reads_every_entry_type(fmt: int) -> None:
    data = tar_bytes([
        E("d", "dir"), E("d/f", data=b"hello"), E("d/l", "symlink", link="f"),
        E("d/h", "hardlink", link="d/f"), E("d/c", "char", major=1, minor=3),
        E("d/b", "block", major=7, minor=0), E("d/p", "fifo"),
    ], fmt)
    got = entries(data)
    assert [(n, t) for n, t, _ in got] == [
        ("d/", "5"), ("d/f", "0"), ("d/l", "2"), ("d/h", "1"), ("d/c", "3"),
        ("d/b", "4"), ("d/p", "6")]
    assert got[1][2] == b"hello"


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_names_links_and_big_ids(fmt: int) -> None:
    long = "a/" * 80 + "file-é"
    data = tar_bytes([E(long, uid=3_000_000, gid=2_500_000, data=b"x"),
                      E("s", "symlink", link="t/" * 90)], fmt)
    [(_, first), (_, second)] = [(0, e) for e, _ in read_entries(io.BytesIO(data), Limits())]
    assert first.name == long and first.uid == 3_000_000 and first.gid == 2_500_000
    assert second.linkname == "t/" * 90


def test_pax_xattrs_and_fractional_mtime() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo("f")
        info.pax_headers = {"SCHILY.xattr.user.k": "v", "mtime": "1600000000.5"}
        t.addfile(info)
    [entry] = [e for e, _ in read_entries(io.BytesIO(buf.getvalue()), Limits())]
    assert entry.xattrs == {"user.k": b"v"}
    assert entry.mtime == 1600000000.5


@given(st.lists(st.tuples(st.text("abcé/._-", min_size=1, max_size=150),
                          st.binary(max_size=700)), max_size=8),
       st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT]))
@settings(max_examples=60, deadline=None)
def test_reads_what_python_tarfile_writes(files: list[tuple[str, bytes]], fmt: int) -> None:
    data = tar_bytes([E(n, data=d) for n, d in files], fmt)
    assert [(n, d) for n, _, d in entries(data)] == [(n, d) for n, d in files]


def test_bad_checksum_is_corrupt() -> None:
    data = bytearray(tar_bytes([E("f", data=b"x")]))
    data[0] ^= 1
    with pytest.raises(Corrupt, match="checksum"):
        entries(bytes(data))


def test_not_a_tar_is_corrupt() -> None:
    with pytest.raises(Corrupt, match="not a tar"):
        entries(b"hello world, this is no tar archive" * 20)


@pytest.mark.parametrize("cut", [100, 512, 700, 1024 + 512])
def test_truncated_stream_is_corrupt(cut: int) -> None:
    data = tar_bytes([E("f", data=b"x" * 1000), E("g", data=b"y")])
    with pytest.raises(Corrupt, match="truncated"):
        entries(data[:cut])


def test_missing_end_marker_is_corrupt() -> None:
    data = raw_header(b"f", size=3) + pad(b"abc")
    with pytest.raises(Corrupt, match=r"truncated tar stream in a header"):
        entries(data)


def test_oversized_pax_header_is_refused_before_reading_it() -> None:
    huge = 10 << 20
    data = raw_header(b"PaxHeaders/f", b"x", size=huge)  # no body follows: never read
    with pytest.raises(Forbidden, match=r"extended header of 10485760 bytes"):
        entries(data)


def test_oversized_gnu_long_name_is_refused() -> None:
    data = raw_header(b"././@LongLink", b"L", size=4 << 20)
    with pytest.raises(Forbidden, match=r"Limits\.max_header"):
        entries(data)


def test_name_longer_than_limit_is_refused() -> None:
    data = tar_bytes([E("x" * 200 + "/y")])
    with pytest.raises(Forbidden, match=r"Limits\.max_name"):
        entries(data, Limits(max_name=100))


def test_entry_count_limit() -> None:
    data = tar_bytes([E(f"f{i}") for i in range(5)])
    with pytest.raises(Forbidden, match="more than 3 tar entries"):
        entries(data, Limits(max_entries=3))


@pytest.mark.parametrize(("flag", "what"), [(b"S", "gnu sparse"), (b"V", "volume"),
                                            (b"Z", "type")])
def test_unsupported_types_are_refused_by_name(flag: bytes, what: str) -> None:
    data = raw_header(b"weird", flag) + END
    with pytest.raises(Corrupt, match=f"layer entry weird: unsupported tar entry.*{what}"):
        entries(data)


def test_bad_pax_record_is_corrupt() -> None:
    body = b"99 path=x\n"
    data = raw_header(b"PaxHeaders/x", b"x", size=len(body)) + pad(body)
    data += raw_header(b"x") + END
    with pytest.raises(Corrupt, match="bad pax record"):
        entries(data)


def test_content_of_non_regular_entries_is_ignored() -> None:
    # A directory header claiming a size: like Go's archive/tar, no data follows it.
    data = raw_header(b"d/", b"5", size=4096) + raw_header(b"d/f", size=1) + pad(b"z") + END
    assert entries(data) == [("d/", "5", b""), ("d/f", "0", b"z")]


def test_base256_numbers() -> None:
    h = bytearray(raw_header(b"f"))
    h[108:116] = b"\x80" + (5_000_000).to_bytes(7, "big")
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    [(entry, _)] = [(e, b) for e, b in read_entries(io.BytesIO(bytes(h) + END), Limits())]
    assert entry.uid == 5_000_000
