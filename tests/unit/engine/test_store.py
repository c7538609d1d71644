"""Container records: atomic appearance, names owned by exactly one record."""

from __future__ import annotations

import multiprocessing
import os
import re
from pathlib import Path

import pytest

from dockyard.engine.store import (
    ContainerStore,
    atomic_write,
    new_id,
    now_rfc3339,
    update_state_file,
)

RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _add(store: ContainerStore, name: str) -> str:
    cid = new_id()
    store.add(cid, name, {"Id": cid, "Name": "/" + name}, {"Status": "created"})
    return cid


def test_add_load_rename_remove(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    cid = _add(store, "web")
    assert store.ids() == [cid] and store.owner_of("web") == cid
    assert store.load(cid)["Name"] == "/web" and store.state(cid) == {"Status": "created"}
    with pytest.raises(FileExistsError):
        _add(store, "web")
    store.rename(cid, "api")
    assert store.owner_of("web") is None and store.owner_of("api") == cid
    _add(store, "web")  # the old name is free again
    store.remove(cid)
    assert cid not in store.ids() and store.owner_of("api") is None
    assert not (tmp_path / cid).exists()


def test_stale_links_are_taken_over_and_leftovers_cleared(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    store.names.mkdir(parents=True)
    os.symlink("f" * 64, store.names / "ghost")  # a crash after linking, before the record
    (tmp_path / (".tmp-" + "a" * 64)).mkdir()  # a crash while writing a record
    (tmp_path / (".trash-" + "b" * 64)).mkdir()  # a crash while deleting one
    assert store.stale_names() == ["ghost"]
    cid = _add(store, "ghost")
    assert store.owner_of("ghost") == cid
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".lock", ".names", cid])


def test_a_link_to_a_record_with_another_name_is_stale(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    cid = _add(store, "one")
    os.symlink(cid, store.names / "two")  # a crash in the middle of a rename
    assert store.owner_of("two") is None
    assert _add(store, "two") != cid


def _race(base: str, name: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        queue.put(_add(ContainerStore(Path(base)), name))
    except FileExistsError:
        queue.put("lost")


def test_many_processes_one_name(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(tmp_path), "same", queue)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    results = [queue.get(timeout=5) for _ in procs]
    winners = [r for r in results if r != "lost"]
    assert len(winners) == 1
    assert ContainerStore(tmp_path).ids() == winners


def test_state_updates_and_atomic_write(tmp_path: Path) -> None:
    store = ContainerStore(tmp_path)
    cid = _add(store, "s1")
    out = update_state_file(store.dir(cid), lambda s: s.update(Status="running"))
    assert out == {"Status": "running"} == store.state(cid)
    atomic_write(tmp_path / "f", b"one")
    atomic_write(tmp_path / "f", b"two")
    assert (tmp_path / "f").read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_time_format_is_dockers() -> None:
    for _ in range(50):
        ts = now_rfc3339()
        assert RFC3339_NANO.match(ts), ts
        assert not ts.endswith("0Z")


@pytest.mark.parametrize(("host_config", "fsyncs"), [
    ({}, True), ({"AutoRemove": False}, True), ({"AutoRemove": True}, False)])
def test_only_lasting_records_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          host_config: dict[str, bool], fsyncs: bool) -> None:
    """A --rm container's record is written whole but not fsynced, on add and on remove
    (each fsync cost ~1 ms of every run --rm); every other record is durable."""
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    store = ContainerStore(tmp_path)
    cid = new_id()
    store.add(cid, "box", {"Id": cid, "Name": "/box", "HostConfig": host_config},
              {"Status": "created"})
    assert store.load(cid)["Name"] == "/box" and store.owner_of("box") == cid
    added = len(calls)
    store.remove(cid)
    assert (added > 0, len(calls) > added) == (fsyncs, fsyncs)
    assert cid not in store.ids()
