"""The engine's adapter for the built-in runtime: library errors become engine errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.runtimes import DEFAULT_RUNTIME, DockyardRuntime, open_runtime
from dockyard.errors import Conflict, InvalidArgument, NotFound, SystemFailure


def _rt(tmp_path: Path) -> DockyardRuntime:
    rt = open_runtime("dockyard", tmp_path)
    assert isinstance(rt, DockyardRuntime)
    return rt


def test_default_is_the_built_in_runtime() -> None:
    assert DEFAULT_RUNTIME == "dockyard"


@pytest.mark.parametrize(("raised", "expected", "text"), [
    (NotFound("container does not exist: x"), NotFound,
     "runtime dockyard: container does not exist: x"),
    (Conflict("cannot kill container x in status stopped"), Conflict,
     "runtime dockyard: cannot kill container x in status stopped"),
    (InvalidArgument("invalid signal: FOO"), InvalidArgument,
     "runtime dockyard: invalid signal: FOO"),
    (SystemFailure("cgroup: busy"), SystemFailure, "runtime dockyard kill: cgroup: busy"),
    (PermissionError(13, "Permission denied"), SystemFailure,
     "runtime dockyard kill: Permission denied"),
])
def test_errors_keep_their_kind_and_name_the_runtime(tmp_path: Path, raised: Exception,
                                                     expected: type[Exception],
                                                     text: str) -> None:
    def fail() -> None:
        raise raised

    with pytest.raises(expected) as info:
        _rt(tmp_path)._call("kill", fail)
    assert str(info.value) == text


def test_verbs_on_unknown_containers(tmp_path: Path) -> None:
    rt = _rt(tmp_path)
    assert rt.state("nope") is None
    rt.delete("nope")  # nothing to delete: no error, as with runc's --force
    with pytest.raises(NotFound, match="runtime dockyard: container does not exist: nope"):
        rt.kill("nope", 15)
    with pytest.raises(NotFound):
        rt.pause("nope")
    with pytest.raises(InvalidArgument, match="invalid signal"):
        rt.kill("nope", 99999)
    with pytest.raises(InvalidArgument, match="invalid container id"):
        rt.kill("../escape", 15)


def test_launcher_is_written_once_and_rewritten_when_stale(tmp_path: Path) -> None:
    rt = _rt(tmp_path)
    argv = rt.exec_argv("c1", "/p.json", tty=True, detach=False, pid_file="/pid")
    launcher = Path(argv[0])
    assert launcher == tmp_path / "dockyard-runtime"
    assert argv[1:] == ["--root", str(tmp_path / "dockyard"), "exec", "--process",
                        "/p.json", "--pid-file", "/pid", "c1"]
    first = launcher.stat().st_mtime_ns
    rt.exec_argv("c1", "/p.json", tty=False, detach=False)
    assert launcher.stat().st_mtime_ns == first
    launcher.write_text("#!/bin/sh\nexit 1\n")
    rt.exec_argv("c1", "/p.json", tty=False, detach=False)
    assert "dockyard.runtime.cli.main" in launcher.read_text()
