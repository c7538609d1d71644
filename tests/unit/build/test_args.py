"""ARG and ENV scoping across stages, predefined args, and what each instruction expands."""

from __future__ import annotations

import pytest

from dockyard.build.args import (
    Platform,
    StageEnv,
    check_copy_from,
    default_args,
    expand_stage_base,
    global_args,
    proxy_env,
    unconsumed_build_args,
)
from dockyard.build.instructions import (
    AddInstruction,
    ArgInstruction,
    CmdInstruction,
    CopyInstruction,
    EnvInstruction,
    ExposeInstruction,
    Instruction,
    KeyValue,
    LabelInstruction,
    RunInstruction,
    SourceContent,
    Stage,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
    parse_stages,
)
from dockyard.build.parser import parse
from dockyard.errors import InvalidArgument

AMD64 = Platform("linux", "amd64")
ARM = Platform("linux", "arm", "v7")


def stages_of(text: str) -> tuple[list[Stage], list[ArgInstruction]]:
    return parse_stages(parse(text).ast)


def run_stage(stage: Stage, env: StageEnv) -> list[Instruction]:
    """Walk a stage the way the executor will: ARG/ENV change the env, the rest expand."""
    out: list[Instruction] = []
    for inst in stage.commands:
        if isinstance(inst, ArgInstruction):
            env.apply_arg(inst)
            out.append(inst)
        elif isinstance(inst, EnvInstruction):
            out.append(EnvInstruction(inst.name, inst.original, inst.start_line,
                                      inst.end_line, env.apply_env(inst)))
        else:
            out.append(env.expand_instruction(inst))
    return out


def test_platform_parse_and_format() -> None:
    assert Platform.parse("linux/arm/v7") == ARM
    assert Platform.parse("Linux/AMD64").format() == "linux/amd64"
    assert Platform.host().os == "linux"
    for bad in ["linux", "linux/", "a/b/c/d", ""]:
        with pytest.raises(InvalidArgument, match="platform"):
            Platform.parse(bad)


def test_default_args() -> None:
    args = default_args(AMD64, ARM, "", {"TARGETOS": "custom", "OTHER": "x"})
    assert args["BUILDPLATFORM"] == "linux/amd64" and args["BUILDARCH"] == "amd64"
    assert args["TARGETPLATFORM"] == "linux/arm/v7" and args["TARGETVARIANT"] == "v7"
    assert args["TARGETOS"] == "custom" and "OTHER" not in args
    assert args["TARGETSTAGE"] == "default"
    assert default_args(AMD64, AMD64, "final")["TARGETSTAGE"] == "final"


def test_proxy_env_any_case_both_spellings() -> None:
    env = proxy_env({"HTTP_PROXY": "http://p:3128", "no_proxy": "localhost", "X": "1"})
    assert env == {"HTTP_PROXY": "http://p:3128", "http_proxy": "http://p:3128",
                   "NO_PROXY": "localhost", "no_proxy": "localhost"}


def test_global_args_order_and_build_arg_override() -> None:
    _, meta = stages_of("ARG A=1\nARG B=${A}2\nARG C\nARG D=$TARGETARCH\nFROM x\n")
    env = global_args(meta, {"A": "9"}, default_args(AMD64, ARM))
    assert (env["A"], env["B"], env["D"]) == ("9", "92", "arm")
    assert "C" not in env


def test_from_sees_only_global_args() -> None:
    stages, meta = stages_of(
        "ARG TAG=1.36\nARG REG\nFROM --platform=$BUILDPLATFORM busybox:$TAG AS a\n"
        "FROM ${REG:-docker.io}/library/alpine\n")
    env = global_args(meta, {}, default_args(AMD64, ARM))
    assert expand_stage_base(stages[0], env) == ("busybox:1.36", "linux/amd64")
    assert expand_stage_base(stages[1], env) == ("docker.io/library/alpine", "")
    with pytest.raises(InvalidArgument, match="base name"):
        expand_stage_base(stages_of("FROM $NOPE\n")[0][0], {})
    with pytest.raises(InvalidArgument, match="empty platform value"):
        expand_stage_base(stages_of("FROM --platform=$NOPE a\n")[0][0], {})


def test_global_arg_needs_redeclaring_inside_stage() -> None:
    stages, meta = stages_of(
        "ARG V=1\nFROM x\nRUN echo $V\nWORKDIR /w$V\nARG V\nWORKDIR /w$V\n")
    genv = global_args(meta, {}, default_args(AMD64, ARM))
    out = run_stage(stages[0], StageEnv.from_image([], genv, {}))
    workdirs = [i.path for i in out if isinstance(i, WorkdirInstruction)]
    assert workdirs == ["/w", "/w1"]


def test_predefined_platform_args_inside_stage() -> None:
    stages, meta = stages_of("FROM x\nARG TARGETARCH\nARG BUILDOS\nUSER $TARGETARCH-$BUILDOS\n")
    genv = global_args(meta, {}, default_args(AMD64, ARM))
    out = run_stage(stages[0], StageEnv.from_image([], genv, {}))
    assert [i.user for i in out if isinstance(i, UserInstruction)] == ["arm-linux"]


def test_build_arg_beats_default_only_when_declared() -> None:
    stages, _ = stages_of("FROM x\nARG A=dflt\nARG B\nLABEL a=$A b=$B c=$C\n")
    env = StageEnv.from_image([], {}, {"A": "cli", "B": "cli-b", "C": "undeclared"})
    out = run_stage(stages[0], env)
    label = next(i for i in out if isinstance(i, LabelInstruction))
    assert label.labels == [KeyValue("a", "cli"), KeyValue("b", "cli-b"), KeyValue("c", "")]
    assert unconsumed_build_args(["A", "B", "C", "HTTP_PROXY"], env.declared) == ["C"]


