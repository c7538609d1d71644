"""``dockyard build`` end to end: a multi-stage build that runs, its config, and the
cache rules (same id when unchanged, mtimes ignored, exact invalidation)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.integration.build.conftest import BuildEnv, write

MULTI = """\
FROM busybox AS base
ARG FLAVOUR=plain
RUN mkdir -p /out && echo "made $FLAVOUR" > /out/made.txt
COPY app/ /out/app/
FROM busybox
ENV GREETING=hello APP_HOME=/srv/app
WORKDIR $APP_HOME
COPY --from=base /out /srv/app/
COPY conf.txt ./conf/
RUN echo worker:x:1234:1234::/srv/app:/bin/sh >> /etc/passwd && chown -R worker /srv/app
USER worker
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $GREETING from $(id -un) in $(pwd); cat made.txt app/main.txt conf/conf.txt"]
"""


def steps(err: str) -> list[tuple[str, bool]]:
    """(step text, cached) from the plain progress view."""
    found = re.findall(r"#(\d+) \[[^\]]+\] (.*)\n#\1 (CACHED|DONE)", err)
    return [(text, state == "CACHED") for _, text, state in found]


def test_multi_stage_builds_runs_and_has_the_expected_config(benv: BuildEnv,
                                                             tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": MULTI, "app/main.txt": "main\n",
                                   "conf.txt": "conf\n"})
    r = benv.ok(ctx, "-t", "multi:1")
    assert r.image_id.startswith("sha256:")
    assert benv.tags()["multi:1"] == r.image_id
    cfg = benv.inspect("multi:1")["Config"]
    assert isinstance(cfg, dict)
    assert cfg["Env"][-2:] == ["GREETING=hello", "APP_HOME=/srv/app"]
    assert cfg["WorkingDir"] == "/srv/app"
    assert cfg["User"] == "worker"
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"]
    assert cfg["Cmd"] == [MULTI.splitlines()[-1][6:-2]]
    run = benv.dockyard("run", "--rm", "multi:1")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "hello from worker in /srv/app\nmade plain\nmain\nconf\n"
    owner = benv.dockyard("run", "--rm", "--entrypoint", "stat", "multi:1", "-c", "%U %a",
                          "/srv/app/conf/conf.txt")
    assert owner.stdout == "worker 644\n"
    history = benv.inspect("multi:1")
    layers = history["RootFS"]
    assert isinstance(layers, dict)
    assert len(layers["Layers"]) == 1 + 4  # busybox, WORKDIR, COPY, COPY, RUN
    assert benv.dockyard("ps", "-aq").stdout == ""


def test_unchanged_rebuild_is_fully_cached_with_the_same_id(benv: BuildEnv,
                                                            tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": MULTI, "app/main.txt": "main\n",
                                   "conf.txt": "conf\n"})
    first = benv.ok(ctx, "-t", "c:1")
    assert not any(cached for _, cached in steps(first.err))
    second = benv.ok(ctx, "-t", "c:2")
    assert second.image_id == first.image_id
    assert steps(second.err) and all(cached for text, cached in steps(second.err)
                                     if not text.startswith(("ARG", "ENV", "USER", "CMD",
                                                             "ENTRYPOINT")))
    # only the mtime changes: still cached
    os.utime(ctx / "conf.txt", (1, 1))
    os.utime(ctx / "app/main.txt", (2, 2))
    third = benv.ok(ctx)
    assert third.image_id == first.image_id
    # --no-cache does the work again
    fresh = benv.ok(ctx, "--no-cache")
    assert not any(cached for _, cached in steps(fresh.err))


def layer_steps(err: str) -> list[tuple[str, bool]]:
    return [(t, c) for t, c in steps(err) if t.split()[0] in ("RUN", "COPY", "WORKDIR")]


def test_one_changed_byte_invalidates_exactly_that_copy_and_later(benv: BuildEnv,
                                                                  tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": MULTI, "app/main.txt": "main\n",
                                   "conf.txt": "conf\n"})
    first = benv.ok(ctx, "-t", "b:1")
    (ctx / "conf.txt").write_text("conF\n")
    second = benv.ok(ctx, "-t", "b:1")
    assert second.image_id != first.image_id
    assert layer_steps(second.err) == [
        ("RUN mkdir -p /out && echo \"made $FLAVOUR\" > /out/made.txt", True),
        ("COPY app/ /out/app/", True),
        ("WORKDIR $APP_HOME", True),
        ("COPY --from=base /out /srv/app/", True),
        ("COPY conf.txt ./conf/", False),
        (MULTI.splitlines()[9], False),
    ]
    run = benv.dockyard("run", "--rm", "--entrypoint", "cat", "b:1", "conf/conf.txt")
    assert run.stdout == "conF\n"


def test_changed_build_arg_invalidates_only_steps_after_its_first_use(
        benv: BuildEnv, tmp_path: Path) -> None:
    dockerfile = ("FROM busybox\nRUN echo one > /one\nARG LEVEL=1\nRUN echo two > /two\n"
                  "RUN echo $LEVEL > /level\nRUN echo three > /three\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile})
    benv.ok(ctx, "--build-arg", "LEVEL=1")
    again = benv.ok(ctx, "--build-arg", "LEVEL=2", "-t", "arg:2")
    assert layer_steps(again.err) == [("RUN echo one > /one", True),
                                      ("RUN echo two > /two", False),
                                      ("RUN echo $LEVEL > /level", False),
                                      ("RUN echo three > /three", False)]
    run = benv.dockyard("run", "--rm", "arg:2", "cat", "/level")
    assert run.stdout == "2\n"


def test_dockerignore_and_chown_chmod(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY --chown=nobody:nogroup --chmod=0640 . /data/\n",
        ".dockerignore": "secret*\n*.log\n!keep.log\n",
        "a.txt": "a", "secret.key": "k", "x.log": "x", "keep.log": "kept",
        "sub/secret-too": "s", "sub/b.txt": "b"})
    benv.ok(ctx, "-t", "ign:1")
    run = benv.dockyard("run", "--rm", "ign:1", "sh", "-c",
                        "cd /data && find . | sort && stat -c '%U:%G %a' a.txt")
    assert run.stdout.split("\n") == [
        ".", "./.dockerignore", "./Dockerfile", "./a.txt", "./keep.log", "./sub",
        "./sub/b.txt", "./sub/secret-too", "nobody:nogroup 640", ""]  # patterns are rooted


def test_target_label_and_dockerfile_from_stdin(benv: BuildEnv, tmp_path: Path) -> None:
    dockerfile = ("FROM busybox AS first\nRUN echo first > /which\n"
                  "FROM busybox AS second\nRUN echo second > /which\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile})
    r = benv.ok(ctx, "--target", "first", "--label", "team=build", "-t", "t:first")
    assert "second" not in r.err  # the unused stage is skipped
    cfg = benv.inspect("t:first")["Config"]
    assert isinstance(cfg, dict) and cfg["Labels"] == {"team": "build"}
    assert benv.dockyard("run", "--rm", "t:first", "cat", "/which").stdout == "first\n"
    piped = benv.build("-", "-q", "-t", "t:stdin", input=dockerfile)
    assert piped.code == 0, piped.err
    assert piped.out == piped.image_id + "\n" and piped.err == ""
    assert benv.dockyard("run", "--rm", "t:stdin", "cat", "/which").stdout == "second\n"
    bad = benv.build(ctx, "--target", "third")
    assert bad.code == 1 and "third" in bad.err


def test_heredocs_run_scripts_and_copy_files(benv: BuildEnv, tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox\n"
        "RUN <<EOF\necho plain heredoc > /one\necho $((1 + 2)) >> /one\nEOF\n"
        "RUN <<-SCRIPT\n\t#!/bin/sh -e\n\techo \"script $0\" > /two\nSCRIPT\n"
        "COPY <<EOT /etc/motd\nwelcome\nEOT\n"
        "CMD [\"cat\", \"/one\", \"/two\", \"/etc/motd\"]\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile})
    benv.ok(ctx, "-t", "here:1")
    run = benv.dockyard("run", "--rm", "here:1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == ["plain heredoc", "3"]
    assert lines[2] == "script /dev/pipes/SCRIPT"  # BuildKit's $0 for a heredoc script
    assert lines[3] == "welcome"
    listing = benv.dockyard("run", "--rm", "here:1", "ls", "-a", "/")
    assert ".dockyard-pipes" not in listing.stdout
    history = benv.dockyard("history", "--no-trunc", "--format", "{{.CreatedBy}}", "here:1")
    assert "/dev/pipes/SCRIPT" in history.stdout


def test_secret_is_readable_in_run_and_never_in_a_layer(benv: BuildEnv, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t-value")
    dockerfile = (
        "FROM busybox\nRUN mkdir -p /run && echo lower > /run/keep\n"
        "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /used-len && "
        "stat -c %a /run/secrets/tok >> /used-len\n"
        "RUN --mount=type=secret,id=tok,target=/etc/app.key,mode=0440,uid=7 "
        "stat -c '%a %u' /etc/app.key > /second\n"
        "RUN --mount=type=secret,id=absent true\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile})
    benv.ok(ctx, "-t", "sec:1", "--secret", f"id=tok,src={secret}")
    run = benv.dockyard("run", "--rm", "sec:1", "sh", "-c",
                        "cat /used-len /second; ls -a /run /etc | grep -c -e secrets -e app.key")
    assert run.stdout.split("\n")[:3] == ["s3cr3t-value400", "440 7", "0"]
    saved = subprocess.run(benv.dockyard_argv("save", "sec:1"), capture_output=True,
                           check=True).stdout
    assert b"s3cr3t-value" not in saved.replace(b"s3cr3t-value400", b"")
    optional = write(tmp_path / "ctx1", {  # not required: the mount is skipped
        "Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=tok test ! -e /run/secrets\n"})
    benv.ok(optional)
    required = write(tmp_path / "ctx2", {
        "Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=need,required true\n"})
    r = benv.build(required)
    assert r.code == 1 and "secret need: not found" in r.err


def test_cache_tmpfs_and_bind_mounts(benv: BuildEnv, tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox AS tools\nRUN mkdir /tools && echo 'echo from-tool' > /tools/t.sh\n"
        "FROM busybox\nRUN mkdir -p /var/cache/app && echo image > /var/cache/app/own\n"
        "RUN --mount=type=cache,target=/var/cache/app "
        "ls /var/cache/app > /seen && date +%N >> /var/cache/app/runs\n"
        "RUN --mount=type=cache,target=/var/cache/app wc -l < /var/cache/app/runs > /count\n"
        "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls -a /scratch > /tmp-seen\n"
        "RUN --mount=type=bind,source=data,target=/in "
        "cat /in/d.txt > /bound && (echo changed > /in/d.txt && echo writable || "
        "echo read-only) > /ro-check 2>/dev/null\n"
        "RUN --mount=type=bind,source=data,target=/in,rw echo changed > /in/d.txt && "
        "cat /in/d.txt > /rw-check\n"
        "RUN --mount=type=bind,from=tools,source=/tools,target=/t sh /t/t.sh > /tooled\n"
        "RUN --mount=type=tmpfs,target=/small,size=1m (dd if=/dev/zero of=/small/f bs=1k "
        "count=2048 && echo fit || echo full) > /tmpfs-size 2>/dev/null\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile, "data/d.txt": "ctx data\n"})
    benv.ok(ctx, "-t", "m:1")
    out = benv.dockyard("run", "--rm", "m:1", "sh", "-c",
                        "cat /seen /count /tmp-seen /bound /ro-check /rw-check /tooled "
                        "/tmpfs-size; ls -a /var/cache/app; "
                        "ls -d /scratch /in /t /small 2>&1 | wc -l").stdout
    assert out.split("\n") == ["1", ".", "..", "x", "ctx data", "read-only", "changed",
                               "from-tool", "full", ".", "..", "own", "4", ""]
    assert (ctx / "data/d.txt").read_text() == "ctx data\n"
    # the cache persists: a rebuild without cache sees the earlier run's file
    benv.ok(ctx, "-t", "m:2", "--no-cache")
    again = benv.dockyard("run", "--rm", "m:2", "cat", "/seen", "/count").stdout
    assert again == "runs\n2\n"


def test_cache_survives_restarts_and_builder_prune_drops_it(benv: BuildEnv,
                                                            tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dockyard.cli.build import prune_cmd
    from dockyard.cli.context import AppContext

    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
    first = benv.ok(ctx)
    again = benv.ok(ctx)  # a new executor and store: only the files on disk carry it
    assert again.image_id == first.image_id and "#2 CACHED" in again.err
    result = CliRunner().invoke(prune_cmd, ["-f"], obj=AppContext(benv.roots))
    assert result.exit_code == 0 and result.stdout.startswith("Total:")
    assert not (benv.roots.root / "build-cache").exists()
    fresh = benv.ok(ctx)
    assert "#2 DONE" in fresh.err


def test_independent_stages_build_in_parallel(benv: BuildEnv, tmp_path: Path) -> None:
    dockerfile = (
        "FROM busybox AS a\nRUN echo a > /a\nCOPY f.txt /fa\n"
        "FROM busybox AS b\nRUN echo b > /b\nCOPY f.txt /fb\n"
        "FROM busybox\nCOPY --from=a /a /fa /out/\nCOPY --from=b /b /fb /out/\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile, "f.txt": "f\n"})
    benv.ok(ctx, "-t", "par:1")
    out = benv.dockyard("run", "--rm", "par:1", "sh", "-c", "cat /out/*").stdout
    assert out == "a\nb\nf\nf\n"  # /out/a /out/b /out/fa /out/fb


def test_bind_mounts_are_real_read_only_mounts_and_respect_dockerignore(
        benv: BuildEnv, tmp_path: Path) -> None:
    dockerfile = ("FROM busybox\nRUN --mount=type=bind,target=/ctx (ls /ctx; cat /ctx/a.txt; "
                  "grep ' /ctx ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1) > /seen\n")
    ctx = write(tmp_path / "ctx", {"Dockerfile": dockerfile, "a.txt": "a\n", "secret.txt": "s"})
    benv.ok(ctx, "-t", "bind:1")
    seen = benv.dockyard("run", "--rm", "bind:1", "cat", "/seen").stdout.split()
    assert seen == ["Dockerfile", "a.txt", "secret.txt", "a", "ro"]  # the context, ro
    # files .dockerignore leaves out are not there (BuildKit never receives them)
    (ctx / ".dockerignore").write_text("secret.txt\n")
    benv.ok(ctx, "-t", "bind:2")
    seen = benv.dockyard("run", "--rm", "bind:2", "cat", "/seen").stdout.split()
    assert seen == ["Dockerfile", "a.txt", "a"]
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=bind,source=secret.txt,"
                                    "target=/s cat /s\n")
    r = benv.build(ctx)
    assert r.code == 1 and "source secret.txt not found (excluded by .dockerignore)" in r.err
    (ctx / "Dockerfile").write_text(dockerfile)
    # what the mount shows is part of the step's cache key
    (ctx / "a.txt").write_text("b\n")
    benv.ok(ctx, "-t", "bind:3")
    seen = benv.dockyard("run", "--rm", "bind:3", "cat", "/seen").stdout.split()
    assert seen == ["Dockerfile", "a.txt", "b"]


def test_child_of_a_built_image_keeps_the_parents_history(benv: BuildEnv,
                                                          tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile.parent": "FROM busybox\nRUN echo 1 > /one\nLABEL x=y\nRUN echo 2 > /two\n",
        "Dockerfile": "FROM parent:1\nRUN echo 3 > /three\nCMD [\"true\"]\n"})
    benv.ok(ctx, "-f", str(ctx / "Dockerfile.parent"), "-t", "parent:1")
    benv.ok(ctx, "-t", "child:1")
    from dockyard.images import ImageStore

    with ImageStore(benv.roots) as store:
        parent = store.resolve("parent:1").config
        child = store.resolve("child:1").config
    assert [h.created_by for h in child.history[:len(parent.history)]] == \
        [h.created_by for h in parent.history]
    assert [h.created for h in child.history[:len(parent.history)]] == \
        [h.created for h in parent.history]
    assert [h.created_by.split()[0] for h in child.history[len(parent.history):]] == \
        ["RUN", "CMD"]
    # one non-empty history entry per layer, as docker history needs
    assert sum(not h.empty_layer for h in child.history) == len(child.diff_ids) == 4
