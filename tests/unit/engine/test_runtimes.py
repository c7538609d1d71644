"""The runtime table and the --init reaper."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dockyard.engine.init import ensure_init
from dockyard.engine.runtimes import RUNTIMES, open_runtime
from dockyard.errors import InvalidArgument


def test_runtimes_by_name(tmp_path: Path) -> None:
    assert set(RUNTIMES) == {"dockyard", "runc", "crun"}
    for name in RUNTIMES:
        rt = open_runtime(name, tmp_path)
        assert rt.argv[-2:] == ["--root", str(tmp_path / name)]
    assert open_runtime("dockyard", tmp_path).argv[1:3] == ["-m", "dockyard.runtime"]
    with pytest.raises(InvalidArgument, match="unknown or invalid runtime name: kata"):
        open_runtime("kata", tmp_path)


def test_state_of_unknown_container_is_none(tmp_path: Path) -> None:
    assert open_runtime("runc", tmp_path).state("nope") is None


@pytest.mark.slow
def test_init_builds_once_runs_and_reports_status(tmp_path: Path) -> None:
    path = ensure_init(tmp_path)
    assert ensure_init(tmp_path) == path  # cached
    run = subprocess.run([str(path), "--", "sh", "-c", "echo hi; exit 7"],
                         capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (7, "hi\n")
    killed = subprocess.run([str(path), "--", "sh", "-c", "kill -9 $$"])
    assert killed.returncode == 137
    missing = subprocess.run([str(path), "--", "/no/such"], capture_output=True)
    assert missing.returncode == 127
