"""Message splitting and size-based rotation."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.engine.logs import LineSplitter, LogWriter, log_file, read_logs


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"z", b"\n")), max_size=30),
       st.integers(min_value=1, max_value=16))
def test_splitter_keeps_every_byte_and_cuts_at_newlines(chunks: list[bytes], limit: int) -> None:
    sp = LineSplitter(limit)
    out = [m for c in chunks for m in sp.feed(c)]
    rest = sp.flush()
    assert b"".join(out + rest) == b"".join(chunks)
    for m in out:
        assert len(m) <= limit
        assert m.endswith(b"\n") or len(m) == limit
        assert b"\n" not in m[:-1]
    assert len(rest) <= 1 and all(b"\n" not in r and len(r) < limit for r in rest)


def test_splitter_docker_limit() -> None:
    sp = LineSplitter()
    out = sp.feed(b"a" * 40000 + b"\nb")
    assert [len(m) for m in out] == [16384, 16384, 7233]
    assert sp.flush() == [b"b"]


def _write(tmp: Path, driver: str, n: int, max_size: int, max_file: int,
           compress: bool) -> list[bytes]:
    path = log_file(str(tmp), "cid", driver)
    assert path is not None
    w = LogWriter(path, driver, max_size, max_file, compress, {})
    msgs = [f"{i:06d} {'y' * (i % 50)}\n".encode() for i in range(n)]
    for i, m in enumerate(msgs):
        w.write("stdout" if i % 3 else "stderr", m, 1_000_000_000 + i)
    w.close()
    return msgs


@settings(max_examples=15, deadline=None)
@given(driver=st.sampled_from(["json-file", "local"]), n=st.integers(0, 400),
       max_size=st.integers(200, 5000), max_file=st.integers(1, 4), compress=st.booleans())
def test_rotation_bounds_files_and_keeps_a_suffix_in_order(
        tmp_path_factory: pytest.TempPathFactory, driver: str, n: int, max_size: int,
        max_file: int, compress: bool) -> None:
    compress = compress and max_file > 1
    tmp = tmp_path_factory.mktemp("rot")
    msgs = _write(tmp, driver, n, max_size, max_file, compress)
    live = Path(log_file(str(tmp), "cid", driver) or "")
    files = [p for p in live.parent.iterdir() if p.name.startswith(live.name)]
    assert len(files) <= max_file
    for f in files:
        data = gzip.decompress(f.read_bytes()) if f.name.endswith(".gz") else f.read_bytes()
        assert len(data) <= max_size
        assert f.name.endswith(".gz") == (compress and f != live)
    got = [e.data for e in read_logs(tmp, "cid", driver)]
    assert got == msgs[len(msgs) - len(got):]
    if n and max_file > 1:
        assert len(got) > 0


def test_existing_file_is_appended_not_truncated(tmp_path: Path) -> None:
    path = log_file(str(tmp_path), "cid", "json-file")
    assert path is not None
    for word in (b"one\n", b"two\n"):
        w = LogWriter(path, "json-file", -1, 1, False, {})
        w.write("stdout", word, 1)
        w.close()
    assert [e.data for e in read_logs(tmp_path, "cid", "json-file")] == [b"one\n", b"two\n"]
