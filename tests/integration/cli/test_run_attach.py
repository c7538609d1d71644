"""A foreground ``run`` (and ``start -a``) attaches before the container starts, as
docker's client does: output written at once reaches the command even when the log
driver keeps nothing, and killing the command leaves the container to run alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dockyard.engine.monitor.client import stop_spawner
from tests.integration.cli.conftest import Dockyard
from tests.support.dockerd import Dockerd

NONE = ("--network", "none", "--log-driver", "none")


@pytest.mark.parametrize("attach", [(), ("-a", "stdout"), ("-a", "stderr")])
def test_first_output_with_no_log_is_never_lost(dockyard: Dockyard,
                                                attach: tuple[str, ...]) -> None:
    want_out = "out\n" if attach != ("-a", "stderr") else ""
    want_err = "err\n" if attach != ("-a", "stdout") else ""
    for _ in range(5):  # the old attach-after-start lost it most of the time
        r = dockyard("run", "--rm", *attach, *NONE, "busybox", "sh", "-c",
                     "echo out; echo err >&2; exit 3")
        assert (r.code, r.out, r.err) == (3, want_out, want_err)


def test_a_large_burst_before_exit_arrives_whole(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", *NONE, "busybox", "seq", "1", "200000")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [str(i) for i in range(1, 200001)]


def test_stdin_and_output_share_the_early_attach(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", "-i", *NONE, "busybox", "sh", "-c", "echo first; tr a-z A-Z",
                 input="hello\n")
    assert (r.code, r.out) == (0, "first\nHELLO\n")


def test_start_a_attaches_before_the_start(dockyard: Dockyard) -> None:
    cid = dockyard.ok("create", *NONE, "busybox", "sh", "-c", "echo started; exit 4").strip()
    for _ in range(3):  # a created container, then an exited one
        r = dockyard("start", "-a", cid)
        assert (r.code, r.out) == (4, "started\n")


def test_the_attach_event_comes_before_the_start(dockyard: Dockyard) -> None:
    since = time.time()
    dockyard.ok("run", "--rm", *NONE, "--name", "ordered", "busybox", "true")
    out = dockyard.ok("events", "--since", f"{since:.6f}", "--until", f"{time.time():.6f}",
                      "--filter", "container=ordered", "--format", "{{.Action}}")
    assert out.split() == ["create", "attach", "start", "die", "destroy"]


def test_killing_the_command_leaves_the_container_to_finish(dockyard: Dockyard) -> None:
    proc = subprocess.Popen(dockyard.argv("run", *NONE, "--name", "orphan", "busybox", "sh",
                                          "-c", "echo a; sleep 1; echo b; exit 5"),
                            env=dockyard.env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"a\n"  # attached and started
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert dockyard.ok("wait", "orphan").strip() == "5"  # ran on alone, past its output
    state = json.loads(dockyard.ok("inspect", "orphan"))[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 5)
    # The idle monitor spawner lingers for the next command by design; asked to leave,
    # it does only once no monitor of it is left, so any leftover still shows below.
    stop_spawner(dockyard.run_root)
    deadline = time.monotonic() + 10
    while dockyard.processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dockyard.processes() == []


@pytest.mark.peer
@pytest.mark.slow
def test_attached_streams_with_no_log_match_docker(dockerd: Dockerd, dockyard: Dockyard,
                                                   busybox_rootfs_template: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "busybox")
    script = "echo out; echo err >&2; exit 3"
    for attach in ((), ("-a", "stdout"), ("-a", "stderr")):
        theirs = dockerd.docker("run", "--rm", *attach, *NONE, "busybox", "sh", "-c", script,
                                check=False)
        ours = dockyard("run", "--rm", *attach, *NONE, "busybox", "sh", "-c", script)
        assert (ours.code, ours.out, ours.err) == \
            (theirs.returncode, theirs.stdout, theirs.stderr), attach
