"""The content store: verified while written, published atomically, nothing half-done."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.errors import Corrupt, NotFound
from dockyard.images.content import LocalStore
from dockyard.oci import Digest


def test_write_read_info(tmp_path: Path) -> None:
    cs = LocalStore(tmp_path)
    d = cs.write(b"hello")
    assert d == Digest.of(b"hello")
    assert cs.read(d) == b"hello" and cs.info(d).size == 5 and cs.exists(d)
    assert cs.path(d) == tmp_path / "blobs" / "sha256" / d.hex
    assert oct(cs.path(d).stat().st_mode & 0o777) == "0o444"
    assert cs.write(b"hello") == d  # idempotent
    assert list(cs.walk()) == [d]
    assert cs.verify(d)
    assert cs.delete(d) and not cs.delete(d)
    with pytest.raises(NotFound, match=f"no such blob: {d}"):
        cs.open(d)


@pytest.mark.parametrize(("data", "expected", "size", "match"), [
    (b"abc", Digest.of(b"abd"), None, "digest mismatch"),
    (b"abc", Digest.of(b"abc"), 4, "size 3, want 4"),
    (b"ab", Digest.of(b"abc"), 3, "size 2, want 3"),  # truncated
])
def test_bad_blobs_leave_nothing(tmp_path: Path, data: bytes, expected: Digest,
                                 size: int | None, match: str) -> None:
    cs = LocalStore(tmp_path)
    w = cs.writer()
    w.write(data)
    with pytest.raises(Corrupt, match=match) as info:
        w.commit(expected, size)
    assert str(expected) in str(info.value)
    assert list(cs.walk()) == [] and list(cs.ingest_dir.iterdir()) == []


def test_abort_and_context_manager_drop_the_ingest(tmp_path: Path) -> None:
    cs = LocalStore(tmp_path)
    with cs.writer("ref1") as w:
        w.write(b"x" * 10)
        assert w.path.exists() and w.path.name == f"ref1.{os.getpid()}"
    assert list(cs.ingest_dir.iterdir()) == [] and list(cs.walk()) == []


def test_stale_ingests_are_those_of_dead_processes(tmp_path: Path) -> None:
    cs = LocalStore(tmp_path)
    (cs.ingest_dir / "abc.999999999").write_bytes(b"x")
    (cs.ingest_dir / "junk").write_bytes(b"x")
    live = cs.writer("live")
    assert sorted(p.name for p in cs.stale_ingests()) == ["abc.999999999", "junk"]
    live.abort()


def test_verify_finds_a_changed_blob(tmp_path: Path) -> None:
    cs = LocalStore(tmp_path)
    d = cs.write(b"original")
    os.chmod(cs.path(d), 0o644)
    cs.path(d).write_bytes(b"tampered")
    assert not cs.verify(d)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=3000), max_size=5))
def test_chunked_writes_hash_like_one(tmp_path: Path, chunks: list[bytes]) -> None:
    cs = LocalStore(tmp_path)
    with cs.writer() as w:
        for c in chunks:
            w.write(c)
        d = w.commit(Digest.of(b"".join(chunks)))
    assert cs.read(d) == b"".join(chunks)
