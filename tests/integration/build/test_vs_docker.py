"""Differential: the same Dockerfiles and contexts built by docker 20.10 with BuildKit
(private dockerd, busybox imported from the same rootfs) and by ``dockyard build``
give the same image config fields and the same file tree (paths, types, modes,
owners, contents, link targets)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.build.conftest import BuildEnv
from tests.integration.build.diff_cases import KNOWN_DIFFERENCES, MORE_CASES, write_case
from tests.support.dockerd import Dockerd

CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts",
                 "Volumes", "StopSignal", "Healthcheck", "OnBuild", "Shell")

CASES: dict[str, dict[str, str]] = {
    "multi-stage": {
        "Dockerfile": (
            "FROM busybox AS base\nARG FLAVOUR=plain\n"
            "RUN mkdir -p /out && echo \"made $FLAVOUR\" > /out/made.txt\n"
            "COPY app/ /out/app/\n"
            "FROM busybox\nENV GREETING=hello APP_HOME=/srv/app\nWORKDIR $APP_HOME\n"
            "COPY --from=base /out /srv/app/\nCOPY conf.txt ./conf/\nUSER 1000:1000\n"
            "ENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"echo $GREETING\"]\n"),
        "app/main.txt": "main\n", "app/deep/x.txt": "x\n", "conf.txt": "conf\n"},
    "copy-rules": {
        "Dockerfile": (
            "FROM busybox\nCOPY a.txt /f/renamed.txt\nCOPY a.txt b.txt /f/both/\n"
            "COPY dir /f/dircontents\nCOPY dir/ /f/dirslash/\nCOPY *.txt /f/glob/\n"
            "COPY --chown=nobody:nogroup a.txt /f/owned/\nCOPY --chmod=0600 b.txt /f/\n"
            "COPY --chown=1234 dir /f/numeric/\nWORKDIR /f/work\nCOPY a.txt .\n"),
        "a.txt": "a\n", "b.txt": "b\n", "dir/one": "1", "dir/sub/two": "2"},
    "config": {
        "Dockerfile": (
            "FROM busybox\nARG VERSION=1.2\nLABEL version=$VERSION maintainer=\"x y\"\n"
            "ENV A=1 B=\"two words\"\nENV C=${A}-${B}\nEXPOSE 80 443/tcp 53/udp\n"
            "VOLUME /data /cache\nSTOPSIGNAL SIGTERM\n"
            "HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD true\n"
            "SHELL [\"/bin/sh\", \"-ec\"]\nONBUILD RUN echo child\nCMD echo $A\n"
            "USER nobody\nWORKDIR relative\nRUN true\nWORKDIR /\n"
            "COPY --from=busybox /bin/true /bin/\n"),
    },
    "ignore-and-user": {
        "Dockerfile": (
            "FROM busybox\nUSER nobody\nWORKDIR /home/work\nCOPY . /ctx/\n"
            "USER root\nRUN echo done > /ctx/done\n"),
        ".dockerignore": "*.log\n!keep.log\n**/tmp\nDockerfile\n",
        "x.log": "x", "keep.log": "k", "src/a/tmp": "t", "src/a/b.txt": "b"},
    "arg-scoping": {
        "Dockerfile": (
            "ARG BASE=busybox\nARG GLOBAL=g1\nFROM ${BASE} AS one\nARG GLOBAL\n"
            "ARG LOCAL=l1\nENV SEEN=\"$GLOBAL/$LOCAL\"\nRUN echo \"$GLOBAL $LOCAL\" > /args\n"
            "FROM one\nARG LOCAL\nENV AGAIN=x${LOCAL}x\nRUN echo \"[$GLOBAL][$LOCAL]\" > /child\n"),
    },
    "scratch-and-links": {
        "Dockerfile": (
            "FROM busybox AS src\nRUN mkdir -p /d/e && ln -s ../target /d/e/link && "
            "echo t > /d/target && chmod 0711 /d/e\n"
            "FROM scratch\nCOPY --from=src /d /\nCOPY --from=src /bin/busybox /bin/\n"
            "COPY --chown=7:8 a.txt /owned/\nCMD [\"/bin/busybox\", \"true\"]\n"),
        "a.txt": "a\n"},
    "add-archives": {
        "Dockerfile": ("FROM busybox\nADD plain.tar /unpacked/\nADD packed.tar.gz /gz\n"
                       "ADD a.txt /added.txt\nADD --chown=5:6 a.txt /owned/\n"),
        "a.txt": "a\n"},
    **MORE_CASES,
}
ARCHIVES = (("plain.tar", "w"), ("packed.tar.gz", "w:gz"), ("archive.tar.xz", "w:xz"),
            ("archive.tar.bz2", "w:bz2"), ("one.tgz", "w:gz"), ("two.tgz", "w:gz"))


def make_archives(ctx: Path) -> None:
    """Tars (plain and compressed) with a dir, a file with odd owner and mode, a link."""
    for name, mode in ARCHIVES:
        with tarfile.open(ctx / name, mode) as tar:  # type: ignore[call-overload]
            d = tarfile.TarInfo(f"dir-{name}" if name.endswith(".tgz") else "dir")
            d.type, d.mode = tarfile.DIRTYPE, 0o750
            f = tarfile.TarInfo(f"{d.name}/file")
            f.size, f.mode, f.uid, f.gid = 5, 0o604, 12, 34
            ln = tarfile.TarInfo(f"{d.name}/link")
            ln.type, ln.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(d)
            tar.addfile(f, io.BytesIO(b"hello"))
            tar.addfile(ln)


def layer_tree(save_tar: bytes) -> dict[str, tuple[Any, ...]]:
    """Apply a saved image's layers (docker-archive manifest.json) into a path model."""
    files: dict[str, tuple[Any, ...]] = {}
    with tarfile.open(fileobj=io.BytesIO(save_tar)) as outer:
        ext = outer.extractfile("manifest.json")
        assert ext is not None
        manifest = json.load(ext)[0]
        for layer in manifest["Layers"]:
            data = outer.extractfile(layer)
            assert data is not None
            with tarfile.open(fileobj=io.BytesIO(data.read())) as lt:
                members = lt.getmembers()
                for m in members:
                    name = posixpath.normpath("/" + m.name)
                    parent, base = posixpath.split(name)
                    if base == ".wh..wh..opq":
                        for k in [k for k in files if k.startswith(parent.rstrip("/") + "/")]:
                            del files[k]
                    elif base.startswith(".wh."):
                        gone = posixpath.join(parent, base[4:])
                        for k in [k for k in files if k == gone or k.startswith(gone + "/")]:
                            del files[k]
                for m in members:
                    name = posixpath.normpath("/" + m.name)
                    if posixpath.basename(name).startswith(".wh.") or name == "/":
                        continue
                    content = ""
                    if m.isfile():
                        f = lt.extractfile(m)
                        assert f is not None
                        content = hashlib.sha256(f.read()).hexdigest()[:12]
                    files[name] = (m.type, oct(m.mode & 0o7777), m.uid, m.gid, content, m.linkname)
    return files


