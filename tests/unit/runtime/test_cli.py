"""dockyard-runtime's argument parser accepts runc's command lines (as containerd sends)."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.cli.main import UsageError, parse_args
from dockyard.runtime.container_kill import parse_signal


def test_containerd_create_line() -> None:
    a = parse_args(["--root", "/run/containerd/runc/default", "--log", "/b/log.json",
                    "--log-format", "json", "create", "--bundle", "/b", "--pid-file",
                    "/b/init.pid", "--console-socket", "/tmp/pty.sock", "c1"])
    assert (a.root, a.log, a.log_format, a.verb) == ("/run/containerd/runc/default",
                                                     "/b/log.json", "json", "create")
    assert (a.bundle, a.pid_file, a.console_socket, a.id) == ("/b", "/b/init.pid",
                                                             "/tmp/pty.sock", "c1")


def test_equals_forms_and_short_flags() -> None:
    a = parse_args(["--root=/r", "run", "-b", "/b", "--detach", "x"])
    assert a.root == "/r" and a.bundle == "/b" and a.detach and a.id == "x"


def test_exec_keeps_the_command_flags() -> None:
    a = parse_args(["exec", "-t", "-e", "A=1", "-e", "B=2", "--cwd", "/tmp", "c1",
                    "ls", "-la", "--color"])
    assert a.tty and a.env == ["A=1", "B=2"] and a.cwd == "/tmp"
    assert a.id == "c1" and a.command == ["ls", "-la", "--color"]
    b = parse_args(["exec", "--process", "/p.json", "--detach", "--pid-file", "/p", "c1"])
    assert b.process == "/p.json" and b.detach and b.command == []


def test_kill_signal_and_all() -> None:
    a = parse_args(["kill", "--all", "c1", "KILL"])
    assert a.all and a.id == "c1" and a.signal == "KILL"
    assert parse_args(["kill", "c1"]).signal is None


@pytest.mark.parametrize("argv", [["nonsense"], ["start"], ["create", "--bogus", "x"],
                                  ["state", "a", "b"], ["--root"], ["create", "-b"]])
def test_usage_errors(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_args(argv)


@pytest.mark.parametrize(("word", "num"), [("9", 9), ("KILL", 9), ("SIGKILL", 9),
                                           ("sigterm", 15), ("HUP", 1), ("SIGRTMIN", 34)])
def test_signals(word: str, num: int) -> None:
    assert parse_signal(word) == num


@pytest.mark.parametrize("word", ["0", "65", "SIGNOPE", "SIG_DFL", "-1", "9x", ""])
def test_bad_signals(word: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_signal(word)


def test_features_lists_what_the_runtime_does() -> None:
    from dockyard.runtime.features import features

    f = features()
    assert f["ociVersionMax"] == "1.1.0"
    assert set(f["linux"]["namespaces"]) == {"pid", "network", "mount", "ipc", "uts",
                                             "user", "cgroup"}
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert {"rbind", "ro", "rprivate", "nosuid"} <= set(f["mountOptions"])
    assert f["hooks"][0] == "prestart"
