"""The engine over the real image store: run, exec, diff, commit, export."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import Conflict, NotFound


def _logs(engine: Any, ref: str) -> str:
    path = engine.inspect(ref)["LogPath"]
    return "".join(json.loads(ln)["log"] for ln in Path(path).read_text().splitlines())


def test_unknown_image_is_not_found(store_engine: Any) -> None:
    with pytest.raises(NotFound, match="no such image: nope:1"):
        store_engine.create("xx", {"Image": "nope:1", "Cmd": ["true"]}, {"NetworkMode": "none"})
    assert store_engine.list(all=True) == []


def test_exec_diff_commit_export(store_engine: Any) -> None:
    eng = store_engine
    eng.create("base", {"Image": "busybox", "Cmd": ["sh", "-c", "echo made > /made; sleep 30"],
                        "Env": ["FROM_RUN=1"]}, {"NetworkMode": "none"})
    eng.start("base")
    exec_id = eng.exec_create("base", {"Cmd": ["sh", "-c", "test -f /made || sleep 0.5; "
                                               "test \"$FROM_RUN$X\" = 12"],
                                       "Env": ["X=2"]})
    assert eng.exec_inspect(exec_id)["Running"] is False
    assert eng.exec_start(exec_id) == 0
    info = eng.exec_inspect(exec_id)
    assert info["ExitCode"] == 0 and info["ProcessConfig"]["entrypoint"] == "sh"
    failing = eng.exec_create("base", {"Cmd": ["sh", "-c", "exit 5"]})
    assert eng.exec_start(failing) == 5
    [row] = eng.list(size=True)
    assert row["SizeRw"] == len("made\n") and row["SizeRootFs"] > 1_000_000
    changes = {c["Path"]: c["Kind"] for c in eng.changes("base")}
    assert changes == {"/made": 1}  # runtime mount points are not changes
    image_id = eng.commit("base", "dytest/committed:1", changes=["CMD cat /made"],
                          message="snap")
    assert image_id.startswith("sha256:")
    assert eng.inspect("base")["State"]["Status"] == "running"  # unpaused afterwards
    eng.create("child", {"Image": "dytest/committed:1"}, {"NetworkMode": "none"})
    eng.start("child")
    assert eng.wait("child")["StatusCode"] == 0
    assert _logs(eng, "child") == "made\n"
    buf = io.BytesIO()
    eng.export("child", buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tf:
        names = set(tf.getnames())
    assert "made" in names and "bin/busybox" in names
    layer = eng.images.store.get(image_id).manifest.layers[-1].digest
    with tarfile.open(fileobj=eng.images.store.content.open(layer)) as tf:
        layer_names = {n.lstrip("./") for n in tf.getnames()}
    assert "made" in layer_names and "etc/hostname" not in layer_names
    eng.stop("base", timeout=0)
    with pytest.raises(Conflict, match="is not running"):
        eng.exec_create("base", {"Cmd": ["true"]})


def test_images_in_use_cannot_be_removed(store_engine: Any) -> None:
    eng = store_engine
    cid = eng.create("user", {"Image": "busybox", "Cmd": ["true"]},
                     {"NetworkMode": "none"})["Id"]
    image_id = eng.inspect(cid)["Image"]
    store = eng.images.store
    assert store.in_use(image_id) == [(cid, False)]
    with pytest.raises(Conflict):
        store.remove("busybox:latest")
    eng.remove(cid)
    assert store.in_use(image_id) == []


def test_check_finds_an_orphaned_container_snapshot(store_engine: Any) -> None:
    eng = store_engine
    cid = eng.create("orphan", {"Image": "busybox", "Cmd": ["true"]},
                     {"NetworkMode": "none"})["Id"]
    eng.lc.store.remove(cid)  # as if the record vanished and left its snapshot
    problems = eng.check()
    assert [(p["kind"], p["id"]) for p in problems] == [("snapshot without record", cid)]
    assert eng.check(repair=True)[0]["repaired"] is True
    assert eng.check() == []
