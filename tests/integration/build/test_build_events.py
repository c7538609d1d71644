"""``build -t`` logs one image ``tag`` event per name, as docker's builder does, read back
with ``dockyard events --since … --until …``; like dockerd's, image events carry the
image's labels."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.build.conftest import BuildEnv, write
from tests.support.dockerd import DOCKER, Dockerd

DOCKERFILE = "FROM busybox\nLABEL built=yes\n"
TAGS = ("evb:1", "other/evb", "localhost:5000/evb:x")


def _cli(benv: BuildEnv, *args: str) -> str:
    roots = benv.roots
    out = subprocess.run([sys.executable, "-m", "dockyard.cli.main", "--root", str(roots.root),
                          "--run-root", str(roots.run_root), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _events(benv: BuildEnv, since: float, until: float) -> list[dict[str, Any]]:
    out = _cli(benv, "events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
               "--format", "{{json .}}")
    return [json.loads(line) for line in out.splitlines()]


def test_build_tags_are_logged_once_each(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": DOCKERFILE})
    since = time.time()
    image_id = benv.ok(ctx, *[a for t in TAGS for a in ("-t", t)]).image_id
    benv.ok(ctx)  # a build without -t logs no tag event
    evs = [e for e in _events(benv, since, time.time()) if e["Type"] == "image"]
    assert [(e["Action"], e["id"], e["Actor"]["Attributes"]) for e in evs] == [
        ("tag", image_id, {"built": "yes", "name": name}) for name in
        ("evb:1", "other/evb:latest", "localhost:5000/evb:x")]


def test_a_failed_build_logs_no_tag(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN exit 3\n"})
    since = time.time()
    assert benv.build(ctx, "-t", "evb:bad").code != 0
    assert [e for e in _events(benv, since, time.time()) if e["Type"] == "image"] == []


@pytest.mark.peer
@pytest.mark.slow
def test_build_tag_events_match_docker(benv: BuildEnv, docker_busybox: Dockerd,
                                       tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": DOCKERFILE})
    assert DOCKER is not None
    since = time.time()
    built = subprocess.run([DOCKER, "build", "-q", *[a for t in TAGS for a in ("-t", t)],
                            str(ctx)], env={**docker_busybox.env(), "DOCKER_BUILDKIT": "0"},
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    theirs = docker_busybox.events(since, "type=image")

    since = time.time()
    image_id = benv.ok(ctx, *[a for t in TAGS for a in ("-t", t)]).image_id
    ours = [e for e in _events(benv, since, time.time()) if e["Type"] == "image"]

    def shape(evs: list[dict[str, Any]], iid: str) -> list[tuple[Any, ...]]:
        # (the CLI's ``json`` prints a map's keys sorted, as Go does for maps)
        return [(sorted(e), e["Action"], e["id"] == iid, e["Actor"]["Attributes"])
                for e in evs]

    assert [e["Action"] for e in theirs] == ["tag"] * len(TAGS)
    assert shape(ours, image_id) == shape(theirs, built.stdout.strip())


@pytest.mark.peer
@pytest.mark.slow
def test_tag_untag_and_delete_of_a_labelled_image_match_docker(
        benv: BuildEnv, docker_busybox: Dockerd, tmp_path: Path) -> None:
    """dockerd copies the image's labels into tag and untag events; the delete event,
    logged once the image is gone, has none."""
    # an image of its own: the other tests' tags must not keep it from being deleted
    ctx = write(tmp_path / "ctx", {"Dockerfile": DOCKERFILE + "LABEL only=labelled\n"})
    steps = [("tag", "evl:1", "evl:2"), ("rmi", "evl:2"), ("rmi", "evl:1")]
    assert DOCKER is not None
    built = subprocess.run([DOCKER, "build", "-q", "-t", "evl:1", str(ctx)],
                           env={**docker_busybox.env(), "DOCKER_BUILDKIT": "0"},
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    since = time.time()
    for step in steps:
        docker_busybox.docker(*step)
    theirs = docker_busybox.events(since, "type=image")
    benv.ok(ctx, "-t", "evl:1")
    since = time.time()
    for step in steps:
        _cli(benv, *step)
    ours = [e for e in _events(benv, since, time.time()) if e["Type"] == "image"]

    def shape(evs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["Action"], {k: v for k, v in e["Actor"]["Attributes"].items()
                               if k != "name" or not v.startswith("sha256:")}) for e in evs]

    assert [e["Action"] for e in theirs] == ["tag", "untag", "untag", "delete"]
    assert shape(ours) == shape(theirs)
