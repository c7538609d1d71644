"""``exec``'s parent joins the container's mount namespace only around its fork."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

from dockyard.runtime.namespaces import enter_mount, leave_mount
from tests.integration.runtime.conftest import Bundle, run_cmd


def test_enter_and_leave_the_mount_namespace_with_threads_running(
        runtime_cmd: list[str], state_root: Path, bundle: Bundle, tmp_path: Path) -> None:
    bundle.write(args=["/bin/sleep", "30"])
    r = subprocess.run([*runtime_cmd, "--root", str(state_root), "run", "--detach",
                        "--bundle", str(bundle.path), "mnt"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
                       check=False)  # a pipe would stay open in the container
    assert r.returncode == 0
    pid = json.loads(run_cmd([*runtime_cmd, "--root", str(state_root), "state",
                              "mnt"]).stdout)["pid"]
    (bundle.rootfs / "only-in-the-container").write_text("")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)  # setns(CLONE_NEWNS) refuses shared fs
    other.start()
    cwd, root, own = os.getcwd(), os.stat("/"), os.readlink("/proc/self/ns/mnt")
    ns = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.chdir(tmp_path)
        saved = enter_mount(ns)
        assert saved is not None
        try:
            inside = (os.path.exists("/only-in-the-container"), os.getcwd())
        finally:
            leave_mount(saved)
        assert inside == (True, "/")
        assert os.getcwd() == str(tmp_path)
        assert (os.stat("/").st_dev, os.stat("/").st_ino) == (root.st_dev, root.st_ino)
        assert os.readlink("/proc/self/ns/mnt") == own
        assert not os.path.exists("/only-in-the-container")
    finally:
        os.close(ns)
        os.chdir(cwd)
        stop.set()
        other.join()


def test_enter_mount_refuses_what_is_no_mount_namespace(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_CLOEXEC)
    cwd = os.getcwd()
    try:
        assert enter_mount(fd) is None
        assert os.getcwd() == cwd
    finally:
        os.close(fd)
