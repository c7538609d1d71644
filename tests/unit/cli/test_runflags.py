"""``run``/``create`` flags → Config/HostConfig, against docker's own client."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import pytest

from dockyard.cli.main import main
from dockyard.cli.runflags import CreateRequest, build_request, create_options, run_options
from tests.unit.cli.docker_oracle import DOCKER, docker_create_body


def _probe(verb: str, args: list[str]) -> CreateRequest:
    """Parse ``args`` exactly as ``dockyard <verb>`` would, without an engine."""
    seen: list[CreateRequest] = []
    decorate = run_options if verb == "run" else create_options

    @click.command(context_settings={"allow_interspersed_args": False,
                                     "help_option_names": ["--help"]})
    @click.argument("image")
    @click.argument("command", nargs=-1, type=click.UNPROCESSED)
    @decorate
    def probe(image: str, command: tuple[str, ...], **params: Any) -> None:
        seen.append(build_request(image, command, params))

    probe.main(args=args, standalone_mode=False)
    return seen[0]


CASES = [
    ["busybox"],
    ["busybox", "sh", "-c", "echo hi"],
    ["-d", "--name", "web", "busybox", "sleep", "9"],
    ["-it", "--rm", "busybox"],
    ["-i", "-a", "stdout", "busybox"],
    ["-a", "stderr", "busybox"],
    ["--entrypoint", "", "busybox"],
    ["--entrypoint", "a b", "busybox", "--", "x"],
    ["--", "busybox", "-x"],
    ["-e", "A=1", "-e", "B", "-e", "HOME", "busybox"],
    ["-l", "a=1", "-l", "b", "--label", "c=d=e", "busybox"],
    ["-m", "32m", "--memory-swap", "-1", "--memory-reservation", "10m", "busybox"],
    ["--memory", "1.5g", "--memory-swap", "2g", "--memory-swappiness", "10", "busybox"],
    ["--cpus", "1.5", "-c", "512", "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "busybox"],
    ["--cpu-period", "100000", "--cpu-quota", "50000", "busybox"],
    ["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=100", "busybox"],
    ["--pids-limit", "10", "--blkio-weight", "300", "--oom-kill-disable", "busybox"],
    ["--device", "/dev/null:/dev/n:r", "--device", "/dev/zero", "busybox"],
    ["--device-read-bps", "/dev/sda:1m", "--device-write-bps", "/dev/sda:2k", "busybox"],
    ["--device-read-iops", "/dev/sda:100", "--device-write-iops", "/dev/sda:200", "busybox"],
    ["--blkio-weight-device", "/dev/sda:300", "busybox"],
    ["--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined", "busybox"],
    ["--security-opt", "label:disable", "busybox"],
    ["--cap-add", "net_admin", "--cap-add", "CAP_SYS_ADMIN", "--cap-drop", "all", "busybox"],
    ["--privileged", "--read-only", "--init", "busybox"],
    ["--stop-signal", "SIGUSR1", "--stop-timeout", "3", "busybox"],
    ["--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
     "busybox"],
    ["--log-driver", "none", "busybox"],
    ["--network", "none", "busybox"],
    ["--net", "host", "busybox"],
    ["--restart", "on-failure:3", "busybox"],
    ["--restart", "always", "-d", "busybox"],
    ["-h", "box", "--domainname", "example.org", "-w", "/tmp", "-u", "1000:1000", "busybox"],
    ["--hostname", "box", "--user", "nobody", "--workdir", "/", "busybox"],
    ["--group-add", "10", "--oom-score-adj", "100", "--shm-size", "64m", "busybox"],
    ["--cgroup-parent", "mine", "busybox"],
    ["-v", "/tmp:/data", "busybox"],
    ["-v", "/anon", "-v", "named:/n:ro,nocopy", "-v", "/tmp:/b:rshared,z", "busybox"],
    ["--mount", "type=bind,src=/tmp,dst=/b,bind-propagation=rslave,readonly",
     "--mount", "type=volume,source=v,target=/v,volume-nocopy,volume-label=a=b,"
     "volume-opt=type=tmpfs", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1700",
     "busybox"],
    ["--tmpfs", "/run:size=1m,mode=700", "--tmpfs", "/t", "--volumes-from", "other:ro",
     "--volumes-from", "third", "busybox"],
    ["--runtime", "runc", "--add-host", "db:10.0.0.2", "--add-host", "h6:::1", "busybox"],
]
# Where docker's own client changed after 20.10 (the API version dockyard follows).
NEWER_THAN_20_10 = {"NetworkingConfig"}


def _body(req: CreateRequest) -> dict[str, Any]:
    return {**req.config, "HostConfig": req.host_config}


@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.skipif(DOCKER is None, reason="the docker client is not installed")
@pytest.mark.parametrize("verb", ["run", "create"])
@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a)[:60])
def test_same_body_as_docker(tmp_path: Path, verb: str, args: list[str]) -> None:
    if verb == "create" and "-d" in args:
        args = [a for a in args if a != "-d"]
    os.environ.setdefault("HOME", "/root")
    theirs, stderr = docker_create_body(tmp_path, [verb, *args])
    assert theirs is not None, stderr
    for key in NEWER_THAN_20_10:
        theirs.pop(key, None)
    ours = _body(_probe(verb, args))
    # The docker 28 client sends "-e A=1 -e B -e HOME" in varying orders from run to run
    # (seen: three orders in three runs), so Env is compared as a multiset; ours keeps
    # the flags' order, which test_env_file_then_env_flags pins.
    if isinstance(ours.get("Env"), list) and isinstance(theirs.get("Env"), list):
        assert sorted(ours.pop("Env")) == sorted(theirs.pop("Env"))
    assert ours == theirs


def test_env_file_then_env_flags(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("A=from-file\nB=file\n")
    req = _probe("run", ["--env-file", str(env_file), "-e", "A=flag", "busybox"])
    assert req.config["Env"] == ["A=from-file", "B=file", "A=flag"]


def test_label_file_then_label_flags(tmp_path: Path) -> None:
    label_file = tmp_path / "labels"
    label_file.write_text("a=file\nb=file\n")
    req = _probe("run", ["--label-file", str(label_file), "-l", "a=flag", "busybox"])
    assert req.config["Labels"] == {"a": "flag", "b": "file"}


def test_detach_clears_attach() -> None:
    req = _probe("run", ["-d", "-i", "busybox"])
    assert req.detach
    assert (req.config["AttachStdin"], req.config["AttachStdout"],
            req.config["StdinOnce"]) == (False, False, False)
    assert req.config["OpenStdin"] is True


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["-m", "abc"], 'invalid argument "abc" for "-m, --memory" flag: invalid size: \'abc\''),
    (["--cpus", "1.0000000001"],
     'invalid argument "1.0000000001" for "--cpus" flag: value is too precise'),
    (["--ulimit", "nofile=3:2"], 'invalid argument "nofile=3:2" for "--ulimit" flag: ulimit '
     "soft limit must be less than or equal to hard limit: 3 > 2"),
    (["--security-opt", "foo"],
     'invalid argument "foo" for "--security-opt" flag: invalid --security-opt: "foo"'),
    (["--restart", "always", "--rm"],
     "conflicting options: cannot specify both --restart and --rm"),
    (["--device-read-bps", "/dev/sda"],
     'invalid argument "/dev/sda" for "--device-read-bps" flag: bad format: /dev/sda'),
    (["-e", "=x"], 'invalid argument "=x" for "-e, --env" flag: invalid environment '
     "variable: =x"),
    (["--stop-signal", "FOO"], "invalid signal: FOO"),
    (["--log-driver", "none", "--log-opt", "a=b"], "invalid logging opts for driver none"),
    (["--foo"], "unknown flag: --foo"),
    (["-y"], "unknown shorthand flag: 'y' in -y"),
    (["--memory-swappiness", "101"], "Valid memory swappiness range is 0-100"),
    (["--add-host", "bad"], 'invalid argument "bad" for "--add-host" flag: bad format for '
     'add-host: "bad"'),
    (["--add-host", "x:notanip"], 'invalid IP address in add-host: "notanip"'),
    (["--cpu-shares", "99999999999999999999"], 'invalid argument "99999999999999999999" for '
     '"-c, --cpu-shares" flag: strconv.ParseInt: parsing "99999999999999999999": value out '
     "of range"),
])
def test_bad_flag_values(args: list[str], message: str,
                         capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = _run_cli(["--root", str(tmp_path / "r"), "--run-root", str(tmp_path / "x"),
                          "run", *args, "busybox"], capsys)
    assert code == 125
    assert message in err.splitlines()[0]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").rglob("config*.json"))
