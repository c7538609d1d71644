"""Cache keys: what invalidates a step, what must not, and hostile source paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.build.args import StageEnv
from dockyard.build.cache import (
    base_key,
    content_digest,
    resolve_sources,
    stage_keys,
    step_key,
)
from dockyard.build.dockerignore import PatternMatcher, read_ignore_file
from dockyard.build.instructions import Stage, WorkdirInstruction, parse_stages
from dockyard.build.parser import parse
from dockyard.errors import Forbidden, NotFound

DOCKERFILE = """\
FROM busybox
RUN echo one
COPY a.txt /a.txt
ARG MODE=dev
RUN echo $MODE
COPY dir/ /dir/
ENV X=1
RUN echo two
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "b.txt").write_text("beta\n")
    (tmp_path / "dir" / "sub" / "c.txt").write_text("gamma\n")
    (tmp_path / "dir" / "link").symlink_to("b.txt")
    (tmp_path / "dir" / "skip.log").write_text("noise\n")
    return tmp_path


def stage(text: str = DOCKERFILE) -> Stage:
    return parse_stages(parse(text).ast)[0][0]


def keys(ctx: Path, build_args: dict[str, str] | None = None, text: str = DOCKERFILE,
         ignore: str = "") -> list[str]:
    env = StageEnv.from_image(["PATH=/bin"], {}, build_args or {})
    matcher = PatternMatcher(read_ignore_file(ignore)) if ignore else None
    return stage_keys(stage(text), env, base_key("sha256:busybox", "linux/amd64"), ctx, matcher)


def changed(a: list[str], b: list[str]) -> list[int]:
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def test_unchanged_rebuild_gives_the_same_keys(context: Path) -> None:
    assert keys(context) == keys(context)
    assert len(set(keys(context))) == 7


def test_mtime_and_owner_changes_keep_the_cache(context: Path) -> None:
    before = keys(context)
    for path in [context / "a.txt", context / "dir" / "sub" / "c.txt"]:
        os.utime(path, (1, 1))
    os.utime(context / "dir" / "link", (2, 2), follow_symlinks=False)
    os.chown(context / "a.txt", 1234, 1234)
    assert keys(context) == before


def test_one_byte_invalidates_that_step_and_later(context: Path) -> None:
    before = keys(context)
    (context / "dir" / "sub" / "c.txt").write_text("gammA\n")
    assert changed(before, keys(context)) == [4, 5, 6]
    (context / "a.txt").write_text("alphA\n")
    assert changed(before, keys(context)) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("change", ["chmod", "rename", "relink", "add", "remove"])
def test_tree_changes_invalidate(context: Path, change: str) -> None:
    before = keys(context)
    d = context / "dir"
    if change == "chmod":
        (d / "b.txt").chmod(0o600)
    elif change == "rename":
        (d / "b.txt").rename(d / "B.txt")
        (d / "link").unlink()
        (d / "link").symlink_to("B.txt")
    elif change == "relink":
        (d / "link").unlink()
        (d / "link").symlink_to("sub/c.txt")
    elif change == "add":
        (d / "new").write_text("")
    else:
        (d / "sub" / "c.txt").unlink()
    assert changed(before, keys(context)) == [4, 5, 6]


def test_build_arg_invalidates_from_its_declaration(context: Path) -> None:
    before = keys(context)
    assert changed(before, keys(context, {"MODE": "prod"})) == [2, 3, 4, 5, 6]
    assert keys(context, {"MODE": "dev"}) == before        # same value, same keys
    assert keys(context, {"UNUSED": "x"}) == before        # undeclared args change nothing


def test_dockerignored_files_do_not_count(context: Path) -> None:
    before = keys(context, ignore="**/*.log\n")
    (context / "dir" / "skip.log").write_text("other noise\n")
    assert keys(context, ignore="**/*.log\n") == before
    assert keys(context) != before


def test_text_layout_and_lines_do_not_matter(context: Path) -> None:
    spaced = DOCKERFILE.replace("RUN echo one", "# comment\nRUN echo one").replace(
        "COPY a.txt /a.txt", "COPY \\\n  a.txt /a.txt")
    assert keys(context, text=spaced) == keys(context)


def test_expanded_values_matter_not_their_spelling(context: Path) -> None:
    a = keys(context, text="FROM x\nARG D=/a\nWORKDIR $D\n")
    b = keys(context, text="FROM x\nARG D=/a\nWORKDIR ${D}\n")
    assert a == b
    c = keys(context, text="FROM x\nARG D=/b\nWORKDIR ${D}\n")
    assert changed(a, c) == [0, 1]


def test_secret_values_are_not_in_keys(context: Path) -> None:
    text = "FROM x\nRUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
    assert keys(context, text=text) == keys(context, text=text)
    assert keys(context, text=text) != keys(context, text=text.replace("tok", "other"))


def test_copy_from_stage_uses_that_stage_key(context: Path) -> None:
    text = "FROM x\nCOPY --from=build /out /out\n"
    env = StageEnv.from_image([], {}, {})
    k1 = stage_keys(stage(text), env, "p", context, stage_results={"build": "k1"})
    k2 = stage_keys(stage(text), env.child(), "p", context, stage_results={"build": "k2"})
    k3 = stage_keys(stage(text), env.child(), "p", context)
    assert len({k1[0], k2[0], k3[0]}) == 3


def test_step_key_ignores_original_text() -> None:
    a = WorkdirInstruction("workdir", "WORKDIR /a", 1, 1, "/a")
    b = WorkdirInstruction("workdir", "workdir   /a", 9, 10, "/a")
    assert step_key("p", a) == step_key("p", b) != step_key("q", a)


def test_resolve_sources_globs_and_missing(context: Path) -> None:
    assert resolve_sources(context, ["*.txt", "dir/*.txt"]) == ["a.txt", "dir/b.txt"]
    assert resolve_sources(context, ["dir/s?b"]) == ["dir/sub"]
    assert resolve_sources(context, ["../../a.txt"]) == ["a.txt"]  # cannot climb out
    with pytest.raises(NotFound, match="nope: not found in build context"):
        resolve_sources(context, ["nope"])
    with pytest.raises(NotFound, match="no source files were specified for pattern"):
        resolve_sources(context, ["*.md"])
    matcher = PatternMatcher(["a.txt"])
    with pytest.raises(NotFound, match=r"excluded by \.dockerignore"):
        resolve_sources(context, ["a.txt"], matcher)


def test_symlinked_directory_out_of_context_is_refused(context: Path, tmp_path_factory:
                                                        pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret").write_text("s")
    (context / "escape").symlink_to(outside)
    # the link itself is content (its target string), nothing behind it is read
    digest = content_digest(context, ["escape"])
    (outside / "secret").write_text("changed")
    assert content_digest(context, ["escape"]) == digest
    (context / "inner").symlink_to(outside)
    with pytest.raises(Forbidden, match="leaves the build context"):
        content_digest(context, ["inner/secret"])
