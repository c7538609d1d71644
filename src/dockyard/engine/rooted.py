"""Look up paths inside a container's root without letting symlinks leave it.

The engine reads a few files of an image (``/etc/passwd``, ``/etc/group``) and checks the
command before starting it. A hostile image may make those symlinks to host paths, so
every component is resolved by hand: absolute link targets restart at the container's
root and ``..`` never climbs above it (like openat2's RESOLVE_IN_ROOT).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_LINKS", "find_command", "read_text", "resolve"]

MAX_LINKS = 40


def resolve(root: Path, path: str) -> Path:
    """The host path that ``path`` names inside ``root`` (it may not exist)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    done: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = root.joinpath(*done, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            done.append(part)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise OSError(40, "too many levels of symbolic links", path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    return root.joinpath(*done)


def read_text(root: Path, path: str, limit: int = 4 * 1024 * 1024) -> str | None:
    """Contents of a regular file inside ``root``, or None if it is missing or not a file."""
    try:
        host = resolve(root, path)
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


def find_command(root: Path, command: str, path_env: str, cwd: str = "/") -> str:
    """Check ``command`` the way exec(3p) would find it in the container.

    Returns the resolved in-container path; raises CommandNotFound (docker's 127) or
    ExecFailed (126) with the message runc gives.
    """
    from dockyard.errors import CommandNotFound, ExecFailed

    if "/" in command:
        candidates = [command if command.startswith("/") else os.path.join(cwd, command)]
    else:
        candidates = [os.path.join(d or ".", command) for d in path_env.split(":")]
        candidates = [c if c.startswith("/") else os.path.join(cwd, c) for c in candidates]
    denied = ""
    for cand in candidates:
        try:
            st = os.stat(resolve(root, cand), follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if "/" in command:
                raise ExecFailed(f'exec: "{command}": is a directory')
            continue
        if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
            denied = cand
            if "/" in command:
                break
            continue
        return cand
    if denied:
        raise ExecFailed(f'exec: "{command}": permission denied')
    if "/" in command:
        raise CommandNotFound(
            f'exec: "{command}": stat {command}: no such file or directory')
    raise CommandNotFound(f'exec: "{command}": executable file not found in $PATH')
