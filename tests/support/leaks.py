"""Find what a test session left on the machine.

Everything a test creates carries the session's token (cgroups, namespaces, nftables
tables, link names where they fit) or lives under the session's temporary directory
(mounts, processes started with a --root there). Several test runs may share the
machine, so we only ever look at objects tagged with *this* session's token or path.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def _mounts(marker: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if marker in line]


def _cgroups(token: str) -> list[str]:
    found: list[str] = []
    base = Path("/sys/fs/cgroup")
    for top in base.iterdir():
        if not top.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(top):
            depth = dirpath[len(str(top)):].count("/")
            if depth >= 3:
                dirnames[:] = []
            for d in dirnames:
                if token in d:
                    found.append(os.path.join(dirpath, d))
    return found


def _ancestors() -> set[int]:
    """This process and its ancestors (a wrapper like ``timeout`` may name the tmp dir)."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _processes(marker: str) -> list[str]:
    found = []
    mine = _ancestors()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in mine:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd.strip()}")
    return found


def _command_lines(args: list[str], token: str) -> list[str]:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in out.splitlines() if token in line]


def remove_cgroup_parent(name: str, max_depth: int = 4, *, children: bool = False) -> None:
    """rmdir every empty cgroup called ``name`` in every hierarchy.

    Only the parent itself: a child left inside it is a leak for ``find_leaks`` to
    report, not something to sweep away. ``children=True`` also removes empty
    descendants; use it only for a peer's parent (dockerd's BuildKit leaves an empty
    ``buildkit`` child behind), never for Dockyard's. Relative cgroup paths resolve against the
    caller's own cgroup, which in this sandbox is not the root in every hierarchy, so
    look a few levels down.
    """
    for top in Path("/sys/fs/cgroup").iterdir():
        for dirpath, dirnames, _ in os.walk(top):
            if dirpath[len(str(top)):].count("/") >= max_depth:
                dirnames[:] = []
            if os.path.basename(dirpath) == name:
                dirnames[:] = []
                inner = sorted(os.walk(dirpath), key=lambda w: -len(w[0])) if children else []
                for path in [*(w[0] for w in inner if w[0] != dirpath), dirpath]:
                    try:
                        os.rmdir(path)
                    except OSError:  # not empty: find_leaks will name what is inside
                        pass


def stop_spawners(tmpdir: str) -> None:
    """Ask every monitor spawner serving a run root under ``tmpdir`` to leave: an idle
    one lingers (``DOCKYARD_SPAWNER_LINGER``), which is not a leak of the test."""
    try:
        from dockyard.engine.monitor.client import stop_spawner
    except ImportError:  # a tree from before lingering spawners (benchmarks compare)
        return

    for _, value in processes_with(b"--spawner"):
        directory = os.fsdecode(value)
        if directory.startswith(tmpdir.rstrip("/") + "/"):
            stop_spawner(os.path.dirname(directory))


def processes_with(word: bytes) -> list[tuple[int, bytes]]:
    """(pid, the argument after ``word``) of every process whose command line has
    ``word`` followed by an argument."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if word in args[:-1]:
            found.append((int(pid), args[args.index(word) + 1]))
    return found


def stop_spawners_in(path: Path) -> None:
    """``stop_spawners`` for run roots up to three levels below ``path`` (cheap: a few
    globs, run after every test)."""
    from dockyard.engine.monitor.client import stop_spawner

    for pattern in ("monitor/spawner.pid", "*/monitor/spawner.pid",
                    "*/*/monitor/spawner.pid"):
        for pid_file in path.glob(pattern):
            stop_spawner(pid_file.parent.parent)


def find_leaks(token: str, tmpdir: str) -> dict[str, list[str]]:
    """What still exists that carries ``token`` or lives under ``tmpdir``."""
    leaks = {
        "mounts": _mounts(tmpdir) + _mounts(token),
        "cgroups": _cgroups(token),
        "processes": _processes(tmpdir) + _processes(token),
        "network namespaces": _command_lines(["ip", "netns", "list"], token),
        "links": _command_lines(["ip", "-o", "link", "show"], token),
        "nftables tables": _command_lines(["nft", "list", "tables"], token),
    }
    return {k: v for k, v in leaks.items() if v}
