"""The build driver against a recording executor: stages, cache reuse, failures."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dockyard.build.args import Platform
from dockyard.build.builder import Builder, BuildOptions, StepFailed, copy_dest, run_args
from dockyard.build.dockerignore import PatternMatcher, read_ignore_file
from dockyard.build.executor import BaseImage, CopyRequest, RunFailed, RunRequest
from dockyard.build.instructions import RunInstruction, parse_instruction
from dockyard.build.parser import parse

AMD64 = Platform("linux", "amd64")


class FakeExecutor:
    """Snapshots are names; the cache is a dict that survives between builds."""

    def __init__(self, images: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.images = dict(images or {})
        self.cache: dict[str, str] = {}
        self.resolved: list[str] = []
        self.requests: list[RunRequest | CopyRequest] = []
        self.commits: list[tuple[str | None, dict[str, Any], list[Any], tuple[str, ...]]] = []
        self.fail_on: str | None = None

    def runs(self) -> list[RunRequest]:
        return [r for r in self.requests if isinstance(r, RunRequest)]

    def copies(self) -> list[CopyRequest]:
        return [r for r in self.requests if isinstance(r, CopyRequest)]

    def resolve_image(self, ref: str, platform: str) -> BaseImage:
        self.resolved.append(ref)
        config = self.images.get(ref, {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["sh"]})
        return BaseImage("sha256:" + ref, None if ref == "scratch" else "snap:" + ref, config)

    def cached(self, cache_key: str) -> str | None:
        return self.cache.get(cache_key)

    def run(self, request: RunRequest) -> str:
        self.requests.append(request)
        if self.fail_on and self.fail_on in request.args[-1]:
            raise RunFailed(3, ["last line"])
        self.cache[request.cache_key] = "snap:" + request.cache_key[7:19]
        return self.cache[request.cache_key]

    def copy(self, request: CopyRequest) -> str:
        self.requests.append(request)
        self.cache[request.cache_key] = "snap:" + request.cache_key[7:19]
        return self.cache[request.cache_key]

    def commit(self, snapshot: str | None, config: Mapping[str, Any],
               history: Sequence[Mapping[str, Any]], tags: Sequence[str]) -> str:
        self.commits.append((snapshot, dict(config), list(history), tuple(tags)))
        blob = json.dumps([snapshot, config, history], sort_keys=True)
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


MULTI = """\
# syntax=docker/dockerfile:1
ARG VERSION=1.0
FROM busybox AS deps
ARG VERSION
RUN echo deps $VERSION > /deps
FROM alpine AS tools
RUN echo tools
FROM debian AS unused
RUN echo never
FROM busybox
WORKDIR /app
COPY --from=deps /deps ./deps
COPY --from=tools /bin/x /bin/
COPY src/ ./src/
ENV MODE=prod
LABEL version=$VERSION
CMD ["./run"]
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('hi')\n")
    (tmp_path / "src" / "debug.log").write_text("noise\n")
    return tmp_path


def build(ex: FakeExecutor, text: str, ctx: Path | None = None, **kw: Any) -> Any:
    opts = BuildOptions(dockerfile=text, context=ctx, platform=AMD64, tags=["app:1"], **kw)
    return Builder(ex).build(opts)


