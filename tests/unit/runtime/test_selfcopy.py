"""The sealed interpreter copy ``exec`` re-executes from (runtime/selfcopy.py)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.runtime.selfcopy import SEALS, running_sealed, sealed_copy


def test_the_copy_is_the_file_and_cannot_change(tmp_path: Path) -> None:
    source = tmp_path / "interp"
    source.write_bytes(os.urandom(300_000))
    fd = sealed_copy(str(source))
    try:
        assert fcntl.fcntl(fd, fcntl.F_GET_SEALS) == SEALS
        assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:dockyard:interp")
        assert os.pread(fd, 400_000, 0) == source.read_bytes()
        with pytest.raises(PermissionError):
            os.pwrite(fd, b"x", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 10)
        again = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY)  # as an attacker reopens it
        try:
            with pytest.raises(PermissionError):
                os.write(again, b"x")
        finally:
            os.close(again)
        with pytest.raises(PermissionError):
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, 0)  # F_SEAL_SEAL: the seals stay
        assert os.get_inheritable(fd) is False
    finally:
        os.close(fd)


@pytest.mark.parametrize("name", ["missing", "a-directory"])
def test_what_cannot_be_copied_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "a-directory").mkdir()
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError):
        sealed_copy(str(tmp_path / name))
    assert set(os.listdir("/proc/self/fd")) == before  # nothing left open


def test_reexec_runs_the_same_command_once_from_the_copy() -> None:
    src = str(Path(__file__).resolve().parents[3] / "src")
    script = (f"import sys; sys.path.insert(0, {src!r})\n"
              "from dockyard.runtime.selfcopy import reexec_sealed, running_sealed\n"
              "print(running_sealed(), sys.argv[1:])\n"
              "reexec_sealed()\n"
              "print(running_sealed(), sys.argv[1:])\n")
    r = subprocess.run([sys.executable, "-SI", "-c", script, "a b", "c"],
                       capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["False ['a b', 'c']", "True ['a b', 'c']",
                                     "True ['a b', 'c']"]
    assert not running_sealed()  # pytest's own interpreter is a plain file
