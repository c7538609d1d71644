"""Image config and history per instruction, as BuildKit writes them."""

from __future__ import annotations

import pytest

from dockyard.build.imageconfig import (
    ImageState,
    check_signal,
    go_duration,
    normalize_workdir,
    parse_ports,
    with_shell,
)
from dockyard.build.instructions import Instruction, KeyValue, parse_instruction
from dockyard.build.parser import parse
from dockyard.errors import InvalidArgument


def inst(text: str) -> Instruction:
    item = parse_instruction(parse(text).ast.children[0])
    assert isinstance(item, Instruction)
    return item


def applied(*lines: str, base: dict[str, object] | None = None) -> ImageState:
    state = ImageState.from_base(base or {"Env": ["PATH=/bin"], "Cmd": ["sh"]})
    for line in lines:
        state.apply(inst(line))
    return state


def test_cmd_shell_and_exec_forms() -> None:
    s = applied("CMD echo $HOME")
    assert s.config["Cmd"] == ["/bin/sh", "-c", "echo $HOME"] and s.config["ArgsEscaped"]
    assert s.history[-1] == {"created_by": 'CMD ["/bin/sh" "-c" "echo $HOME"]',
                             "comment": "buildkit.dockerfile.v0", "empty_layer": True}
    assert applied('CMD ["a", "b"]').config["Cmd"] == ["a", "b"]
    assert applied('SHELL ["/bin/bash", "-o", "x", "-c"]', "CMD a").config["Cmd"] == [
        "/bin/bash", "-o", "x", "-c", "a"]


def test_entrypoint_resets_inherited_cmd_unless_set_here() -> None:
    s = applied('ENTRYPOINT ["/init"]')
    assert s.config["Entrypoint"] == ["/init"] and s.config["Cmd"] is None
    s = applied("CMD x", 'ENTRYPOINT ["/init"]')
    assert s.config["Cmd"] == ["/bin/sh", "-c", "x"]
    assert applied("ENTRYPOINT []").config["Entrypoint"] is None


def test_env_label_user_volume_stopsignal_maintainer() -> None:
    s = ImageState.from_base({"Env": ["PATH=/bin", "A=0"]})
    s.set_env([KeyValue("A", "1"), KeyValue("B", "2")])
    assert s.config["Env"] == ["PATH=/bin", "A=1", "B=2"]
    assert s.history[-1]["created_by"] == "ENV A=1 B=2"
    s.apply(inst('LABEL a=1 "b c"=2'))
    assert s.config["Labels"] == {"a": "1", '"b c"': "2"}
    s.apply(inst("USER app:app"))
    s.apply(inst("VOLUME /a /b"))
    s.apply(inst("STOPSIGNAL SIGQUIT"))
    s.apply(inst("MAINTAINER me"))
    assert (s.config["User"], s.config["Volumes"], s.config["StopSignal"], s.author) == (
        "app:app", {"/a": {}, "/b": {}}, "SIGQUIT", "me")
    assert [h["created_by"] for h in s.history[-4:]] == [
        "USER app:app", "VOLUME [/a /b]", "STOPSIGNAL SIGQUIT", "MAINTAINER me"]


def test_expose_ports() -> None:
    s = applied("EXPOSE 80 53/UDP 8000-8002/tcp 127.0.0.1:9000:90")
    assert s.config["ExposedPorts"] == {p: {} for p in [
        "80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "90/tcp"]}
    assert parse_ports(["7-7"]) == ["7/tcp"]


@pytest.mark.parametrize(("port", "message"), [
    ("abc", "invalid containerPort: abc"), ("70000", "invalid containerPort"),
    ("80/icmp", "invalid proto: icmp"), ("/tcp", "no port specified"),
    ("9-3", "invalid containerPort: 9-3"),
])
def test_bad_ports(port: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_ports([port])


def test_workdir_normalisation() -> None:
    assert normalize_workdir("", "a") == "/a"
    assert normalize_workdir("/a", "b/../c") == "/a/c"
    assert normalize_workdir("/a", "/x/../y") == "/x/../y"   # absolute paths are kept as given
    assert normalize_workdir("/a", "") == "/a"
    assert applied("WORKDIR /app", "WORKDIR src").config["WorkingDir"] == "/app/src"


def test_healthcheck_config_and_history() -> None:
    s = applied("HEALTHCHECK --interval=1m30s --retries=2 CMD curl -f http://x/")
    assert s.config["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f http://x/"],
                                       "Interval": 90_000_000_000, "Timeout": 0,
                                       "StartPeriod": 0, "StartInterval": 0, "Retries": 2}
    assert s.history[-1]["created_by"] == (
        "HEALTHCHECK {Test:[CMD-SHELL curl -f http://x/] Interval:1m30s Timeout:0s "
        "StartPeriod:0s StartInterval:0s Retries:2}")
    assert applied("HEALTHCHECK NONE").config["Healthcheck"]["Test"] == ["NONE"]


def test_onbuild_is_kept_and_consumed_by_children() -> None:
    s = applied("ONBUILD RUN echo hi", "ONBUILD COPY . /src")
    assert s.config["OnBuild"] == ["RUN echo hi", "COPY . /src"]
    assert "OnBuild" not in ImageState.from_base(s.config).config


def test_layers_are_marked_in_history() -> None:
    s = ImageState()
    s.add_history("RUN /bin/sh -c true", layer=True)
    assert s.history == [{"created_by": "RUN /bin/sh -c true # buildkit",
                          "comment": "buildkit.dockerfile.v0"}]


def test_config_only_instructions() -> None:
    with pytest.raises(InvalidArgument, match="run: not a config instruction"):
        ImageState().apply(inst("RUN x"))


@pytest.mark.parametrize("sig", ["SIGKILL", "kill", "9", "SIGRTMIN+3", "RTMAX-1", "-2"])
def test_signals_accepted(sig: str) -> None:
    check_signal(sig)


@pytest.mark.parametrize("sig", ["SIGNOPE", "0", "_DFL", "RTMIN+99"])
def test_signals_refused(sig: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_signal(sig)
    assert str(info.value) == f"Invalid signal: {sig}"


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (300_000_000, "300ms"), (10**9, "1s"),
    (1_500_000_000, "1.5s"), (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"),
    (3661 * 10**9 + 5 * 10**8, "1h1m1.5s"), (-(10**9), "-1s"),
])
def test_go_duration(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_with_shell() -> None:
    assert with_shell({}, ["a", "b"]) == ["/bin/sh", "-c", "a b"]
