"""``exec`` keeps its debugging on every runtime: the init's /proc files and ptrace."""

from __future__ import annotations

from typing import Any

import pytest

_ENVIRON = 'tr "\\0" "\\n" < /proc/1/environ | grep -qx MARK=env-7 && exit 5'
_EXE = '[ "$(readlink /proc/1/exe)" = /bin/busybox ] && ls /proc/1/fd | grep -qx 2 && exit 6'


@pytest.mark.parametrize("runtime", ["runc", "dockyard", "crun"])
def test_exec_reads_the_inits_environment_and_exe(engine: Any, runtime: str) -> None:
    cid = engine.create(f"insp-{runtime}", {"Image": "busybox", "Cmd": ["sleep", "30"],
                                            "Env": ["MARK=env-7"]},
                        {"NetworkMode": "none", "Runtime": runtime,
                         "CapAdd": ["SYS_PTRACE"]})["Id"]
    engine.start(cid)
    try:
        for script, code in ((_ENVIRON, 5), (_EXE, 6)):
            ex = engine.exec_create(cid, {"Cmd": ["sh", "-c", script]})
            assert (runtime, engine.exec_start(ex)) == (runtime, code)
    finally:
        engine.remove(cid, force=True)
