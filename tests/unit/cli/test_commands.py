"""Each command's output, messages and exit code, with a recording fake engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.cli import context
from dockyard.cli.main import _verb, main
from dockyard.errors import CommandNotFound, Conflict, ExecFailed, NotFound

CID = "c0ffee" + "0" * 58


class FakeEngine:
    """Answers like the Engine facade and records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.known = {"web": CID, "db": "d" * 64}
        self.start_error: Exception | None = None
        self.create_error: Exception | None = None

    def resolve(self, ref: str) -> str:
        if ref in self.known:
            return self.known[ref]
        if ref in self.known.values():
            return ref
        raise NotFound(f"No such container: {ref}")

    def create(self, name: str | None, config: dict[str, Any], host_config: dict[str, Any],
               networking_config: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls.append(("create", name, config, host_config))
        if self.create_error:
            raise self.create_error
        return {"Id": CID, "Warnings": ["careful"]}

    def log_event(self, ref: str, action: str, **attributes: str) -> None:
        self.calls.append(("event", ref, action))

    def start(self, ref: str, attach: dict[str, object] | None = None) -> int:
        self.calls.append(("start", ref))
        if self.start_error:
            raise self.start_error
        return 42

    def _verb(self, verb: str, ref: str, *rest: Any) -> None:
        self.resolve(ref)
        self.calls.append((verb, ref, *rest))

    def stop(self, ref: str, timeout: int | None = None) -> None:
        self._verb("stop", ref, timeout)

    def kill(self, ref: str, signal: str | int = "KILL") -> None:
        self._verb("kill", ref, signal)

    def restart(self, ref: str, timeout: int | None = None) -> int:
        self._verb("restart", ref, timeout)
        return 1

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        self._verb("remove", ref, force, volumes)

    def pause(self, ref: str) -> None:
        self._verb("pause", ref)

    def unpause(self, ref: str) -> None:
        self._verb("unpause", ref)

    def rename(self, ref: str, new: str) -> None:
        self._verb("rename", ref, new)

    def update(self, ref: str, resources: dict[str, Any]) -> list[str]:
        self._verb("update", ref, resources)
        return []

    def wait(self, ref: str, condition: str = "not-running",
             timeout: float | None = None) -> dict[str, Any]:
        self._verb("wait", ref, condition)
        return {"StatusCode": 3, "Error": None}

    def prune(self) -> dict[str, Any]:
        return {"ContainersDeleted": ["a" * 64], "SpaceReclaimed": 2048}

    def changes(self, ref: str) -> list[dict[str, Any]]:
        self.resolve(ref)
        return [{"Path": "/tmp", "Kind": 0}, {"Path": "/tmp/new", "Kind": 1},
                {"Path": "/etc/gone", "Kind": 2}]

    def top(self, ref: str, ps_args: str = "-ef") -> dict[str, Any]:
        self.resolve(ref)
        return {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "4242", "sleep 9"]]}

    def inspect(self, ref: str) -> dict[str, Any]:
        cid = self.resolve(ref)
        return {"Id": cid, "Name": "/" + ref, "State": {"Running": True, "Pid": 7},
                "Config": {"Tty": False, "OpenStdin": False, "Env": ["A=1"]},
                "HostConfig": {"LogConfig": {"Type": "json-file"}},
                "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "127.0.0.1",
                                                          "HostPort": "8080"}]}}}

    def list(self, all: bool = False, limit: int = -1,
             filters: dict[str, list[str]] | None = None,
             size: bool = False) -> list[dict[str, Any]]:
        self.calls.append(("list", all, limit, filters) + (("size",) if size else ()))
        return [{"Id": CID, "Names": ["/web"], "Image": "busybox", "ImageID": "sha256:" + "b" * 64,
                 "Command": "sleep 9", "Created": 0, "Ports": [], "Labels": {},
                 "State": "running", "Status": "Up 2 hours", "Mounts": [],
                 "NetworkSettings": {"Networks": {}}}]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    engine = FakeEngine()
    monkeypatch.setattr(context.AppContext, "engine", lambda self: engine)
    monkeypatch.setattr(context.AppContext, "new_engine", lambda self: engine)
    return engine


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_detached_prints_full_id(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", "-d", "--name", "x", "-e", "A=1", "busybox", "echo", "hi")
    assert (code, out) == (0, CID + "\n")
    assert err == "WARNING: careful\n"
    verb, name, config, host_config = fake.calls[0]
    assert (verb, name, config["Cmd"], config["Env"]) == ("create", "x", ["echo", "hi"], ["A=1"])
    assert host_config["NetworkMode"] == "default"
    assert fake.calls[1] == ("start", CID)


def test_create_prints_id(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "create", "-it", "busybox")[:2] == (0, CID + "\n")
    assert [c[0] for c in fake.calls] == ["create"]


def test_combined_short_flags(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "run", "-dit", "busybox", "sh")[0] == 0
    config = fake.calls[0][2]
    assert (config["Tty"], config["OpenStdin"], config["AttachStdin"]) == (True, True, False)


def test_unknown_image(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    fake.create_error = NotFound("no such image: busybox:latest")
    code, _, err = run(capsys, "run", "busybox")
    assert code == 125
    assert err.splitlines() == ["Unable to find image 'busybox:latest' locally",
                                "Error: no such image: busybox:latest"]


@pytest.mark.parametrize(("error", "code"), [
    (CommandNotFound('exec: "nope": executable file not found in $PATH'), 127),
    (ExecFailed("exec: /etc: permission denied"), 126),
    (Conflict("something is wrong"), 125),
])
def test_start_errors_and_rm(fake: FakeEngine, capsys: pytest.CaptureFixture[str],
                             error: Exception, code: int) -> None:
    fake.start_error = error
    got, out, err = run(capsys, "run", "--rm", "busybox", "nope")
    assert (got, out) == (code, "")
    assert err.splitlines()[-1] == f"Error: {error}"
    assert ("remove", CID, True, False) in fake.calls
    # an attached run logs docker's attach event before the start, as dockerd does
    assert fake.calls.index(("event", CID, "attach")) < fake.calls.index(("start", CID))


def test_many_targets_report_each(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "stop", "-t", "3", "web", "ghost", "db")
    assert (code, out) == (1, "web\ndb\n")
    assert err == "Error response from daemon: No such container: ghost\n"
    assert ("stop", "web", 3) in fake.calls and ("stop", "db", 3) in fake.calls


@pytest.mark.parametrize(("args", "call"), [
    (["kill", "-s", "HUP", "web"], ("kill", "web", "HUP")),
    (["kill", "web"], ("kill", "web", "KILL")),
    (["rm", "-f", "web"], ("remove", "web", True, False)),
    (["rm", "-v", "web"], ("remove", "web", False, True)),
    (["restart", "web"], ("restart", "web", None)),
    (["pause", "web"], ("pause", "web")),
    (["unpause", "web"], ("unpause", "web")),
    (["rename", "web", "site"], ("rename", "web", "site")),
    (["update", "-m", "32m", "--cpus", "0.5", "web"],
     ("update", "web", {"Memory": 33554432, "NanoCpus": 500000000})),
    (["container", "stop", "web"], ("stop", "web", None)),
])
def test_verbs_call_the_engine(fake: FakeEngine, capsys: pytest.CaptureFixture[str],
                               args: list[str], call: tuple[Any, ...]) -> None:
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert call in fake.calls
    if args[0] not in ("rename", "update", "container"):
        assert out == "web\n"


def test_wait_prints_status(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "wait", "web")[:2] == (0, "3\n")


def test_diff(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "diff", "web")[1] == "C /tmp\nA /tmp/new\nD /etc/gone\n"


def test_top(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "top", "web")[1]
    assert out.splitlines() == ["UID                 PID                 CMD",
                                "root                4242                sleep 9"]


def test_port(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "port", "web")[1] == "80/tcp -> 127.0.0.1:8080\n"
    assert run(capsys, "port", "web", "80")[1] == "127.0.0.1:8080\n"
    code, _, err = run(capsys, "port", "web", "81/udp")
    assert code == 1 and "No public port '81/udp' published for web" in err


def test_prune(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "container", "prune", "-f")[1]
    assert out == f"Deleted Containers:\n{'a' * 64}\n\nTotal reclaimed space: 2.048kB\n"


def test_inspect(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "container", "inspect", "web")
    assert code == 0
    assert json.loads(out)[0]["Id"] == CID
    assert out.startswith('[\n    {\n        "Id"')
    assert run(capsys, "inspect", "-f", "{{.Name}} {{.State.Pid}}", "web", "db")[1] == \
        "/web 7\n/db 7\n"
    code, out, err = run(capsys, "container", "inspect", "web", "ghost")
    assert code == 1 and len(json.loads(out)) == 1
    assert err == "Error: No such container: ghost\n"
    code, _, err = run(capsys, "inspect", "-f", "{{.Nope}}", "web")
    assert code == 1 and 'map has no entry for key "Nope"' in err


def test_ps(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "ps", "--format", "{{.ID}} {{.Names}} {{.Status}}")[1]
    assert out == f"{CID[:12]} web Up 2 hours\n"
    assert fake.calls[-1] == ("list", False, -1, {})
    run(capsys, "container", "ls", "-a", "-f", "name=web", "--filter", "status=running", "-q")
    assert fake.calls[-1] == ("list", True, -1, {"name": ["web"], "status": ["running"]})
    run(capsys, "ps", "-l", "-q")
    assert fake.calls[-1] == ("list", True, 1, {})
    run(capsys, "ps", "-s")
    assert fake.calls[-1] == ("list", False, -1, {}, "size")
    run(capsys, "ps", "--format", "{{.Names}} {{.Size}}")
    assert fake.calls[-1] == ("list", False, -1, {}, "size")
    code, _, err = run(capsys, "ps", "--filter", "oops")
    assert code == 125
    assert err.splitlines()[0] == ('Error: invalid argument "oops" for "-f, --filter" flag: '
                                   "bad format of filter (expected name=value)")


def test_version_format(capsys: pytest.CaptureFixture[str]) -> None:
    from dockyard import __version__

    assert run(capsys, "version", "--format", "{{.Client.Version}}|{{.Server.ApiVersion}}")[1] \
        == f"{__version__}|1.41\n"
    assert json.loads(run(capsys, "version", "-f", "{{json .}}")[1])["Server"]["Os"] == "linux"


@pytest.mark.parametrize(("argv", "verb"), [
    (["run", "busybox"], "run"), (["--root", "/x", "create", "b"], "create"),
    (["container", "run", "b"], "run"), (["-D", "rm", "x"], "rm"),
    (["--run-root", "run", "ps"], "ps"), ([], ""), (["system", "info"], "info"),
])
def test_verb(argv: list[str], verb: str) -> None:
    assert _verb(argv) == verb


def test_missing_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "stop")
    assert code == 1
    assert err.splitlines() == ['"dockyard stop" requires at least 1 argument.',
                                "See 'dockyard stop --help'."]
    code, _, err = run(capsys, "stop", "--nope", "x")
    assert code == 125
    assert err.splitlines() == ["Error: unknown flag: --nope", "See 'dockyard stop --help'."]


def test_ps_on_a_terminal_is_a_rich_table(fake: FakeEngine, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    import re

    out = re.sub(r"\x1b\[[0-9;]*m", "", run(capsys, "ps")[1])  # drop the styles
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    assert lines[1].split()[:3] == [CID[:12], "busybox", '"sleep']
    assert lines[1].endswith("web")
    # Not used when a format is given or output is a pipe.
    assert run(capsys, "ps", "--format", "{{.Names}}")[1] == "web\n"


def test_storage_flags_reach_the_engine(fake: FakeEngine,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "create", "-v", "/tmp:/data", "-v", "/anon", "--tmpfs", "/t",
                     "--volumes-from", "other:ro", "--mount", "type=volume,dst=/m",
                     "busybox")
    assert code == 0
    [(_, _, config, host)] = fake.calls
    assert config["Volumes"] == {"/anon": {}}
    assert host["Binds"] == ["/tmp:/data"] and host["Tmpfs"] == {"/t": ""}
    assert host["VolumesFrom"] == ["other:ro"]
    assert host["Mounts"] == [{"Type": "volume", "Target": "/m"}]
    code, _, err = run(capsys, "run", "--mount", "type=bind,dst=/x,nope=1", "busybox")
    assert code == 125
    assert err == ('Error: invalid argument "type=bind,dst=/x,nope=1" for "--mount" flag: '
                   "unexpected key 'nope' in 'nope=1'\n")
    assert len(fake.calls) == 1


def test_cidfile(fake: FakeEngine, capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    cidfile = tmp_path / "cid"
    assert run(capsys, "create", "--cidfile", str(cidfile), "busybox")[0] == 0
    assert cidfile.read_text() == CID
    code, _, err = run(capsys, "create", "--cidfile", str(cidfile), "busybox")
    assert code == 125 and "container ID file found" in err
    assert [c[0] for c in fake.calls] == ["create"]  # the second was refused before creating


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from dockyard import __version__

    assert run(capsys, "--version")[:2] == (0, f"Dockyard version {__version__}\n")
    assert run(capsys, "-v")[:2] == (0, f"Dockyard version {__version__}\n")


def test_command_homes_register_their_commands() -> None:
    """The lazy root group finds each command in the module it names."""
    import importlib

    import click

    from dockyard.cli.main import COMMAND_HOMES, COMMAND_MODULES

    for name, modules in COMMAND_HOMES.items():
        group = click.Group("probe")
        for module in modules:
            importlib.import_module(module).register(group)
        assert name in group.commands, f"{modules} do not add {name!r}"
    everything = click.Group("probe")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(everything)
    assert set(COMMAND_HOMES) <= set(everything.commands)
    assert {"run", "ps", "stop", "container", "system", "build", "pull"} <= set(
        everything.commands)
    image = everything.commands["image"]
    assert isinstance(image, click.Group) and "build" in image.commands


def test_tty_needs_a_terminal(fake: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "-it", "busybox")  # pytest's stdin is no terminal
    assert (code, err) == (1, "the input device is not a TTY\n")
    assert fake.calls == []
    assert run(capsys, "run", "-d", "-it", "busybox")[0] == 0  # detached: no terminal needed