def test_multi_stage_build(context: Path) -> None:
    ex = FakeExecutor()
    result = build(ex, MULTI, context)
    assert "debian" not in ex.resolved                    # the unused stage is skipped
    assert sorted(ex.resolved) == ["alpine", "busybox", "busybox"]
    runs = [r for r in ex.requests if isinstance(r, RunRequest)]
    assert sorted(r.args[-1] for r in runs) == ["echo deps $VERSION > /deps", "echo tools"]
    deps_run = next(r for r in runs if "deps" in r.args[-1])
    assert deps_run.env["VERSION"] == "1.0" and deps_run.args[:2] == ["/bin/sh", "-c"]
    copies = [r for r in ex.requests if isinstance(r, CopyRequest)]
    workdir, from_deps, from_tools, local = copies
    assert workdir.dest == "/app" and not workdir.sources
    assert from_deps.dest == "/app/deps" and from_deps.sources[0].snapshot is not None
    assert from_tools.dest == "/bin/"
    assert local.dest == "/app/src/" and local.sources[0].root == context
    snapshot, config, history, tags = ex.commits[0]
    assert tags == ("app:1",) and snapshot == ex.cache[local.cache_key]
    assert config["WorkingDir"] == "/app" and config["Cmd"] == ["./run"]
    assert config["Env"] == ["PATH=/usr/bin:/bin", "MODE=prod"]
    assert config["Labels"] == {"version": ""}       # the global ARG is not redeclared here
    assert history[-1]["created_by"] == 'CMD ["./run"]'
    assert result.image_id.startswith("sha256:")
    assert [e.stage for e in result.events].count("stage-3") == 7


def test_unchanged_rebuild_is_fully_cached_with_the_same_image(context: Path) -> None:
    ex = FakeExecutor()
    first = build(ex, MULTI, context)
    ex.requests.clear()
    second = build(ex, MULTI, context)
    assert ex.requests == []
    assert second.image_id == first.image_id
    layered = [e for e in second.events if e.text.split()[0] in ("RUN", "COPY", "WORKDIR")]
    assert layered and all(e.cached for e in layered)


def test_mtime_change_keeps_cache_and_byte_change_reruns_from_there(context: Path) -> None:
    ex = FakeExecutor()
    first = build(ex, MULTI, context)
    os.utime(context / "src" / "main.py", (5, 5))
    ex.requests.clear()
    assert build(ex, MULTI, context).image_id == first.image_id and ex.requests == []
    (context / "src" / "main.py").write_text("print('hI')\n")
    third = build(ex, MULTI, context)
    assert ex.runs() == [] and [r.dest for r in ex.copies()] == ["/app/src/"]  # only it
    assert third.image_id != first.image_id


def test_dockerignored_change_keeps_cache(context: Path) -> None:
    ignore = PatternMatcher(read_ignore_file("**/*.log\n"))
    ex = FakeExecutor()
    first = build(ex, MULTI, context, ignore=ignore)
    (context / "src" / "debug.log").write_text("more noise\n")
    ex.requests.clear()
    assert build(ex, MULTI, context, ignore=ignore).image_id == first.image_id
    assert ex.requests == []


def test_build_arg_change_reruns_only_after_its_declaration(context: Path) -> None:
    text = "FROM busybox\nRUN echo before\nARG MODE=dev\nRUN echo $MODE\nRUN echo after\n"
    ex = FakeExecutor()
    build(ex, text, context)
    ex.requests.clear()
    build(ex, text, context, build_args={"MODE": "prod"})
    assert [r.args[-1] for r in ex.runs()] == ["echo $MODE", "echo after"]
    assert ex.runs()[0].env["MODE"] == "prod"


def test_no_cache_runs_everything(context: Path) -> None:
    ex = FakeExecutor()
    build(ex, "FROM busybox\nRUN a\nRUN b\n", context)
    ex.requests.clear()
    build(ex, "FROM busybox\nRUN a\nRUN b\n", context, no_cache=True)
    assert len(ex.requests) == 2


def test_failing_run_stops_without_commit(context: Path) -> None:
    ex = FakeExecutor()
    ex.fail_on = "boom"
    with pytest.raises(StepFailed) as info:
        build(ex, "FROM busybox\nRUN ok\nRUN boom\nRUN later\n", context)
    err = info.value
    assert (err.line, err.exit_code, err.last_lines) == (3, 3, ["last line"])
    assert "did not complete successfully: exit code: 3" in str(err)
    assert ex.commits == [] and [r.args[-1] for r in ex.runs()] == ["ok", "boom"]


