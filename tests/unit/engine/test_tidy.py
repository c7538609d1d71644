"""What a finished monitor (or the poststop hook's helper) decides about tidying."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from dockyard.engine import tidy
from dockyard.fileio import atomic_write


def _container(root: Path, cid: str, *, auto_remove: bool, running: bool = False) -> Path:
    cdir = root / "containers" / cid
    cdir.mkdir(parents=True)
    # The store's own formatting: json.dumps with its default separators.
    (cdir / "container.json").write_text(json.dumps({"Id": cid, "HostConfig": {
        "AutoRemove": auto_remove}}))
    (cdir / "state.json").write_text(json.dumps({"Running": running, "Status": "exited"}))
    return cdir


@pytest.mark.parametrize(("auto_remove", "running", "expected"), [
    (False, False, True),  # unmounted (nothing mounted here) and kept: nothing to do
    (True, False, False),  # --rm: still to be removed
    (True, True, True),  # started again meanwhile: its new monitor owns it
])
def test_nothing_to_do(tmp_path: Path, auto_remove: bool, running: bool,
                       expected: bool) -> None:
    cdir = _container(tmp_path / "root", "c1", auto_remove=auto_remove, running=running)
    run_dir = tmp_path / "run" / "containers" / "c1"
    run_dir.mkdir(parents=True)
    assert tidy._nothing_to_do(str(cdir), str(run_dir)) is expected


def test_nothing_to_do_once_removed(tmp_path: Path) -> None:
    assert tidy._nothing_to_do(str(tmp_path / "gone"), str(tmp_path / "run"))


@pytest.mark.parametrize("junk", [b"", b"{not json", b"\xff\xfe", b"[]"])
def test_a_torn_or_odd_record_is_left_to_the_helper(tmp_path: Path, junk: bytes) -> None:
    cdir = tmp_path / "containers" / "c1"
    cdir.mkdir(parents=True)
    (cdir / "container.json").write_bytes(junk)
    (cdir / "state.json").write_bytes(junk)
    # No --rm marker can be read: nothing for the cheap check to remove.
    assert tidy._nothing_to_do(str(cdir), str(tmp_path / "run"))


def test_after_monitor_returns_once_a_foreground_command_has_tidied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, run_root = tmp_path / "root", tmp_path / "run"
    cdir = _container(root, "c1", auto_remove=True)
    execs: list[list[str]] = []
    monkeypatch.setattr(os, "execve", lambda path, args, env: execs.append(args))
    import threading

    threading.Timer(0.1, lambda: [p.unlink() for p in cdir.iterdir()]).start()
    start = time.monotonic()
    tidy.after_monitor(str(root), str(run_root), "c1", grace=5)
    assert time.monotonic() - start < 4
    assert execs == []


def test_after_monitor_becomes_the_helper_when_something_is_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, run_root = tmp_path / "root", tmp_path / "run"
    _container(root, "c1", auto_remove=True)
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(os, "execve", lambda path, args, env: calls.append((path, args, env)))
    tidy.after_monitor(str(root), str(run_root), "c1", grace=0.05)
    assert len(calls) == 1
    path, args, env = calls[0]
    assert path == args[0]
    assert args[1:] == ["-m", "dockyard.engine.tidy", str(root), str(run_root), "c1", "--now"]
    # The helper runs the code of the tree this module came from.
    assert Path(env["PYTHONPATH"], "dockyard", "engine", "tidy.py").exists()


def test_atomic_write_without_sync_skips_both_fsyncs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    atomic_write(tmp_path / "a", b"one")
    assert len(synced) == 2  # the file and its directory
    synced.clear()
    atomic_write(tmp_path / "b", b"two", sync=False)
    assert synced == []
    assert (tmp_path / "b").read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
