"""What the thin client and the warm engine say to each other, and where they meet.

Standard library only, and only modules the interpreter has loaded at start-up: no
``socket``, ``signal`` or ``json``, and not even ``os`` (~1 ms without ``site``) on the
client's side; ``posix`` is what ``os`` wraps.

A request is one ``sendmsg``: a 4-byte little-endian length, then NUL-separated fields
(see ``encode_request``), with the client's stdin, stdout, stderr and an ``O_PATH``
descriptor of its working directory attached (``SCM_RIGHTS``). The engine answers with
ASCII lines: ``P <pid>`` once the worker is forked, then ``X <wait status>`` when it
has ended; or ``R <reason>`` when it will not take the command (the client then runs it
itself).
"""

from __future__ import annotations

import posix
import sys

__all__ = [
    "FORMAT",
    "LOCK_NAME",
    "PID_NAME",
    "SOCKET_NAME",
    "Request",
    "code_key",
    "decode_request",
    "encode_request",
    "run_root_of",
    "warm_dir",
]

FORMAT = "dockyard-warm-1"
SOCKET_NAME = "engine.sock"
LOCK_NAME = "engine.lock"
PID_NAME = "engine.pid"
DEFAULT_RUN_ROOT = "/run/dockyard"  # settings.DEFAULT_RUN_ROOT, without importing pathlib


class Request:
    """One command handed to the warm engine, as the engine reads it."""

    __slots__ = ("argv", "argv0", "code", "env", "umask")

    def __init__(self, code: str, argv0: str, argv: list[str], env: dict[str, str],
                 umask: int) -> None:
        self.code = code  # which interpreter and which dockyard package the client runs
        self.argv0 = argv0
        self.argv = argv
        self.env = env
        self.umask = umask


def encode_request(code: str, argv0: str, argv: list[str], env: dict[bytes, bytes],
                   umask: int) -> bytes:
    """The length-prefixed request: format, code, umask, argv0, argc, argv..., env...
    (``env`` as the process has it: ``posix.environ``)."""
    fields = [_fsencode(f) for f in (FORMAT, code, f"{umask:o}", argv0, str(len(argv)),
                                     *argv)]
    fields += [k + b"=" + v for k, v in env.items()]
    body = b"\0".join(fields)
    return len(body).to_bytes(4, "little") + body


def decode_request(body: bytes) -> Request:
    """The request in ``body`` (without its length); ValueError if it is malformed."""
    import os

    fields = [os.fsdecode(f) for f in body.split(b"\0")]
    if len(fields) < 5 or fields[0] != FORMAT:
        raise ValueError("not a dockyard-warm-1 request")
    argc = int(fields[4])
    if argc < 0 or 5 + argc > len(fields):
        raise ValueError("bad argument count")
    argv = fields[5:5 + argc]
    env: dict[str, str] = {}
    for item in fields[5 + argc:]:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"bad environment entry {item!r}")
        env[key] = value
    return Request(fields[1], fields[3], argv, env, int(fields[2], 8))


def code_key(python: str) -> str:
    """Which code runs a command: the interpreter with Dockyard's dependencies and the
    directory of the imported ``dockyard`` package (client and engine must agree)."""
    package = sys.modules["dockyard"].__file__ or ""
    return f"{python}:{package.rpartition('/')[0]}"


def _fsencode(text: str) -> bytes:
    """``os.fsencode`` without ``os``."""
    return text.encode(sys.getfilesystemencoding(), "surrogateescape")


def environ(name: str) -> str | None:
    """``os.environ.get`` without ``os``."""
    value = posix.environ.get(_fsencode(name))
    return None if value is None else value.decode(sys.getfilesystemencoding(),
                                                   "surrogateescape")


def run_root_of(argv: list[str]) -> str:
    """The run root a command will use: ``--run-root`` before the verb, else the
    environment, else the default (as ``Roots.from_env`` decides it)."""
    found = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-"):
            break  # the verb: later flags belong to it
        if arg == "--run-root" and i + 1 < len(argv):
            found = argv[i + 1]
            i += 1
        elif arg.startswith("--run-root="):
            found = arg.split("=", 1)[1]
        elif arg == "--root":
            i += 1
        i += 1
    return found or environ("DOCKYARD_RUN_ROOT") or DEFAULT_RUN_ROOT


def warm_dir(run_root: str) -> str:
    """``$RUN/warm``: the engine's socket, lock, pid and log."""
    return run_root.rstrip("/") + "/warm"
