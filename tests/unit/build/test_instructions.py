"""Typed instructions: every instruction's arguments and flags, good and bad."""

from __future__ import annotations

import pytest

from dockyard.build.instructions import (
    AddInstruction,
    ArgInstruction,
    CmdInstruction,
    CopyInstruction,
    EntrypointInstruction,
    EnvInstruction,
    ExposeInstruction,
    HealthcheckInstruction,
    Instruction,
    KeyValue,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    RunInstruction,
    ShellInstruction,
    SourceContent,
    Stage,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
    parse_instruction,
    parse_stages,
)
from dockyard.build.parser import DockerfileSyntaxError, parse


def one(text: str) -> Instruction | Stage:
    return parse_instruction(parse(text).ast.children[0])


def fails(text: str) -> str:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse_stages(parse(text).ast, filename="ctx/Dockerfile")
    return str(info.value)


# --- hostile input first: each names file, line and what was wrong -------------------

@pytest.mark.parametrize(("text", "message"), [
    ("FROM a\nFOO bar\n", "ctx/Dockerfile:2: dockerfile parse error on line 2: "
                          "unknown instruction: FOO"),
    ("FROM a\nCOPPY a b\n", "unknown instruction: COPPY (did you mean COPY?)"),
    ("FROM a\nrun2 x\n", "unknown instruction: run2 (did you mean run?)"),
    ("FROM a\nCOPY a\n", "COPY requires at least two arguments"),
    ("FROM a\nADD a\n", "ADD requires at least two arguments"),
    ("FROM a\nCOPY --form=x a b\n", "unknown flag: --form (did you mean from?)"),
    ("FROM a\nCOPY --from a b\n", "missing a value on flag: --from"),
    ("FROM a\nCOPY --from=a --from=b a b\n", "duplicate flag specified: --from"),
    ("FROM a\nCOPY --link=maybe a b\n", "expecting boolean value for flag --link, not: maybe"),
    ("FROM a\nCOPY --link= a b\n", "missing a value on flag: --link"),
    ("FROM a\nCOPY a <<EOF\nx\nEOF\n", "COPY cannot accept a heredoc as a destination"),
    ("FROM a b\n", "FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", 'invalid name for build stage: "1x"'),
    ("FROM a AS a$b\n", "name can't start with a number or contain symbols"),
    ("FROM --plat=x a\n", "unknown flag: --plat"),
    ("FROM a\nENV\n", "ENV requires at least one argument"),
    ("FROM a\nENV =x\n", "ENV names can not be blank"),
    ("FROM a\nLABEL =x\n", "LABEL names can not be blank"),
    ("FROM a\nWORKDIR\n", "WORKDIR requires exactly one argument"),
    ("FROM a\nUSER\n", "USER requires exactly one argument"),
    ("FROM a\nMAINTAINER\n", "MAINTAINER requires exactly one argument"),
    ("FROM a\nSTOPSIGNAL\n", "STOPSIGNAL requires exactly one argument"),
    ("FROM a\nEXPOSE\n", "EXPOSE requires at least one argument"),
    ("FROM a\nVOLUME\n", "VOLUME requires at least one argument"),
    ('FROM a\nVOLUME [" "]\n', "VOLUME specified can not be an empty string"),
    ("FROM a\nARG\n", "ARG requires at least one argument"),
    ("FROM a\nARG =v\n", "ARG names can not be blank"),
    ("FROM a\nSHELL\n", "SHELL requires at least one argument"),
    ("FROM a\nSHELL []\n", "SHELL requires at least one argument"),
    ("FROM a\nSHELL bash -c\n", "SHELL requires the arguments to be in JSON form"),
    ("FROM a\nONBUILD\n", "ONBUILD requires at least one argument"),
    ("FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM a\nONBUILD FROM x\n", "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD maintainer x\n", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM a\nHEALTHCHECK\n", "HEALTHCHECK requires at least one argument"),
    ("FROM a\nHEALTHCHECK NONE x\n", "HEALTHCHECK NONE takes no arguments"),
    ("FROM a\nHEALTHCHECK CONNECT x\n", 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)'),
    ("FROM a\nHEALTHCHECK CMD\n", "Missing command after HEALTHCHECK CMD"),
    ("FROM a\nHEALTHCHECK --interval=1us CMD x\n", 'Interval "interval" cannot be less than 1ms'),
    ("FROM a\nHEALTHCHECK --timeout=5 CMD x\n", "time: missing unit in duration \"5\""),
    ("FROM a\nHEALTHCHECK --timeout=5y CMD x\n", 'unknown unit "y"'),
    ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", "--retries cannot be negative (-1)"),
    ("FROM a\nHEALTHCHECK --retries=x CMD x\n", "invalid syntax"),
    ("FROM a\nHEALTHCHECK --retries=9999999999 CMD x\n", "value out of range"),
    ("FROM a\nRUN --network=bridge x\n", 'invalid network mode "bridge"'),
    ("FROM a\nRUN --security=root x\n", 'security "root" is not valid'),
    ("FROM a\nRUN --mount=type=bind,from=$X x\n", "'from' doesn't support variable expansion"),
    ('FROM a\nRUN --mount=type=\\"bind x\n', "failed to parse csv mounts"),
    ("FROM a\nRUN --mounts=x x\n", "unknown flag: --mounts (did you mean mount?)"),
    ("RUN x\n", "ctx/Dockerfile:1: no build stage in current context"),
])
def test_bad_instructions_are_refused_naming_the_problem(text: str, message: str) -> None:
    got = fails(text)
    assert message in got
    assert got.startswith("ctx/Dockerfile:")
    assert "\n" not in got


def test_error_carries_buildkit_lines() -> None:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse_stages(parse("FROM a\nCOPY \\\n  a\n").ast)
    assert (info.value.start_line, info.value.end_line) == (2, 3)
    excerpt = info.value.excerpt("FROM a\nCOPY \\\n  a\n")
    assert excerpt.splitlines()[0] == "Dockerfile:2-3"
    assert ">>> COPY \\" in excerpt


# --- each instruction --------------------------------------------------------------------

def test_from_stage() -> None:
    stage = one("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build")
    assert isinstance(stage, Stage)
    assert (stage.base_name, stage.name, stage.platform) == (
        "golang:1.22", "build", "$BUILDPLATFORM")
    stage = one("from busybox as a.b-c_d")
    assert isinstance(stage, Stage) and stage.name == "a.b-c_d"


def test_stages_and_meta_args() -> None:
    text = "ARG V=1\nARG W\nFROM a:$V AS one\nRUN x\nFROM one\nARG V\nCOPY --from=one /a /b\n"
    stages, meta = parse_stages(parse(text).ast)
    assert [a.args for a in meta] == [[("V", "1")], [("W", None)]]
    assert [s.name for s in stages] == ["one", ""]
    assert [c.name for c in stages[1].commands] == ["arg", "copy"]


def test_env_and_label_forms() -> None:
    env = one('ENV a=1 b="2 3" c=')
    assert isinstance(env, EnvInstruction)
    assert env.env == [KeyValue("a", "1"), KeyValue("b", '"2 3"'), KeyValue("c", "")]
    old = one("ENV PATH /a b")
    assert isinstance(old, EnvInstruction) and old.env == [KeyValue("PATH", "/a b", True)]
    label = one('LABEL "com.x"="y" z=w')
    assert isinstance(label, LabelInstruction)
    assert [(kv.key, kv.value) for kv in label.labels] == [('"com.x"', '"y"'), ("z", "w")]


def test_copy_flags_and_heredoc_sources() -> None:
    text = ("COPY --from=build --chown=app:app --chmod=0755 --link --parents "
            "--exclude=*.md --exclude=x <<EOF a b /dst/\nhello\nEOF\n")
    copy = one(text)
    assert isinstance(copy, CopyInstruction)
    assert (copy.from_, copy.chown, copy.chmod) == ("build", "app:app", "0755")
    assert copy.link and copy.parents and copy.excludes == ["*.md", "x"]
    assert copy.sources == ["a", "b"] and copy.dest == "/dst/"
    assert copy.contents == [SourceContent("EOF", "hello\n", True)]


def test_copy_chomped_and_quoted_heredoc() -> None:
    copy = one("COPY <<-'EOF' /x\n\tkeep $HOME\n\tEOF\n")
    assert isinstance(copy, CopyInstruction)
    assert copy.contents == [SourceContent("EOF", "keep $HOME\n", False)]


def test_copy_json_form() -> None:
    copy = one('COPY ["a b", "/c d/"]')
    assert isinstance(copy, CopyInstruction)
    assert copy.sources == ["a b"] and copy.dest == "/c d/"


def test_add_flags() -> None:
    add = one("ADD --checksum=sha256:abc --keep-git-dir=false --unpack --chown=1 "
              "--link=false https://x/y.tgz /z")
    assert isinstance(add, AddInstruction)
    assert add.checksum == "sha256:abc" and add.keep_git_dir is False and add.unpack is True
    assert add.link is False and add.chown == "1" and add.sources == ["https://x/y.tgz"]
    plain = one("ADD a b")
    assert isinstance(plain, AddInstruction)
    assert plain.keep_git_dir is None and plain.unpack is None


def test_run_shell_json_mounts_network() -> None:
    run = one("RUN --mount=type=cache,target=/root/.cache,sharing=locked "
              "--mount=type=secret,id=tok --network=none --security=insecure make all")
    assert isinstance(run, RunInstruction)
    assert run.cmd_line == ["make all"] and run.prepend_shell
    assert run.network == "none" and run.security == "insecure"
    assert sorted(run.flags_used) == ["mount", "network", "security"]
    cache, secret = run.mounts(lambda w: w)
    assert (cache.type, cache.target, cache.cache_sharing, cache.read_only) == (
        "cache", "/root/.cache", "locked", False)
    assert (secret.type, secret.cache_id, secret.read_only) == ("secret", "tok", True)
    exec_form = one('RUN ["echo", "hi"]')
    assert isinstance(exec_form, RunInstruction)
    assert exec_form.cmd_line == ["echo", "hi"] and not exec_form.prepend_shell


def test_run_heredoc_files() -> None:
    run = one("RUN <<EOF bash\necho a\nEOF\n")
    assert isinstance(run, RunInstruction)
    assert run.cmd_line == ["<<EOF bash"]
    assert [(f.name, f.data, f.chomp) for f in run.files] == [("EOF", "echo a\n", False)]


def test_cmd_and_entrypoint() -> None:
    cmd = one("CMD echo $HOME")
    assert isinstance(cmd, CmdInstruction) and cmd.cmd_line == ["echo $HOME"]
    empty = one("ENTRYPOINT []")
    assert isinstance(empty, EntrypointInstruction) and empty.cmd_line is None
    empty_cmd = one("CMD []")
    assert isinstance(empty_cmd, CmdInstruction) and empty_cmd.cmd_line == []


def test_healthcheck() -> None:
    hc = one("HEALTHCHECK --interval=1m30s --timeout=1.5s --start-period=0s "
             "--start-interval=2ms --retries=3 CMD curl -f http://x/")
    assert isinstance(hc, HealthcheckInstruction)
    assert hc.test == ["CMD-SHELL", "curl -f http://x/"]
    assert (hc.interval, hc.timeout, hc.start_period, hc.start_interval, hc.retries) == (
        90_000_000_000, 1_500_000_000, 0, 2_000_000, 3)
    exec_hc = one('HEALTHCHECK cmd ["a", "b"]')
    assert isinstance(exec_hc, HealthcheckInstruction) and exec_hc.test == ["CMD", "a", "b"]
    none = one("HEALTHCHECK none")
    assert isinstance(none, HealthcheckInstruction) and none.test == ["NONE"]


def test_simple_instructions() -> None:
    expose = one("EXPOSE 8080/tcp 80 443/udp")
    assert isinstance(expose, ExposeInstruction) and expose.ports == ["443/udp", "80", "8080/tcp"]
    user = one("USER app:app")
    assert isinstance(user, UserInstruction) and user.user == "app:app"
    workdir = one("WORKDIR /a b")
    assert isinstance(workdir, WorkdirInstruction) and workdir.path == "/a b"
    vol = one('VOLUME ["/a", "/b"]')
    assert isinstance(vol, VolumeInstruction) and vol.volumes == ["/a", "/b"]
    vol2 = one("VOLUME /a /b")
    assert isinstance(vol2, VolumeInstruction) and vol2.volumes == ["/a", "/b"]
    sig = one("STOPSIGNAL SIGKILL")
    assert isinstance(sig, StopSignalInstruction) and sig.signal == "SIGKILL"
    maint = one("MAINTAINER Jane <j@x>")
    assert isinstance(maint, MaintainerInstruction) and maint.maintainer == "Jane <j@x>"
    shell = one('SHELL ["/bin/bash", "-c"]')
    assert isinstance(shell, ShellInstruction) and shell.shell == ["/bin/bash", "-c"]
    arg = one('ARG a b=2 c="x y" d=')
    assert isinstance(arg, ArgInstruction)
    assert arg.args == [("a", None), ("b", "2"), ("c", '"x y"'), ("d", "")]


def test_onbuild_expression() -> None:
    ob = one("ONBUILD RUN echo hi")
    assert isinstance(ob, OnbuildInstruction) and ob.expression == "RUN echo hi"
    ob2 = one("onbuild  COPY <<EOF /x\nbody\nEOF\n")
    assert isinstance(ob2, OnbuildInstruction)
    assert ob2.expression == "COPY <<EOF /x\nbody\nEOF"
    # the trigger parses again as an instruction of its own
    again = parse(ob2.expression).ast.children[0]
    assert again.value == "COPY" and again.heredocs[0].content == "body\n"
