"""Small helpers for reading and writing cgroupfs files with one-line errors.

A kernel refusal of a value (EINVAL, ERANGE, EBUSY...) becomes ``InvalidConfig``
naming the OCI field, the file and the value; a missing file means the controller or
feature is absent on this host and is reported the same way.
"""

from __future__ import annotations

import errno
import os

from dockyard.errors import InvalidConfig, SystemFailure

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "join",
    "opt_int",
    "read_int",
    "read_kv",
    "read_lines",
    "read_text",
    "section",
    "write",
]


def write(directory: str, name: str, value: object, field: str) -> None:
    """Write ``value`` to ``directory/name``; errors name ``field``, the file and value."""
    path = os.path.join(directory, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidConfig(f"{field}: not supported on this host ({path} does not exist)")
    except OSError as e:
        raise SystemFailure(f"{field}: cannot open {path}: {os.strerror(e.errno or 0).lower()}")
    try:
        os.write(fd, str(value).encode())
    except OSError as e:
        msg = os.strerror(e.errno or 0).lower()
        if e.errno in (errno.EINVAL, errno.ERANGE, errno.EBUSY, errno.EOVERFLOW, errno.ENOSPC):
            raise InvalidConfig(f"{field}: the kernel refused {value} for {path}: {msg}")
        raise SystemFailure(f"{field}: cannot write {value} to {path}: {msg}")
    finally:
        os.close(fd)


def join(directory: str, pid: int) -> None:
    """Move ``pid`` into the cgroup at ``directory`` (its cgroup.procs)."""
    if not os.path.isdir(directory):
        raise SystemFailure(f"cgroup {directory}: does not exist (create it first)")
    try:
        write(directory, "cgroup.procs", pid, f"cgroup {directory}")
    except InvalidConfig as e:  # EINVAL here is the kernel refusing the move
        raise SystemFailure(str(e))


def read_text(directory: str, name: str) -> str:
    """Contents of ``directory/name`` without the trailing newline."""
    with open(os.path.join(directory, name)) as f:
        return f.read().rstrip("\n")


def read_lines(directory: str, name: str) -> list[str]:
    """Non-empty lines of ``directory/name``."""
    return [line for line in read_text(directory, name).split("\n") if line]


def read_int(directory: str, name: str, default: int = 0) -> int:
    """An integer file; ``max`` reads as -1 and a missing file as ``default``."""
    try:
        text = read_text(directory, name).split()[0]
    except (FileNotFoundError, IndexError):
        return default
    return -1 if text == "max" else int(text)


def read_kv(directory: str, name: str) -> dict[str, int]:
    """A flat-keyed file (``key value`` per line) such as memory.stat or cgroup.events."""
    out: dict[str, int] = {}
    try:
        lines = read_lines(directory, name)
    except FileNotFoundError:
        return out
    for line in lines:
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def section(resources: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """``resources[key]`` if present and an object; InvalidConfig if it is not one."""
    value = resources.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidConfig(f"linux.resources.{key}: must be an object")
    return value


def opt_int(obj: Mapping[str, Any], key: str, field: str, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
    """Optional integer ``obj[key]`` within bounds; booleans and floats are refused."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfig(f"{field}.{key}: must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidConfig(f"{field}.{key}: must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidConfig(f"{field}.{key}: must be at most {maximum}, got {value}")
    return value
