"""Pure parts of snapshots: chain ids, mount option handling, the metadata rules."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.errors import AlreadyExists, Conflict, DockyardError, NotFound
from dockyard.images.snapshots import Kind, chain_ids
from dockyard.images.snapshots.metadata import MetaStore
from dockyard.images.snapshots.mounting import MAX_OPTIONS, _relative, _split_options


def test_chain_ids_follow_the_oci_definition() -> None:
    a, b, c = (f"sha256:{ch * 64}" for ch in "abc")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert chain_ids([a, b, c]) == [a, ab, abc]
    assert chain_ids([]) == []


def test_split_options() -> None:
    flags, data = _split_options(["ro", "nosuid", "rw", "lowerdir=/a:/b", "index=off"])
    assert flags == 1 | 2
    assert data == ["lowerdir=/a:/b", "index=off"]


@given(st.integers(1, 300), st.text("abcdef-", min_size=1, max_size=150))
@settings(max_examples=50)
def test_relative_lowerdirs_stay_short(depth: int, prefix: str) -> None:
    base = f"/var/{prefix}/snapshots"
    lowers = ":".join(f"{base}/{i}/fs" for i in range(depth, 0, -1))
    opts = [f"lowerdir={lowers}", f"upperdir={base}/999/fs", f"workdir={base}/999/work"]
    common, rel = _relative(opts)
    assert common == base
    assert rel[0] == "lowerdir=" + ":".join(f"{i}/fs" for i in range(depth, 0, -1))
    assert rel[1:] == ["upperdir=999/fs", "workdir=999/work"]
    if depth <= 400:
        assert len(",".join(rel)) <= MAX_OPTIONS


def test_metadata_rules(tmp_path: Path) -> None:
    db = MetaStore(tmp_path / "m.db")
    with db.write():
        a = db.insert("a", Kind.ACTIVE, None, {"k": "v"})
        db.commit("A", "a", {"z": "1"})
        child = db.insert("c", Kind.ACTIVE, "A", None)
    assert child.ancestors == (a.id,)
    assert db.get("A").info.labels == {"k": "v", "z": "1"}
    with pytest.raises(Conflict, match="snapshot A is the parent of c"), db.write():
        db.delete("A")
    with pytest.raises(AlreadyExists), db.write():
        db.insert("c", Kind.VIEW, None, None)
    assert [r.info.name for r in db.all()] == ["A", "c"]  # failed writes rolled back
    with db.write():
        db.delete("c")
        db.delete("A")
    with pytest.raises(NotFound):
        db.get("A")
    db.close()


@given(st.lists(st.tuples(st.sampled_from(["prepare", "commit", "remove"]),
                          st.integers(0, 5), st.integers(0, 5)), max_size=30))
@settings(max_examples=60, deadline=None)
def test_metadata_matches_a_model(ops: list[tuple[str, int, int]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        db = MetaStore(Path(d) / "m.db")
        model: dict[str, tuple[str, str | None]] = {}  # key -> (kind, parent)
        for op, x, y in ops:
            key, other = f"k{x}", f"k{y}"
            try:
                with db.write():
                    if op == "prepare":
                        db.insert(key, Kind.ACTIVE, other if x != y else None, None)
                    elif op == "commit":
                        db.commit(other, key, None)
                    else:
                        db.delete(key)
            except DockyardError:
                ok = False
            else:
                ok = True
            parent = other if x != y else None
            if op == "prepare":
                expect = key not in model and (parent is None or (
                    parent in model and model[parent][0] == "committed"))
                if expect:
                    model[key] = ("active", parent)
            elif op == "commit":
                expect = key in model and model[key][0] == "active" and other not in model
                if expect:
                    _, p = model.pop(key)
                    model[other] = ("committed", p)
            else:
                expect = key in model and all(p != key for _, p in model.values())
                if expect:
                    del model[key]
            assert ok == expect, (op, key, other)
        got = {r.info.name: (r.info.kind.value, r.info.parent) for r in db.all()}
        assert got == model
        db.close()


def test_opening_a_known_database_takes_no_write_lock(tmp_path: Path) -> None:
    """Every container create opens the snapshot metadata: only the first opener of
    a database (or one from before ``user_version``) writes the schema."""
    import sqlite3
    import threading

    path = tmp_path / "metadata.db"
    MetaStore(path).close()
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("PRAGMA user_version=0")  # as written before the version was kept
    old.close()
    MetaStore(path).close()  # schema again (idempotent), version recorded
    holder = sqlite3.connect(path, isolation_level=None, timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-write
    try:
        opened: list[MetaStore] = []
        t = threading.Thread(target=lambda: opened.append(MetaStore(path)), daemon=True)
        t.start()
        t.join(5)
        assert opened, "opening waited for another writer's lock"
        opened[0].close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
