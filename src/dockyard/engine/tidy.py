"""What happens when a container ends: unmount its rootfs, remove it if ``--rm``.

Two ways in. With the built-in runtime the monitor itself calls :func:`after_monitor`
once it has finished (exit recorded, runtime deleted, waiters answered, pid file gone);
with runc or crun the spec's poststop hook starts ``python -m dockyard.engine.tidy ROOT
RUN_ROOT ID`` in the background. Either way a foreground ``run --rm`` or ``wait``, which
tidies at once in its own process, gets a grace period to do so first, and only if
something is left then does the helper import the engine and tidy under the
container's op lock: so a foreground command costs no interpreter start here. Errors go
to ``$RUN/containers/<id>/tidy.log`` when that directory still exists.

Standard library only at module level, and cheap: the monitor imports it as it ends.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["GRACE_SECONDS", "after_monitor", "main"]

GRACE_SECONDS = 1.0
_POLL = 0.01


def _monitor_alive(run_dir: str) -> bool:
    try:
        with open(os.path.join(run_dir, "monitor.pid")) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"boot.py" in f.read()
    except (OSError, ValueError):
        return False


def _running_again(container_dir: str) -> bool:
    """The monitor records the exit before the delete; running again while it lives
    (or once it has gone) means a restart policy or a ``start`` brought it back."""
    try:
        with open(os.path.join(container_dir, "state.json"), "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b'"Running":true' in data.replace(b" ", b"")


def _nothing_to_do(container_dir: str, run_dir: str) -> bool:
    """Cheap early exit: already removed, started again, or unmounted and not ``--rm``."""
    try:
        with open(os.path.join(container_dir, "container.json"), "rb") as f:
            record = f.read()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if _running_again(container_dir):
        return True
    target = os.path.realpath(os.path.join(run_dir, "rootfs"))
    with open("/proc/self/mountinfo") as f:
        if any(line.split()[4] == target for line in f):
            return False
    return b'"AutoRemove": true' not in record


def _settled(container_dir: str, run_dir: str, grace: float) -> bool:
    """Give a foreground command ``grace`` seconds to tidy; whether it did."""
    deadline = time.monotonic() + grace
    while not _nothing_to_do(container_dir, run_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL)
    return True


def after_monitor(root: str, run_root: str, container_id: str,
                  grace: float = GRACE_SECONDS) -> None:
    """Called by a monitor that has finished: return once nothing is left to tidy, or
    become the tidy helper (``exec``, so no extra process) if something is."""
    container_dir = os.path.join(root, "containers", container_id)
    run_dir = os.path.join(run_root, "containers", container_id)
    if _settled(container_dir, run_dir, grace):
        return
    # The helper runs this module's own code: the tree it was imported from.
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "PYTHONPATH": src}
    os.execve(sys.executable, [sys.executable, "-m", "dockyard.engine.tidy", root, run_root,
                               container_id, "--now"], env)


def main(argv: list[str]) -> int:
    """``ROOT RUN_ROOT ID [--now]``: ``--now`` when the grace period has already passed."""
    root, run_root, cid = argv[:3]
    now = argv[3:] == ["--now"]
    try:
        os.setsid()
    except OSError:  # already a session leader (a monitor that became this helper)
        pass
    container_dir = os.path.join(root, "containers", cid)
    run_dir = os.path.join(run_root, "containers", cid)
    if os.path.exists(os.path.join(run_dir, "restarting")):
        return 0  # the monitor deleted the container to start it again: nothing to tidy
    deadline = time.monotonic() + 60
    while _monitor_alive(run_dir) and time.monotonic() < deadline:
        if os.path.exists(os.path.join(run_dir, "restarting")) or \
                _running_again(container_dir):
            return 0  # the monitor restarted the container: nothing to tidy
        time.sleep(0.02)
    if _settled(container_dir, run_dir, 0 if now else GRACE_SECONDS):
        return 0
    try:
        from pathlib import Path

        from dockyard.engine.config import HostFacts
        from dockyard.engine.lifecycle import Lifecycle
        from dockyard.engine.rootfs import StoreImages
        from dockyard.settings import Roots

        roots = Roots(Path(root), Path(run_root))
        Lifecycle(roots, StoreImages(roots), "", HostFacts()).tidy(cid)
    except Exception as err:  # a background helper: record, never raise
        if os.path.isdir(run_dir):
            with open(os.path.join(run_dir, "tidy.log"), "a") as f:
                f.write(f"tidy: {type(err).__name__}: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