def saved_mtimes(save_tar: bytes) -> dict[str, int]:
    """Path -> mtime of each file as the saved image's top-most layer holding it has it."""
    times: dict[str, int] = {}
    with tarfile.open(fileobj=io.BytesIO(save_tar)) as outer:
        ext = outer.extractfile("manifest.json")
        assert ext is not None
        for layer in json.load(ext)[0]["Layers"]:
            data = outer.extractfile(layer)
            assert data is not None
            with tarfile.open(fileobj=io.BytesIO(data.read())) as lt:
                for m in lt.getmembers():
                    times[posixpath.normpath("/" + m.name)] = int(m.mtime)
    return times


def history_of(save_tar: bytes) -> list[tuple[str, bool]]:
    """(created_by, empty_layer) of each history entry of the saved image's config."""
    with tarfile.open(fileobj=io.BytesIO(save_tar)) as outer:
        ext = outer.extractfile("manifest.json")
        assert ext is not None
        cfg = outer.extractfile(json.load(ext)[0]["Config"])
        assert cfg is not None
        return [(h.get("created_by", ""), bool(h.get("empty_layer")))
                for h in json.load(cfg).get("history", [])]


def docker_side(dockerd: Dockerd, ctx: Path, tag: str, flags: list[str]) -> tuple[
        dict[str, Any], dict[str, Any], list[tuple[str, bool]]]:
    env = dict(dockerd.env(), DOCKER_BUILDKIT="1")
    if (ctx / "Dockerfile.docker").exists():
        flags = [*flags, "-f", str(ctx / "Dockerfile.docker")]
    built = subprocess.run(["/usr/bin/docker", "build", "--progress", "plain", "--network", "none",
                            "-t", tag, *flags,
                            str(ctx)], env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    inspect = json.loads(dockerd.docker("image", "inspect", tag).stdout)[0]
    saved = subprocess.run(["/usr/bin/docker", "save", tag], env=env, check=True,
                           capture_output=True, timeout=120).stdout
    return inspect["Config"], layer_tree(saved), history_of(saved)


def dockyard_side(benv: BuildEnv, ctx: Path, tag: str, flags: list[str]) -> tuple[
        dict[str, Any], dict[str, Any], list[tuple[str, bool]]]:
    benv.ok(ctx, "-t", tag, *flags)
    config = benv.inspect(tag)["Config"]
    assert isinstance(config, dict)
    saved = subprocess.run(benv.dockyard_argv("save", "--format", "docker", tag),
                           env=dict(os.environ), check=True, capture_output=True,
                           timeout=120).stdout
    return config, layer_tree(saved), history_of(saved)


@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_config_and_tree_as_docker_buildkit(case: str, docker_busybox: Dockerd,
                                                  benv: BuildEnv, tmp_path: Path) -> None:
    ctx, flags = write_case(tmp_path / "ctx", CASES[case])
    if case.startswith("add-"):
        make_archives(ctx)
    tag = f"dydiff/{case}:1"
    if (ctx / "Dockerfile.parent").exists():
        parent = ["-f", str(ctx / "Dockerfile.parent"), "-t", "onbuild-parent:1"]
        subprocess.run(["/usr/bin/docker", "build", *parent, str(ctx)], check=True,
                       env=dict(docker_busybox.env(), DOCKER_BUILDKIT="1"),
                       capture_output=True, timeout=300)
        benv.ok(ctx, *parent)
    want_cfg, want_tree, want_history = docker_side(docker_busybox, ctx, tag, flags)
    got_cfg, got_tree, got_history = dockyard_side(benv, ctx, tag, flags)
    # same steps, same layer/empty-layer structure ([0] is the imported base); the
    # created_by texts follow the newer BuildKit the front end copies (--chown shown,
    # EXPOSE as a list, ARG with its value), which docker 20.10's v0.8 writes otherwise
    assert [(c.split()[0], e) for c, e in got_history[1:]] == \
        [(c.split()[0], e) for c, e in want_history[1:]]
    for name in CONFIG_FIELDS:
        assert (got_cfg.get(name) or None) == (want_cfg.get(name) or None), name
    got_layers = benv.inspect(tag)["RootFS"]
    want_layers = json.loads(docker_busybox.docker("image", "inspect", tag).stdout)[0]["RootFS"]
    assert isinstance(got_layers, dict)
    assert len(got_layers["Layers"]) == len(want_layers["Layers"])
    for path, newer in KNOWN_DIFFERENCES.get(case, {}).items():
        digest = hashlib.sha256(newer).hexdigest()[:12]
        assert got_tree.pop(path)[4].startswith(digest), path
        assert not want_tree.pop(path)[4].startswith(digest), f"docker 20.10 now agrees: {path}"
    added = {k: v for k, v in got_tree.items() if want_tree.get(k) != v}
    missing = {k: v for k, v in want_tree.items() if got_tree.get(k) != v}
    assert (added, missing) == ({}, {}), (added, missing)
