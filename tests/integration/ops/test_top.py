"""``top`` with ps options, and docker's errors for the ones it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import DockyardError, InvalidArgument
from tests.support.dockerd import Dockerd


@pytest.fixture
def box(engine: Any) -> str:
    cid = engine.create("tops", {"Image": "busybox",
                                 "Cmd": ["sh", "-c", "sleep 60 & sleep 61 & wait"]},
                        {"NetworkMode": "none"})["Id"]
    engine.start(cid)
    return str(cid)


def test_ps_options(engine: Any, box: str) -> None:
    default = engine.top(box)
    assert default["Titles"][:2] == ["UID", "PID"]
    assert [p[-1] for p in default["Processes"]] == ["sh -c sleep 60 & sleep 61 & wait",
                                                     "sleep 60", "sleep 61"]
    custom = engine.top(box, "-o pid,comm")
    assert custom["Titles"] == ["PID", "COMMAND"]
    assert sorted(p[1] for p in custom["Processes"]) == ["sh", "sleep", "sleep"]
    aux = engine.top(box, "aux")
    assert "%CPU" in aux["Titles"] and len(aux["Processes"]) == 3


@pytest.mark.parametrize(("args", "message"), [
    ("-o comm", "Couldn't find PID field in ps output"),
    ("-o ppid=PID", 'specifying "ppid=PID" is not allowed'),
])
def test_refused_options(engine: Any, box: str, args: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        engine.top(box, args)
    assert str(err.value) == message


def test_bad_ps_option_is_one_line(engine: Any, box: str) -> None:
    with pytest.raises(DockyardError) as err:
        engine.top(box, "--no-such-option")
    assert str(err.value).startswith("Error running ps: exit status 1")
    assert "\n" not in str(err.value)


@pytest.mark.peer
@pytest.mark.slow
def test_same_titles_and_errors_as_docker(dockerd: Dockerd, busybox_rootfs_template: Path,
                                          engine: Any, box: str) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "busybox")
    dockerd.docker("run", "-d", "--name", "tops", "--network", "none", "busybox", "sh", "-c",
                   "sleep 60 & sleep 61 & wait")
    try:
        for args in (["-o", "pid,comm"], ["aux"], []):
            theirs = dockerd.docker("top", "tops", *args).stdout.splitlines()[0].split()
            assert engine.top(box, " ".join(args) or "-ef")["Titles"] == theirs
        for args, message in ((["-o", "comm"], "Couldn't find PID field in ps output"),
                              (["-o", "ppid=PID"], 'specifying "ppid=PID" is not allowed')):
            err = dockerd.docker("top", "tops", *args, check=False).stderr
            assert message in err
    finally:
        dockerd.docker("rm", "-f", "tops", check=False)
