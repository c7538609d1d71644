"""Volumes a container makes log dockerd's volume events: ``create`` for an anonymous
volume (``-v /path``, an image's VOLUME) or a named one that did not exist, ``destroy``
when ``--rm`` or ``rm -v`` removes it; read back with ``dockyard events --since --until``."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.volumes.conftest import Dockyard
from tests.support.dockerd import DOCKER, Dockerd


def _volume_events(run: Callable[..., str], since: float, until: float,
                   *types: str) -> list[dict[str, Any]]:
    filters = [a for t in types or ("volume",) for a in ("--filter", f"type={t}")]
    out = run("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}", *filters,
              "--format", "{{json .}}")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _seq(events: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str]]]:
    """(action, volume, attributes) with anonymous names and container ids as placeholders."""
    out = []
    for e in events:
        name = str(e["Actor"]["ID"])
        attrs = dict(e["Actor"]["Attributes"])
        if "container" in attrs:
            attrs["container"] = "<id>"
        out.append((str(e["Action"]), "<anon>" if re.fullmatch(r"[0-9a-f]{64}", name)
                    else name, attrs))
    return out


MOUNT = {"container": "<id>", "destination": "/anon", "driver": "local", "propagation": "",
         "read/write": "true"}
UNMOUNT = {"container": "<id>", "driver": "local"}
LOCAL = {"driver": "local"}


def test_run_rm_with_an_anonymous_volume(dockyard: Dockyard) -> None:
    since = time.time()
    dockyard.ok("run", "--rm", "--network", "none", "-v", "/anon", "busybox", "true")
    evs = _volume_events(dockyard.ok, since, time.time())
    assert _seq(evs) == [("create", "<anon>", LOCAL), ("mount", "<anon>", MOUNT),
                         ("unmount", "<anon>", UNMOUNT), ("destroy", "<anon>", LOCAL)]
    assert len({e["Actor"]["ID"] for e in evs}) == 1
    assert dockyard.ok("volume", "ls", "-q") == ""


def test_image_volume_and_named_volumes(dockyard: Dockyard, volume_image: str) -> None:
    since = time.time()
    cid = dockyard.ok("create", "--network", "none", "-v", "newvol:/n", volume_image,
                      "true").strip()
    dockyard.ok("create", "--network", "none", "-v", "newvol:/n", "busybox", "true")
    dockyard.ok("rm", "-v", cid)  # the image's anonymous volume goes; newvol is named
    evs = _volume_events(dockyard.ok, since, time.time())
    anon = [e["Actor"]["ID"] for e in evs if e["Actor"]["ID"] != "newvol"]
    assert _seq(evs) == [("create", "newvol", LOCAL), ("create", "<anon>", LOCAL),
                         ("destroy", "<anon>", LOCAL)]
    assert anon[0] == anon[1]
    assert dockyard.ok("volume", "ls", "-q").split() == ["newvol"]


def test_a_failed_create_leaves_no_volume(dockyard: Dockyard) -> None:
    since = time.time()
    bad = dockyard("create", "--network", "none", "-v", "/anon", "-v", "/proc",
                   "busybox", "true")
    assert bad.code != 0 and "/proc" in bad.err
    assert dockyard.ok("volume", "ls", "-q") == ""
    assert _volume_events(dockyard.ok, since, time.time()) == []  # checked before any is made
    bad = dockyard("create", "--network", "none", "-v", "made:/a", "--mount",
                   "type=volume,dst=/m,volume-driver=nope", "busybox", "true")
    assert bad.code != 0 and "nope" in bad.err
    assert dockyard.ok("volume", "ls", "-q") == ""
    assert _seq(_volume_events(dockyard.ok, since, time.time())) == [
        ("create", "made", LOCAL), ("destroy", "made", LOCAL)]


@pytest.mark.peer
@pytest.mark.slow
def test_anonymous_volume_events_match_docker(dockerd: Dockerd, dockyard: Dockyard,
                                              busybox_rootfs_template: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "busybox")
    since = time.time()
    dockerd.docker("run", "--rm", "--network", "none", "-v", "/anon", "busybox", "true")
    theirs = dockerd.events(since, "type=volume", "type=container")
    since = time.time()
    dockyard.ok("run", "--rm", "--network", "none", "-v", "/anon", "busybox", "true")
    ours = _volume_events(dockyard.ok, since, time.time(), "volume", "container")
    # the volume's create comes before the container's, its destroy before the container's
    assert [(e["Type"], e["Action"]) for e in ours] == \
        [(e["Type"], e["Action"]) for e in theirs]
    vol = [e for e in ours if e["Type"] == "volume"]
    assert _seq(vol) == _seq([e for e in theirs if e["Type"] == "volume"])
    assert [sorted(e) for e in vol] == [sorted(e) for e in theirs if e["Type"] == "volume"]


@pytest.mark.peer
@pytest.mark.slow
def test_image_volume_and_named_volume_events_match_docker(
        dockerd: Dockerd, dockyard: Dockyard, volume_image: str,
        busybox_rootfs_template: Path, tmp_path: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "busybox")
    ctx = tmp_path / "peer-ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN mkdir /data\nVOLUME /data\n")
    assert DOCKER is not None
    built = subprocess.run([DOCKER, "build", "-q", "-t", volume_image, str(ctx)],
                           env={**dockerd.env(), "DOCKER_BUILDKIT": "0"},  # the classic builder
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    steps = [("create", "--network", "none", "--name", "vc", "-v", "newvol:/n", volume_image,
              "true"), ("rm", "-v", "vc")]
    since = time.time()
    for step in steps:
        dockerd.docker(*step)
    theirs = dockerd.events(since, "type=volume")
    since = time.time()
    for step in steps:
        dockyard.ok(*step)
    ours = _volume_events(dockyard.ok, since, time.time())
    assert _seq(ours) == _seq(theirs)
    assert [sorted(e) for e in ours] == [sorted(e) for e in theirs]
