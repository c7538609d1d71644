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


def _processes(marker: str) -> list[str]:
    found = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
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
