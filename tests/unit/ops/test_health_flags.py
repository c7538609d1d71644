"""``--health-*`` and ``--health-on-failure`` flags, against docker's own client."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.cli.main import main
from tests.unit.cli.docker_oracle import DOCKER, docker_create_body
from tests.unit.cli.test_runflags import _body, _probe

CASES = [
    ["--health-cmd", "curl -f http://localhost/", "busybox"],
    ["--health-cmd", "true", "--health-interval", "1m30s", "--health-timeout", "1.5s",
     "--health-retries", "4", "--health-start-period", "300ms", "busybox"],
    ["--health-interval", "2s", "busybox"],
    ["--no-healthcheck", "busybox"],
]


@pytest.mark.peer
@pytest.mark.skipif(DOCKER is None, reason="the docker client is not installed")
@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a)[:50])
def test_same_healthcheck_as_docker(tmp_path: Path, args: list[str]) -> None:
    os.environ.setdefault("HOME", "/root")
    theirs, stderr = docker_create_body(tmp_path, ["create", *args])
    assert theirs is not None, stderr
    ours = _body(_probe("create", args))
    assert ours.get("Healthcheck") == theirs.get("Healthcheck")


def test_start_interval_and_on_failure() -> None:
    req = _probe("run", ["--health-cmd", "x", "--health-start-interval", "250ms",
                         "--health-on-failure", "restart", "busybox"])
    assert req.config["Healthcheck"] == {"Test": ["CMD-SHELL", "x"], "StartInterval": 250_000_000}
    assert req.host_config["HealthOnFailure"] == "restart"
    assert "HealthOnFailure" not in _probe("run", ["busybox"]).host_config


BAD = [
    (["--health-interval", "5"],
     'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"'),
    (["--health-timeout", "abc"],
     'invalid argument "abc" for "--health-timeout" flag: time: invalid duration "abc"'),
    (["--health-start-period", "3x"], 'invalid argument "3x" for "--health-start-period" '
     'flag: time: unknown unit "x" in duration "3x"'),
    (["--health-interval", "-1s"], "--health-interval cannot be negative"),
    (["--health-retries", "-2"], "--health-retries cannot be negative"),
    (["--no-healthcheck", "--health-cmd", "true"],
     "--no-healthcheck conflicts with --health-* options"),
    (["--health-interval", "10us"], "Interval in Healthcheck cannot be less than 1ms"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=lambda a: str(a)[:40])
def test_bad_health_flags(args: list[str], message: str, capsys: pytest.CaptureFixture[str],
                          tmp_path: Path) -> None:
    code = main(["--root", str(tmp_path / "r"), "--run-root", str(tmp_path / "x"),
                 "create", *args, "busybox"])
    err = capsys.readouterr().err
    assert code == 125
    assert err.splitlines()[0] == f"Error: {message}" or message in err.splitlines()[0]
    assert not (tmp_path / "r" / "containers").exists() or \
        not any((tmp_path / "r" / "containers").glob("*/container.json"))


@pytest.mark.peer
@pytest.mark.skipif(DOCKER is None, reason="the docker client is not installed")
@pytest.mark.parametrize(("args", "message"), BAD[:6], ids=lambda a: str(a)[:40])
def test_docker_says_the_same(tmp_path: Path, args: list[str], message: str) -> None:
    _, stderr = docker_create_body(tmp_path, ["create", *args, "busybox"])
    assert message in stderr


def test_bad_on_failure_action(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["--root", str(tmp_path / "r"), "create", "--health-on-failure", "reboot",
                 "busybox"])
    assert code == 125
    assert "invalid on-failure action: 'reboot'" in capsys.readouterr().err