def test_env_sees_previous_values_and_feeds_config() -> None:
    stages, _ = stages_of("FROM x\nENV a=1\nENV a=2 b=$a\nARG c=3\nENV d=$c\n")
    env = StageEnv.from_image(["PATH=/bin", "a=0"], {}, {})
    run_stage(stages[0], env)
    assert env.config_env == {"PATH": "/bin", "a": "2", "b": "1", "d": "3"}
    assert env.env["c"] == "3" and "c" not in env.config_env


def test_arg_default_expands_and_image_env_is_visible() -> None:
    stages, _ = stages_of("FROM x\nARG P=$PATH:/extra\nWORKDIR $P\n")
    out = run_stage(stages[0], StageEnv.from_image(["PATH=/bin"], {}, {}))
    assert [i.path for i in out if isinstance(i, WorkdirInstruction)] == ["/bin:/extra"]


def test_child_stage_inherits_variables() -> None:
    stages, _ = stages_of("FROM x AS base\nARG A=1\nENV B=2\nFROM base\nUSER $A$B\n")
    parent = StageEnv.from_image([], {}, {})
    run_stage(stages[0], parent)
    child = parent.child()
    out = run_stage(stages[1], child)
    assert [i.user for i in out if isinstance(i, UserInstruction)] == ["12"]
    child.env["Z"] = "only child"
    assert "Z" not in parent.env


def test_which_instructions_expand() -> None:
    text = ("FROM x\nARG D=/dst U=app P=8080 S=SIGTERM V=/data\n"
            "COPY --chown=$U --chmod=${M:-644} --from=stage src/$D $D/\n"
            "ADD --checksum=$C --chown=$U a $D\n"
            "RUN --mount=type=cache,target=$D echo $D\nCMD echo $D\n"
            "EXPOSE $P ${P}/udp\nSTOPSIGNAL $S\nVOLUME $V [\"x\"]\nVOLUME [\"$V\"]\n"
            "COPY <<EOF <<'RAW' $D\n$U \"q\"\nEOF\n$U\nRAW\n")
    stages, _ = stages_of(text)
    out = run_stage(stages[0], StageEnv.from_image([], {}, {}))
    copy, add, run, cmd, expose, sig, vol, vol2, heredoc = out[1:]
    assert isinstance(copy, CopyInstruction)
    assert (copy.chown, copy.chmod, copy.from_, copy.sources, copy.dest) == (
        "app", "644", "stage", ["src//dst"], "/dst/")
    assert isinstance(add, AddInstruction) and (add.chown, add.dest, add.checksum) == (
        "app", "/dst", "")
    assert isinstance(run, RunInstruction) and run.cmd_line == ["echo $D"]
    assert isinstance(cmd, CmdInstruction) and cmd.cmd_line == ["echo $D"]
    assert isinstance(expose, ExposeInstruction) and expose.ports == ["8080", "8080/udp"]
    assert isinstance(sig, StopSignalInstruction) and sig.signal == "SIGTERM"
    # the quotes go, as in docker
    assert isinstance(vol, VolumeInstruction) and vol.volumes == ["/data", "[x]"]
    assert isinstance(vol2, VolumeInstruction) and vol2.volumes == ["/data"]
    assert isinstance(heredoc, CopyInstruction)
    assert heredoc.contents == [SourceContent("EOF", 'app "q"\n', True),
                                SourceContent("RAW", "$U\n", False)]
    env = StageEnv.from_image([], {}, {})
    env.apply_arg(ArgInstruction("arg", "", 0, 0, [("D", "/c")]))
    assert isinstance(run, RunInstruction)
    assert [m.target for m in run.mounts(env.expand)] == ["/c"]


def test_run_env_adds_proxies_without_overriding() -> None:
    env = StageEnv.from_image(["http_proxy=mine"], {}, {"HTTP_PROXY": "cli", "Z": "1"})
    run_env = env.run_env()
    assert run_env["http_proxy"] == "mine" and run_env["HTTP_PROXY"] == "cli"
    assert "Z" not in run_env and "HTTP_PROXY" not in env.config_env


def test_copy_from_refuses_variables() -> None:
    assert check_copy_from("build") == "build"
    with pytest.raises(InvalidArgument, match="variable expansion is not supported for --from"):
        check_copy_from("$STAGE")


def test_expansion_errors_surface() -> None:
    env = StageEnv.from_image([], {}, {})
    with pytest.raises(InvalidArgument, match=r"REQ: is not allowed to be unset"):
        env.expand_instruction(WorkdirInstruction("workdir", "", 1, 1, "${REQ:?}"))


def test_one_stage_arg_line_is_expanded_against_what_came_before_it() -> None:
    # BuildKit expands a stage ARG instruction at once (docker 20.10 agrees: the
    # differential case json-fallback-and-args); global ARGs before FROM see earlier ones
    stages, meta = stages_of("ARG G=1 H=${G}2\nFROM x\nARG A=1 B=${A}2\nARG C=${A}3\n"
                             "ARG A=5 D=$A\nENV E=$A$B$C$D\n")
    genv = global_args(meta, {}, default_args(AMD64, ARM))
    assert (genv["G"], genv["H"]) == ("1", "12")
    env = StageEnv.from_image([], genv, {})
    out = run_stage(stages[0], env)
    envs = [i for i in out if isinstance(i, EnvInstruction)]
    assert [(kv.key, kv.value) for kv in envs[0].env] == [("E", "52131")]
