"""The volume store: docker's inspect shape, idempotent create, in-use refusals, prune."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.settings import Roots
from dockyard.volumes import VolumeStore


@pytest.fixture
def store(tmp_path: Path) -> VolumeStore:
    return VolumeStore(Roots(tmp_path / "root", tmp_path / "run"))


def test_inspect_shape(store: VolumeStore) -> None:
    doc = store.create("v1", labels={"b": "2", "a": "1"}, options={})
    assert list(doc) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                         "Scope"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["CreatedAt"])
    assert doc["Labels"] == {"a": "1", "b": "2"} and list(doc["Labels"]) == ["a", "b"]
    assert doc["Options"] == {} and doc["Driver"] == "local" and doc["Scope"] == "local"
    assert Path(doc["Mountpoint"]).is_dir()
    assert store.create("byrun")["Labels"] is None  # made for a container: null
    anon = store.create(anonymous=True)
    assert re.fullmatch(r"[0-9a-f]{64}", anon["Name"])
    assert anon["Labels"] is None and anon["Options"] is None
    assert store.is_anonymous(anon["Name"]) and not store.is_anonymous("v1")


def test_create_is_idempotent_and_keeps_data(store: VolumeStore) -> None:
    first = store.create("v1")
    (Path(first["Mountpoint"]) / "f").write_text("x")
    assert store.create("v1") == first
    assert (Path(first["Mountpoint"]) / "f").read_text() == "x"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "v3", "options": {"foo": "bar"}}, 'create v3: invalid option: "foo"'),
    ({"name": "v3", "options": {"type": "tmpfs"}}, 'create v3: missing required option: '
     '"device"'),
    ({"name": "x/y"}, 'create x/y: "x/y" includes invalid characters'),
])
def test_bad_creates_leave_nothing(store: VolumeStore, kwargs: dict[str, object],
                                   message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        store.create(**kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)
    assert store.names() == []


def test_unknown_driver(store: VolumeStore) -> None:
    with pytest.raises(NotFound, match="plugin \"flocker\" not found"):
        store.create("v1", driver="flocker")


def test_remove_in_use_is_refused_and_keeps_data(store: VolumeStore) -> None:
    doc = store.create("v1")
    (Path(doc["Mountpoint"]) / "f").write_text("x")
    with pytest.raises(Conflict) as err:
        store.remove("v1", lambda n: ["aaa", "bbb"])
    assert str(err.value) == "remove v1: volume is in use - [aaa bbb]"
    assert (Path(doc["Mountpoint"]) / "f").read_text() == "x"
    store.remove("v1", lambda n: [])
    assert store.names() == []
    with pytest.raises(NotFound, match="No such volume: v1"):
        store.remove("v1", lambda n: [])
    store.remove("v1", lambda n: [], force=True)


def test_prune_removes_exactly_the_unused(store: VolumeStore) -> None:
    for name in ("used", "idle1", "idle2", "kept"):
        store.create(name, labels={"keep": "yes"} if name == "kept" else {})
    (store.mountpoint("idle1") / "f").write_bytes(b"12345")
    report = store.prune(lambda n: ["c"] if n == "used" else [],
                         keep=lambda v: (v.get("Labels") or {}).get("keep") == "yes")
    assert report == {"VolumesDeleted": ["idle1", "idle2"], "SpaceReclaimed": 5}
    assert store.names() == ["kept", "used"]


def test_hostile_names_are_not_paths(store: VolumeStore) -> None:
    for name in ("../x", ".lock", ""):
        with pytest.raises(NotFound):
            store.inspect(name)


def test_cleanup_drops_crash_leftovers(store: VolumeStore) -> None:
    store.create("v1")
    (store.base / ".tmp-abc").mkdir()
    (store.base / ".trash-v2-1").mkdir()
    store.cleanup()
    assert sorted(p.name for p in store.base.iterdir()) == [".lock", "v1"]
