"""``python -m dockyard.engine.tidy ROOT RUN_ROOT ID``: what happens when a container ends.

Started in the background by the container's poststop hook (see
``Lifecycle._exit_hook``): it leaves the hook's process group, waits for the monitor to
finish (it called the runtime's delete that ran the hook), then unmounts the rootfs and
removes the container if it was started with ``--rm``. Errors go to
``$RUN/containers/<id>/tidy.log`` when that directory still exists.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["GRACE_SECONDS", "main"]

GRACE_SECONDS = 1.0


def _monitor_alive(run_dir: Path) -> bool:
    try:
        pid = int((run_dir / "monitor.pid").read_text().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"boot.py" in f.read()
    except (OSError, ValueError):
        return False


def _running_again(root: str, cid: str) -> bool:
    """The monitor records the exit before the delete that runs this hook; running
    again while it lives means a restart policy brought the container back."""
    try:
        data = (Path(root) / "containers" / cid / "state.json").read_bytes()
    except OSError:
        return False
    return b'"Running":true' in data.replace(b" ", b"")


def _nothing_to_do(root: str, run_dir: Path, cid: str) -> bool:
    """Cheap early exit: already removed, or unmounted and not ``--rm``."""
    record = Path(root) / "containers" / cid / "container.json"
    if not record.exists():
        return True
    target = os.path.realpath(run_dir / "rootfs")
    with open("/proc/self/mountinfo") as f:
        if any(line.split()[4] == target for line in f):
            return False
    return b'"AutoRemove": true' not in record.read_bytes()


def main(argv: list[str]) -> int:
    root, run_root, cid = argv
    os.setsid()
    run_dir = Path(run_root) / "containers" / cid
    if (run_dir / "restarting").exists():
        return 0  # the monitor deleted the container to start it again: nothing to tidy
    deadline = time.monotonic() + 60
    while _monitor_alive(run_dir) and time.monotonic() < deadline:
        if (run_dir / "restarting").exists() or _running_again(root, cid):
            return 0  # the monitor restarted the container: nothing to tidy
        time.sleep(0.02)
    # A foreground `run --rm` or `wait` tidies at once in its own process; give it the
    # first go, so this helper's imports stay off that command's path.
    grace = time.monotonic() + GRACE_SECONDS
    while not _nothing_to_do(root, run_dir, cid):
        if time.monotonic() > grace:
            break
        time.sleep(0.05)
    else:
        return 0
    try:
        from dockyard.engine.config import HostFacts
        from dockyard.engine.lifecycle import Lifecycle
        from dockyard.engine.rootfs import StoreImages
        from dockyard.settings import Roots

        roots = Roots(Path(root), Path(run_root))
        Lifecycle(roots, StoreImages(roots), "", HostFacts()).tidy(cid)
    except Exception as err:  # a background helper: record, never raise
        if run_dir.is_dir():
            with open(run_dir / "tidy.log", "a") as f:
                f.write(f"tidy: {type(err).__name__}: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
