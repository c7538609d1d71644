"""Fixtures for ``dockyard build`` tests: a private engine root whose ``busybox:latest``
is the session's busybox rootfs (the same bytes docker gets in differential tests), and
a ``build`` helper that invokes the real click command against it."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.settings import Roots
from tests.support.dockerd import Dockerd
from tests.support.leaks import remove_cgroup_parent
from tests.support.netclean import clean_networks

DOCKYARD = Path(sys.executable).with_name("dockyard")


def rootfs_tar(rootfs: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for entry in sorted(rootfs.iterdir()):
            tar.add(entry, arcname=entry.name)
    return buf.getvalue()


@dataclass
class Built:
    code: int
    out: str
    err: str
    image_id: str


class BuildEnv:
    """One engine root with busybox imported; ``build(ctx, ...)`` runs the command."""

    def __init__(self, roots: Roots, cgroup_parent: str) -> None:
        self.roots = roots
        self.cgroup_parent = cgroup_parent

    def build(self, context: Path | str, *args: str, input: str | None = None) -> Built:
        from dockyard.cli.build import build_cmd
        from dockyard.cli.context import AppContext

        iid = Path(self.roots.root) / "iid"
        iid.unlink(missing_ok=True)
        result = CliRunner().invoke(
            build_cmd, [*args, "--iidfile", str(iid), str(context)], input=input,
            obj=AppContext(self.roots), env={"DOCKYARD_CGROUP_PARENT": self.cgroup_parent},
            catch_exceptions=False)
        image_id = iid.read_text() if iid.exists() else ""
        return Built(result.exit_code, result.stdout, result.stderr, image_id)

    def ok(self, context: Path | str, *args: str) -> Built:
        r = self.build(context, *args)
        assert r.code == 0, r.err
        return r

    def dockyard_argv(self, *args: str) -> list[str]:
        return [str(DOCKYARD), "--root", str(self.roots.root), "--run-root",
                str(self.roots.run_root), *args]

    def dockyard(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, DOCKYARD_CGROUP_PARENT=self.cgroup_parent)
        return subprocess.run(self.dockyard_argv(*args), env=env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)

    def inspect(self, ref: str) -> dict[str, object]:
        from dockyard.images import ImageStore

        with ImageStore(self.roots) as store:
            return store.inspect(ref)

    def tags(self) -> dict[str, str]:
        from dockyard.images import ImageStore

        with ImageStore(self.roots) as store:
            return {t.removeprefix("docker.io/library/"): str(img.id)
                    for img in store.list() for t in img.names}


@pytest.fixture
def benv(tmp_path: Path, busybox_rootfs_template: Path, cgroup_parent: str,
         session_token: str) -> Iterator[BuildEnv]:
    from dockyard.images import ImageStore, import_rootfs

    roots = Roots(tmp_path / "root", tmp_path / "run")
    with ImageStore(roots) as store:
        import_rootfs(store, io.BytesIO(rootfs_tar(busybox_rootfs_template)),
                      "busybox:latest")
    parent = f"{cgroup_parent}-build"
    env = BuildEnv(roots, parent)
    try:
        yield env
    finally:
        ids = env.dockyard("ps", "-aq", "--no-trunc").stdout.split()
        if ids:
            env.dockyard("rm", "-f", *ids)
        from dockyard.engine.monitor.client import stop_spawner

        stop_spawner(roots.run_root)  # the idle monitor spawner lingers by design
        deadline = time.monotonic() + 10
        while _processes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)  # a --rm container's tidy process finishing
        with open("/proc/self/mountinfo") as f:
            mounted = [line.split()[4] for line in f if str(tmp_path) in line]
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", target], check=False)
        clean_networks(roots.root, roots.run_root)  # RUN steps' bridge stays up
        remove_cgroup_parent(parent)


@pytest.fixture(scope="module")
def docker_busybox(dockerd: Dockerd, busybox_rootfs_template: Path,
                   cgroup_parent: str) -> Iterator[Dockerd]:
    dockerd.import_rootfs(busybox_rootfs_template, "busybox:latest")
    yield dockerd
    # BuildKit leaves an empty "buildkit" cgroup under dockerd's cgroup parent
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        left = hierarchy / f"{cgroup_parent}-docker" / "buildkit"
        for dirpath, _, _ in sorted(os.walk(left), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


def _processes(tmp_path: Path) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(tmp_path) in cmd and "pytest" not in cmd:
            found.append(cmd)
    return found


def write(ctx: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = ctx / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ctx
