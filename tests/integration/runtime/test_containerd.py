"""containerd's ``ctr`` runs busybox with dockyard-runtime as its runc (must-show 7).

A private containerd (own root, state, sockets under the test's tmp dir, CRI off)
imports a docker-archive made from the busybox rootfs; ``ctr run --runc-binary``
points the runc v2 shim at dockyard-runtime's launcher.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.runtime.conftest import run_cmd

pytestmark = [pytest.mark.peer, pytest.mark.slow]

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")


def _docker_archive(rootfs: Path, dest: Path, tag: str) -> Path:
    """A ``docker save``-style tar holding one layer made from ``rootfs``."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        for entry in sorted(rootfs.iterdir()):
            t.add(entry, arcname=entry.name)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag],
                            "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(dest, "w") as t:
        for name, data in ((config_name, config), ("layer/layer.tar", layer_bytes),
                           ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return dest


@pytest.fixture
def containerd(tmp_path: Path, session_token: str) -> Iterator[list[str]]:
    """A private containerd; yields the ``ctr`` command prefix for it."""
    if CONTAINERD is None or CTR is None:
        pytest.fail("containerd is not installed (apt-get install containerd)")
    base = tmp_path / "ctrd"
    base.mkdir()
    sock = base / "c.sock"
    config = base / "config.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{base}/root"\nstate = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n'
        f'[ttrpc]\n  address = "{sock}.ttrpc"\n'
        f'[debug]\n  address = "{base}/debug.sock"\n')
    with open(base / "containerd.log", "w") as log:  # the child keeps its own copy
        proc = subprocess.Popen([CONTAINERD, "--config", str(config)], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    ctr = [CTR, "--address", str(sock), "--namespace", session_token]
    try:
        deadline = time.monotonic() + 20
        while run_cmd([*ctr, "version"]).returncode != 0:
            assert proc.poll() is None, (base / "containerd.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd did not come up"
            time.sleep(0.1)
        yield ctr
    finally:
        for cid in run_cmd([*ctr, "containers", "list", "-q"]).stdout.split():
            run_cmd([*ctr, "tasks", "kill", "-s", "KILL", cid])
            run_cmd([*ctr, "tasks", "delete", "-f", cid])
            run_cmd([*ctr, "containers", "delete", cid])
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # Snapshots are mounted under the private root; unmount what the shim left.
        with open("/proc/self/mountinfo") as f:
            left = [line.split()[4] for line in f if str(base) in line]
        for mnt in sorted(left, key=len, reverse=True):
            subprocess.run(["umount", "-l", mnt], check=False)


def test_ctr_runs_busybox_through_dockyard_runtime(
        containerd: list[str], runtime_cmd: list[str], busybox_rootfs: Path, tmp_path: Path,
        cgroup_parent: str) -> None:
    tag = "dockyard.test/busybox:latest"
    archive = _docker_archive(busybox_rootfs, tmp_path / "busybox.tar", tag)
    r = run_cmd([*containerd, "images", "import", "--no-unpack=false", str(archive)])
    if r.returncode != 0:  # older ctr: no --no-unpack flag
        r = run_cmd([*containerd, "images", "import", str(archive)])
    assert r.returncode == 0, r.stderr
    runc_root = tmp_path / "runc-root"
    log = tmp_path / "runtime-calls.log"
    # A wrapper that records how the shim calls us, then runs the launcher.
    wrapper = tmp_path / "dockyard-runc"
    wrapper.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\nexec {runtime_cmd[0]} \"$@\"\n")
    wrapper.chmod(0o755)
    r = run_cmd([*containerd, "run", "--rm", "--runc-binary", str(wrapper),
                 "--runc-root", str(runc_root), "--cgroup", f"/{cgroup_parent}/ctr1",
                 tag, "ctr1", "sh", "-c", "echo pid=$$; ls /sys/class/net; exit 3"],
                timeout=60)
    calls = log.read_text() if log.exists() else ""
    assert r.stdout.split() == ["pid=1", "lo"], (r, calls)
    assert r.returncode == 3, (r, calls)
    known = {"create", "start", "state", "kill", "delete", "exec", "ps", "features"}
    verbs = [next(w for w in line.split() if w in known) for line in calls.splitlines()]
    assert verbs[:2] == ["create", "start"] and "delete" in verbs, calls
    assert not os.path.exists(runc_root / "ctr1")


def test_ctr_exec_and_kill_through_dockyard_runtime(
        containerd: list[str], runtime_cmd: list[str], busybox_rootfs: Path, tmp_path: Path,
        cgroup_parent: str) -> None:
    tag = "dockyard.test/busybox:latest"
    archive = _docker_archive(busybox_rootfs, tmp_path / "busybox.tar", tag)
    assert run_cmd([*containerd, "images", "import", str(archive)]).returncode == 0
    runc_root = tmp_path / "runc-root"
    r = run_cmd([*containerd, "run", "-d", "--runc-binary", runtime_cmd[0],
                 "--runc-root", str(runc_root), "--cgroup", f"/{cgroup_parent}/ctr2",
                 tag, "ctr2", "sleep", "60"], timeout=60)
    assert r.returncode == 0, r
    r = run_cmd([*containerd, "task", "exec", "--exec-id", "e1", "ctr2", "sh", "-c",
                 "echo from-exec $$; exit 5"], timeout=60)
    assert r.returncode == 5, r
    words = r.stdout.split()
    assert words[0] == "from-exec" and int(words[1]) > 1
    tasks = run_cmd([*containerd, "task", "list"]).stdout
    assert "ctr2" in tasks and "RUNNING" in tasks, tasks
    assert run_cmd([*containerd, "task", "kill", "-s", "KILL", "ctr2"]).returncode == 0
    deadline = time.monotonic() + 20
    while "STOPPED" not in run_cmd([*containerd, "task", "list"]).stdout:
        assert time.monotonic() < deadline, "task never stopped"
        time.sleep(0.1)
    assert run_cmd([*containerd, "task", "delete", "ctr2"]).returncode == 0
    assert run_cmd([*containerd, "containers", "delete", "ctr2"]).returncode == 0
    assert not (runc_root / os.path.basename(containerd[-1]) / "ctr2").exists()
