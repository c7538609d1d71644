"""Pull and push progress as docker shows it: live per-layer lines with bars on a
terminal (drawn by rich, in a pty through pexpect), docker's plain status lines
otherwise (no bars, no escape codes, rich not imported), nothing but the name with -q."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.cli.progress import LayerProgress, bar_line
from dockyard.distribution import push
from dockyard.images import ImageStore
from dockyard.oci import parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import GateThread, RegistryThread
from tests.integration.distribution.test_cli import CODE, dockyard
from tests.integration.distribution.test_extract import layered_image

_ID = r"[0-9a-f]{12}"


def test_bar_line_is_dockers() -> None:
    assert bar_line("0123456789ab", "Downloading", 0, 2_000_000) == (
        "0123456789ab: Downloading [>" + " " * 50 + "]       0B/2MB")
    assert bar_line("0123456789ab", "Extracting", 1_000_000, 2_000_000) == (
        "0123456789ab: Extracting [" + "=" * 25 + ">" + " " * 25 + "]      1MB/2MB")
    assert bar_line("0123456789ab", "Pushing", 3_456_789, 3_456_789) == (
        "0123456789ab: Pushing [" + "=" * 50 + ">]  3.457MB/3.457MB")
    assert bar_line("0123456789ab", "Pull complete", 5, 5) == "0123456789ab: Pull complete"
    assert bar_line("0123456789ab", "Downloading", 5, 0) == "0123456789ab: Downloading"


def test_plain_lines_skip_bars_and_repeats() -> None:
    out = io.StringIO()
    with LayerProgress(out=out, tty=False) as shown:
        for status, done in (("Pulling fs layer", 0), ("Downloading", 10),
                             ("Downloading", 20), ("Verifying Checksum", 20),
                             ("Download complete", 20), ("Extracting", 5),
                             ("Pull complete", 20)):
            shown.update("aaaaaaaaaaaa", status, done, 20)
        shown.update("bbbbbbbbbbbb", "Already exists", 7, 7)
    assert out.getvalue().splitlines() == [
        "aaaaaaaaaaaa: Pulling fs layer", "aaaaaaaaaaaa: Verifying Checksum",
        "aaaaaaaaaaaa: Download complete", "aaaaaaaaaaaa: Pull complete",
        "bbbbbbbbbbbb: Already exists"]
    quiet = io.StringIO()
    with LayerProgress(quiet=True, out=quiet, tty=False) as shown:
        shown.update("aaaaaaaaaaaa", "Pull complete", 1, 1)
    assert quiet.getvalue() == ""


@pytest.fixture
def pushed(tmp_path: Path, registry: RegistryThread) -> Iterator[str]:
    with ImageStore(Roots(tmp_path / "store", tmp_path / "store-run")) as store:
        layered_image(store, "local/app:v1", seed=7)
        target = f"127.0.0.1:{registry.port}/app:v1"
        asyncio.run(push(store, "local/app:v1", parse_reference(target)))
        yield target


def test_plain_pull_and_push_output(tmp_path: Path, pushed: str,
                                    registry: RegistryThread) -> None:
    out = dockyard(tmp_path, "pull", pushed, root="other")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "v1: Pulling from app"
    body = lines[1:-3]
    assert len(body) == 4 * 4  # per layer: pulling, verifying, downloaded, complete
    for status in ("Pulling fs layer", "Verifying Checksum", "Download complete",
                   "Pull complete"):
        assert len([x for x in body if re.fullmatch(f"{_ID}: {status}", x)]) == 4
    assert re.fullmatch(r"Digest: sha256:[0-9a-f]{64}", lines[-3])
    assert lines[-2:] == [f"Status: Downloaded newer image for {pushed}", pushed]
    assert "\x1b" not in out.stdout
    again = dockyard(tmp_path, "pull", pushed, root="other")
    assert again.stdout.splitlines()[-2] == f"Status: Image is up to date for {pushed}"
    assert not [x for x in again.stdout.splitlines() if re.match(_ID + ":", x)]  # docker's
    # an image sharing the four layers and adding one: those exist, the new one arrives
    with ImageStore(Roots(tmp_path / "store", tmp_path / "store-run")) as store:
        layered_image(store, "local/app:v2", seed=7, count=5)
        asyncio.run(push(store, "local/app:v2", parse_reference(pushed[:-1] + "2")))
    lines = dockyard(tmp_path, "pull", pushed[:-1] + "2", root="other").stdout.splitlines()
    assert len([x for x in lines if re.fullmatch(f"{_ID}: Already exists", x)]) == 4
    assert len([x for x in lines if re.fullmatch(f"{_ID}: Pull complete", x)]) == 1
    quiet = dockyard(tmp_path, "pull", "-q", pushed, root="third")
    assert quiet.stdout == pushed + "\n"
    # push to a second repository of the registry it came from: mounted, as docker does
    target = pushed.replace("/app:", "/copy:")
    assert dockyard(tmp_path, "tag", pushed, target, root="other").returncode == 0
    up = dockyard(tmp_path, "push", target, root="other")
    assert up.returncode == 0, up.stderr
    lines = up.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{target.rpartition(':')[0]}]"
    assert len([x for x in lines if re.fullmatch(f"{_ID}: Preparing", x)]) == 4
    assert len([x for x in lines if re.fullmatch(f"{_ID}: Mounted from app", x)]) == 4, lines
    # and again: every layer is there now
    lines = dockyard(tmp_path, "push", target, root="other").stdout.splitlines()
    assert len([x for x in lines if re.fullmatch(f"{_ID}: Layer already exists", x)]) == 4
    digest = re.fullmatch(r"v1: digest: (sha256:[0-9a-f]{64}) size: ([0-9]+)", lines[-1])
    assert digest, lines[-1]
    manifest = registry.call("GET", f"/v2/copy/manifests/{digest[1]}")
    assert manifest.status == 200 and len(manifest.body) == int(digest[2])
    # a fresh store's image: every layer sent
    fresh_name = pushed.replace("/app:", "/fresh:")
    with ImageStore(Roots(tmp_path / "f", tmp_path / "f-run")) as store:
        layered_image(store, fresh_name, seed=8)
    fresh = dockyard(tmp_path, "push", fresh_name, root="f")
    lines = fresh.stdout.splitlines()
    assert len([x for x in lines if re.fullmatch(f"{_ID}: Pushed", x)]) == 4, lines


def test_plain_pull_does_not_import_rich(tmp_path: Path, pushed: str) -> None:
    import subprocess

    code = CODE.replace("sys.exit(main(sys.argv[1:]))",
                        "rc = main(sys.argv[1:]); print('rich' in sys.modules); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, "--root", str(tmp_path / "r"),
                          "--run-root", str(tmp_path / "r-run"), "pull", pushed],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "False"


def test_terminal_pull_draws_live_lines(tmp_path: Path, pushed: str) -> None:
    import pexpect

    child = pexpect.spawn(sys.executable, ["-c", CODE, "--root", str(tmp_path / "t"),
                                           "--run-root", str(tmp_path / "t-run"), "pull",
                                           pushed],
                          env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg"),
                               "TERM": "xterm", "COLUMNS": "120"},
                          encoding="utf-8", timeout=60, dimensions=(40, 120))
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    text = child.before
    assert "\x1b[" in text  # rich moved the cursor to redraw the layer lines
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
    finals = set(re.findall(f"({_ID}): Pull complete", plain))
    assert len(finals) == 4
    assert f"Status: Downloaded newer image for {pushed}" in plain


def test_terminal_shows_a_download_bar(tmp_path: Path, gated: GateThread) -> None:
    """With a layer's download paused half-way, the live line shows docker's bar."""
    import threading

    import pexpect

    from dockyard.distribution import Auth

    with ImageStore(Roots(tmp_path / "store", tmp_path / "store-run")) as store:
        image = layered_image(store, "local/app:v1", seed=12)
        target = f"127.0.0.1:{gated.port}/app:v1"
        asyncio.run(push(store, "local/app:v1", parse_reference(target),
                         auth=Auth("alice", "s3cret"), compress=False))
    release = threading.Event()
    gated.gate.paused[str(image.manifest.layers[0].digest)] = release
    timer = threading.Timer(1.5, release.set)  # long enough for several redraws
    timer.start()
    child = pexpect.spawn(sys.executable, ["-c", CODE, "--root", str(tmp_path / "t"),
                                           "--run-root", str(tmp_path / "t-run"), "pull",
                                           target],
                          env={**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg"),
                               "TERM": "xterm", "COLUMNS": "120"},
                          encoding="utf-8", timeout=60, dimensions=(40, 120))
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close()
        release.set()
        timer.cancel()
    assert child.exitstatus == 0, child.before
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).replace("\r", "")
    short = image.manifest.layers[0].digest.hex[:12]
    bar = re.search(short + r": Downloading \[(=*)>( *)\] +([0-9.]+kB)/([0-9.]+kB)", plain)
    assert bar, plain
    assert len(bar[1]) + len(bar[2]) == 50 and 0 < len(bar[1]) < 50
    assert f"{short}: Pull complete" in plain