def test_missing_source_and_unknown_target_fail_before_commit(context: Path) -> None:
    ex = FakeExecutor()
    with pytest.raises(Exception, match="nope: not found in build context"):
        build(ex, "FROM busybox\nCOPY nope /x\n", context)
    with pytest.raises(Exception, match='target stage "x" could not be found'):
        build(ex, "FROM busybox AS a\n", context, target="x")
    assert ex.commits == []


def test_onbuild_triggers_run_in_child(context: Path) -> None:
    ex = FakeExecutor({"parent": {"Env": [], "OnBuild": ["RUN echo triggered", "ENV T=1"]}})
    result = build(ex, "FROM parent\nRUN echo own\n", context)
    assert [r.args[-1] for r in ex.runs()] == ["echo triggered", "echo own"]
    assert result.config["Env"] == ["T=1"] and "OnBuild" not in result.config


def test_labels_target_and_unconsumed_args(context: Path) -> None:
    ex = FakeExecutor()
    result = build(ex, "FROM busybox AS a\nRUN a\nFROM busybox AS b\nRUN b\n", context,
                   target="a", labels={"x": "y"}, build_args={"NOPE": "1"})
    assert [r.args[-1] for r in ex.runs()] == ["a"]
    assert result.config["Labels"] == {"x": "y"}
    assert result.warnings == ["one or more build-args ['NOPE'] were not consumed"]


def test_run_history_lists_build_args(context: Path) -> None:
    ex = FakeExecutor()
    result = build(ex, "FROM busybox\nARG A=1 B\nRUN echo hi\n", context)
    assert result.history[-1]["created_by"] == "RUN |2 A=1 B= /bin/sh -c echo hi # buildkit"


def test_run_mount_from_stage_and_secrets(context: Path, tmp_path: Path) -> None:
    ex = FakeExecutor()
    secret = tmp_path / "tok"
    secret.write_text("s3cret")
    text = ("FROM busybox AS src\nRUN make\nFROM busybox\n"
            "RUN --mount=type=bind,from=src,target=/s --mount=type=secret,id=tok cat\n")
    build(ex, text, context, secrets={"tok": secret})
    run = [r for r in ex.requests if isinstance(r, RunRequest)][-1]
    assert run.from_snapshots["src"] is not None and run.secrets == {"tok": secret}
    assert all("s3cret" not in json.dumps(r.env) for r in ex.requests if isinstance(r, RunRequest))


def run_inst(text: str) -> RunInstruction:
    item = parse_instruction(parse("RUN " + text).ast.children[0])
    assert isinstance(item, RunInstruction)
    return item


def test_run_args_heredoc_forms() -> None:
    assert run_args(run_inst("<<EOF\necho a\necho b\nEOF\n"), {}) == (
        ["/bin/sh", "-c", "echo a\necho b\n"], {})
    assert run_args(run_inst("<<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"), {}) == (
        ["/bin/sh", "-c", "/dev/pipes/EOF"], {"EOF": "#!/usr/bin/env python3\nprint(1)\n"})
    assert run_args(run_inst("cat <<EOF > /x\nhi\nEOF\n"), {}) == (
        ["/bin/sh", "-c", "cat <<EOF > /x\nhi\nEOF"], {})
    assert run_args(run_inst('["echo", "a"]'), {"Shell": ["bash", "-c"]}) == (["echo", "a"], {})
    assert run_args(run_inst("<<-EOF\n\techo a\n\tEOF\n"), {})[0][-1] == "echo a\n"


@pytest.mark.parametrize(("workdir", "dest", "want"), [
    ("/app", "x", "/app/x"), ("/app", "x/", "/app/x/"), ("/app", ".", "/app"),
    ("/app", "./", "/app/"), ("/app", "./.", "/app/."), ("/", ".", "/"), ("/", "./.", "/."),
    ("/app", "/abs/../p", "/abs/../p"), ("/app", "../up", "/up"), ("/a", "b/../c/", "/a/c/"),
])
def test_copy_dest(workdir: str, dest: str, want: str) -> None:
    assert copy_dest(workdir, dest) == want
