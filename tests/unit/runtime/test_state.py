"""Container ids, state.json round trips and the status guards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import AlreadyExists, Conflict, Corrupt, InvalidArgument, NotFound
from dockyard.runtime import container_state as cs
from dockyard.runtime.container_state import Status


@pytest.mark.parametrize("cid", ["a", "web-1", "x.y_z+1", "A" * 1024])
def test_good_ids(cid: str) -> None:
    assert cs.check_id(cid) == cid


@pytest.mark.parametrize("cid", ["", ".", "..", "../x", "a/b", "-x", " a", "a b", "A" * 1025,
                                 "é"])
def test_bad_ids(cid: str) -> None:
    with pytest.raises(InvalidArgument):
        cs.check_id(cid)


@given(st.text(max_size=20))
def test_accepted_ids_stay_in_the_root(cid: str) -> None:
    try:
        cs.check_id(cid)
    except InvalidArgument:
        return
    assert "/" not in cid and not cid.startswith(".") and cid not in ("", ".", "..")
    assert os.path.dirname(cs.container_dir("/root", cid)) == "/root"


def test_guards_follow_runc() -> None:
    assert Status.can_start(Status.CREATED) and not Status.can_start(Status.RUNNING)
    assert all(Status.can_kill(s) for s in (Status.CREATED, Status.RUNNING, Status.PAUSED))
    assert not Status.can_kill(Status.STOPPED)
    assert Status.can_delete(Status.STOPPED) and Status.can_delete(Status.CREATED)
    assert not Status.can_delete(Status.RUNNING) and not Status.can_delete(Status.PAUSED)
    assert Status.can_pause(Status.RUNNING) and not Status.can_pause(Status.PAUSED)
    assert Status.can_resume(Status.PAUSED) and not Status.can_resume(Status.RUNNING)


def _state(d: str, pid: int, start: int) -> cs.ContainerState:
    return cs.ContainerState(id="c1", pid=pid, bundle="/b", rootfs="/b/rootfs",
                             created="2026-01-01T00:00:00.000000000Z", start_time=start,
                             annotations={"k": "v"}, oci_version="1.1.0", directory=d)


def test_save_load_round_trip_and_status(tmp_path: Path) -> None:
    d = cs.reserve(tmp_path, "c1")
    with pytest.raises(AlreadyExists):
        cs.reserve(tmp_path, "c1")
    me = os.getpid()
    st0 = _state(d, me, cs.process_start_time(me) or 0)
    st0.save()
    loaded = cs.load(tmp_path, "c1")
    assert loaded.to_oci() == st0.to_oci()
    assert loaded.status() == Status.RUNNING
    os.mkfifo(os.path.join(d, cs.FIFO))
    assert loaded.status() == Status.CREATED
    assert cs.list_ids(tmp_path) == ["c1"]
    oci = loaded.to_oci()
    assert set(oci) == {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                        "owner", "annotations"}


def test_a_reused_pid_reads_as_stopped(tmp_path: Path) -> None:
    d = cs.reserve(tmp_path, "c1")
    st0 = _state(d, os.getpid(), 1)  # wrong start time: another process has this pid now
    assert st0.status() == Status.STOPPED
    assert st0.to_oci()["pid"] == 0
    with pytest.raises(Conflict) as err:
        cs.require(st0, Status.can_kill(st0.status()), "kill")
    assert str(err.value) == "cannot kill container c1 in status stopped"


def test_missing_and_corrupt_state(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as err:
        cs.load(tmp_path, "ghost")
    assert str(err.value) == "container does not exist: ghost"
    d = cs.reserve(tmp_path, "bad")
    Path(d, "state.json").write_text("{nope")
    with pytest.raises(Corrupt) as err2:
        cs.load(tmp_path, "bad")
    assert "state.json" in str(err2.value)


def test_process_start_time() -> None:
    assert cs.process_start_time(os.getpid()) is not None
    assert cs.process_start_time(2**22 + 12345) is None
