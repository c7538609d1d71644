"""Bad input through the real command: docker's message and exit code, nothing left."""

from __future__ import annotations

import os

import pytest

from tests.integration.cli.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _nothing_left(d: Dockyard) -> None:
    assert d.containers() == []
    assert d.mounts() == []
    assert d.processes() == []


def test_unknown_image(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", "nosuchimage:v1", "true")
    assert r.code == 125
    assert "Unable to find image 'nosuchimage:v1' locally" in r.err
    assert "nosuchimage" in r.err.splitlines()[-1]
    _nothing_left(dockyard)


@pytest.mark.parametrize(("args", "message"), [
    (["-m", "lots"], 'invalid argument "lots" for "-m, --memory" flag: invalid size: '
     "'lots'"),
    (["--cpus", "two"], 'invalid argument "two" for "--cpus" flag'),
    (["--ulimit", "nofile=10:5"], "ulimit soft limit must be less than or equal to hard"),
    (["--restart", "always", "--rm"], "conflicting options"),
    (["--no-such-flag"], "unknown flag: --no-such-flag"),
])
def test_bad_flag_value(dockyard: Dockyard, args: list[str], message: str) -> None:
    r = dockyard("run", *args, "busybox", "true")
    assert r.code == 125
    assert message in r.err
    _nothing_left(dockyard)


def test_name_in_use(dockyard: Dockyard) -> None:
    dockyard.ok("create", "--name", "taken", "--network", "none", "busybox", "true")
    r = dockyard("run", "--name", "taken", "--network", "none", "busybox", "true")
    assert r.code == 125
    assert 'The container name "/taken" is already in use' in r.err
    assert dockyard.ok("ps", "-a", "--format", "{{.Names}} {{.State}}") == "taken created\n"


def test_missing_command(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", "--network", "none", "busybox", "/no/such/cmd")
    assert r.code == 127
    assert "/no/such/cmd" in r.err and "no such file or directory" in r.err
    _nothing_left(dockyard)
    r = dockyard("run", "--rm", "--network", "none", "busybox", "nosuchcmd")
    assert r.code == 127
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.err
    _nothing_left(dockyard)


def test_missing_command_without_rm_stays_created(dockyard: Dockyard) -> None:
    """Like docker: the container stays, Created, holding the error; nothing runs."""
    r = dockyard("run", "--name", "broken", "--network", "none", "busybox", "nosuchcmd")
    assert r.code == 127
    assert dockyard.ok("ps", "-a", "--format", "{{.Names}} {{.State}}") == "broken created\n"
    assert dockyard.mounts() == []
    assert dockyard.processes() == []


def test_memory_below_minimum(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", "-m", "4m", "--network", "none", "busybox", "true")
    assert r.code == 125
    assert "Minimum memory limit allowed is 6MB" in r.err
    _nothing_left(dockyard)


def test_not_found_elsewhere_exits_1(dockyard: Dockyard) -> None:
    r = dockyard("rm", "ghost")
    assert r.code == 1
    assert "ghost" in r.err
    r = dockyard("inspect", "ghost")
    assert (r.code, r.out) == (1, "[]\n")
    assert "Error: No such object: ghost" in r.err
