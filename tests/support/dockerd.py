"""A private dockerd (Debian's docker.io) for tests that compare with Docker.

It runs with its own data-root, exec-root, socket and pidfile under a temp dir, no
bridge and no iptables rules (so it leaves nothing on the host's network), and puts
its containers' cgroups under a parent named with the session token, so the leak
check sees any it forgets. Use the ``dockerd`` fixture from tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tests.support.leaks import remove_cgroup_parent

DOCKERD = shutil.which("dockerd")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")


@dataclass
class Dockerd:
    """A running private dockerd and the environment that points the CLI at it."""

    host: str
    pid: int
    base: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(self.base / "config")
        return env

    def docker(self, *args: str, check: bool = True, input: bytes | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this daemon; text output."""
        assert DOCKER is not None
        return subprocess.run(
            [DOCKER, *args], env=self.env(), check=check, capture_output=True, text=True,
            input=None if input is None else input.decode("latin-1"), timeout=timeout,
        )

    def events(self, since: float, *filters: str) -> list[dict[str, Any]]:
        """``docker events`` as JSON from ``since`` until half a second from now (waited
        for), with ``filters`` such as ``type=image``."""
        until = time.time() + 0.5
        time.sleep(0.6)
        out = self.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                          *[a for f in filters for a in ("--filter", f)],
                          "--format", "{{json .}}").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def import_rootfs(self, rootfs: Path, name: str) -> None:
        """``tar -C rootfs -c . | docker import - name``."""
        tar_path = self.base / f"{name.replace('/', '_').replace(':', '_')}.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(rootfs, arcname=".")
        self.docker("import", str(tar_path), name)


def start_dockerd(base: Path, cgroup_parent: str, timeout: float = 60,
                  bridge: str = "none") -> Dockerd:
    """Start dockerd with all its state under ``base``; raise if it does not come up.

    ``bridge`` names an existing bridge (with an address) for its default network; the
    default ``none`` gives it none. It never adds iptables rules either way."""
    if DOCKERD is None or DOCKER is None:
        raise RuntimeError("dockerd is not installed (apt-get install docker.io)")
    base.mkdir(parents=True, exist_ok=True)
    (base / "config").mkdir(exist_ok=True)
    sock = base / "docker.sock"
    with open(base / "dockerd.log", "wb") as log:
        proc = _spawn_dockerd(base, sock, cgroup_parent, log, bridge)
    d = Dockerd(f"unix://{sock}", proc.pid, base)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited: {(base / 'dockerd.log').read_text()[-2000:]}")
        if sock.exists() and d.docker("version", check=False, timeout=10).returncode == 0:
            return d
        time.sleep(0.2)
    stop_dockerd(d)
    raise RuntimeError(f"dockerd did not answer within {timeout}s")


def _spawn_dockerd(base: Path, sock: Path, cgroup_parent: str,
                   log: BinaryIO, bridge: str = "none") -> subprocess.Popen[bytes]:
    assert DOCKERD is not None
    return subprocess.Popen(
        [DOCKERD, "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
         "--pidfile", str(base / "dockerd.pid"), "--host", f"unix://{sock}",
         "--bridge", bridge, "--iptables=false", "--ip6tables=false", "--ip-masq=false",
         "--cgroup-parent", cgroup_parent, "--storage-driver", "overlay2",
         "--userland-proxy=false"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop_dockerd(d: Dockerd, cgroup_parent: str | None = None) -> None:
    """Remove its containers, stop it, and remove everything it left under its base."""
    ids = d.docker("ps", "-aq", check=False, timeout=30).stdout.split()
    if ids:
        d.docker("rm", "-f", *ids, check=False, timeout=60)
    try:
        os.killpg(d.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(d.pid, 0)
            pid_done, _ = os.waitpid(d.pid, os.WNOHANG)
            if pid_done:
                break
        except (ProcessLookupError, ChildProcessError):
            break
        time.sleep(0.1)
    else:
        try:
            os.killpg(d.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Unmount whatever dockerd or its containerd left mounted below base, deepest first.
    with open("/proc/self/mountinfo") as f:
        targets = [line.split()[4] for line in f if str(d.base) in line.split()[4]]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    shutil.rmtree(d.base, ignore_errors=True)
    if cgroup_parent:
        remove_cgroup_parent(cgroup_parent, children=True)
