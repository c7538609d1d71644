"""Hostile and broken builds: the build stops with a clear message, exit code 1, no
tag moves, nothing half-built is tagged, no container or scratch snapshot stays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.build.conftest import BuildEnv, Built, write

GOOD = "FROM busybox\nRUN echo good > /version\n"


def leftovers(benv: BuildEnv) -> list[str]:
    from dockyard.images.snapshots import Kind, open_snapshotter

    sn = open_snapshotter(benv.roots)
    try:
        return [i.name for i in sn.walk() if i.kind is not Kind.COMMITTED]
    finally:
        sn.close()


def assert_failed_cleanly(benv: BuildEnv, r: Built, before: dict[str, str]) -> None:
    assert r.code == 1
    assert r.image_id == ""
    assert benv.tags() == before
    assert benv.dockyard("ps", "-aq").stdout == ""
    assert leftovers(benv) == []


@pytest.mark.parametrize("dockerfile, message", [
    ("FROM busybox\nCOPY missing.txt /\n", "missing.txt: not found in build context"),
    ("FROM busybox\nCOPY nothing-*.txt /\n", "no source files were specified for pattern"),
    ("FROM busybox\nCOPY ../outside.txt /\n", "outside.txt: not found in build context"),
    ("FROM busybox\nCOPY escape /\n", "escape: not found in build context"),
    ("FROM busybox\nCOPY --from=nostage /x /\n", "no such image: nostage"),
    ("FROM nostage\n", "no such image: nostage"),
    ("FROM busybox\nFROB x\n", "unknown instruction: FROB"),
    ("FROM busybox AS a\nFROM busybox\nCOPY --from=a /nothing /\n", "/nothing: not found"),
    ("FROM busybox\nCOPY --chown=nosuchuser a.txt /\n", "no such user: nosuchuser"),
    ("FROM busybox\nCOPY a.txt b.txt /dir\n", "the destination must be a directory"),
    ("FROM busybox\nCOPY --exclude=[ . /\n", "syntax error in pattern: ["),
    ("FROM busybox\nCOPY --parents nothing/a.txt /\n", "nothing/a.txt: not found"),
    ("FROM busybox\nCOPY --chmod=u+x a.txt /\n", "invalid chmod parameter"),
    ("FROM busybox\nADD http://127.0.0.1:9/x /\n", "ADD http://127.0.0.1:9/x: connection refused"),
    ("FROM busybox\nRUN --mount=type=ssh true\n", "type=ssh is not supported"),
    ("FROM busybox\nRUN --mount=type=bind,source=nothing,target=/x true\n",
     "source nothing not found"),
])
def test_bad_copy_or_stage_stops_the_build(benv: BuildEnv, tmp_path: Path, dockerfile: str,
                                           message: str) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": GOOD, "a.txt": "a", "b.txt": "b"})
    (tmp_path / "outside.txt").write_text("host secret")
    os.symlink(str(tmp_path / "outside.txt"), ctx / "escape")
    benv.ok(ctx, "-t", "app:1")
    before = benv.tags()
    (ctx / "Dockerfile").write_text(dockerfile)
    r = benv.build(ctx, "-t", "app:1", "-t", "app:new")
    assert message in r.err
    assert len([line for line in r.err.splitlines() if line.startswith("ERROR")]) == 1
    assert_failed_cleanly(benv, r, before)


def test_failing_run_shows_exit_code_and_last_lines(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": GOOD})
    benv.ok(ctx, "-t", "app:1")
    before = benv.tags()
    script = "; ".join(f"echo line{i}" for i in range(30)) + "; echo oops >&2; exit 3"
    (ctx / "Dockerfile").write_text(f"FROM busybox\nRUN echo partial > /p\nRUN {script}\n")
    r = benv.build(ctx, "-t", "app:1")
    assert "exit code: 3" in r.err
    assert "Dockerfile:3" in r.err
    shown = [line for line in r.err.splitlines() if line.startswith(" > ")]
    assert shown[-1] == " > oops"
    assert " > line29" in shown and " > line5" not in shown
    assert_failed_cleanly(benv, r, before)
    # the good step before it was kept in the cache; the failed one was not
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo partial > /p\nRUN exit 0\n")
    again = benv.ok(ctx)
    assert "#2 CACHED" in again.err
    assert benv.dockyard("run", "--rm", again.image_id, "cat", "/p").stdout == "partial\n"


def test_syntax_error_names_file_and_line(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo hi\nCOPY\n"})
    before = benv.tags()
    r = benv.build(ctx, "-t", "app:1")
    assert "Dockerfile:3" in r.err
    assert_failed_cleanly(benv, r, before)


def test_bad_flags_and_context(benv: BuildEnv, tmp_path: Path) -> None:
    from dockyard.errors import InvalidArgument

    before = benv.tags()
    with pytest.raises(InvalidArgument, match=r"path .*nowhere.* not found"):
        benv.build(tmp_path / "nowhere")
    ctx = write(tmp_path / "ctx", {"Dockerfile": GOOD})
    with pytest.raises(InvalidArgument, match=r"Bad:Name!"):
        benv.build(ctx, "-t", "Bad:Name!")
    with pytest.raises(InvalidArgument, match="--build-arg"):
        benv.build(ctx, "--build-arg", "=x")
    with pytest.raises(InvalidArgument, match="unable to read Dockerfile"):
        benv.build(ctx, "-f", str(tmp_path / "nope"))
    assert benv.tags() == before
