"""One command in a process forked from the warm engine.

The worker takes on the client's stdio, working directory, umask, environment and
argv, so the command behaves as if the client had run it (``cli.main``), and returns
the exit code the client will exit with.
"""

from __future__ import annotations

import atexit
import io
import os
import sys
import traceback

from dockyard.cli.warm.wire import Request

__all__ = ["run_command"]


def run_command(req: Request, fds: list[int]) -> int:
    """Run ``req`` with the client's descriptors ``fds`` (stdin, stdout, stderr, cwd)."""
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.umask(req.umask)
    os.environ.clear()
    os.environ.update(req.env)
    sys.argv = [req.argv0, *req.argv]
    _reopen_stdio(unbuffered=bool(req.env.get("PYTHONUNBUFFERED")))
    try:
        from dockyard.cli.main import main

        code: object = main(req.argv)
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:
        traceback.print_exc()
        code = 1
    return _finish(code)


def _finish(code: object) -> int:
    """Exit as the interpreter would: exit handlers, flushed streams, the code."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # what Python exits with when stdout cannot be flushed
    return code


def _reopen_stdio(unbuffered: bool) -> None:
    """New stdio objects over descriptors 0-2, buffered as the interpreter would."""
    def writer(fd: int, errors: str, line: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, "w", closefd=False)
        if unbuffered:
            return io.TextIOWrapper(raw, encoding="utf-8", errors=errors, write_through=True)
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors=errors,
                                line_buffering=line)

    sys.stdin = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8",
        errors="surrogateescape")
    sys.stdout = writer(1, "surrogateescape", os.isatty(1))
    sys.stderr = writer(2, "backslashreplace", True)
    # Some libraries write to the originals.
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = (  # type: ignore[misc]
        sys.stdin, sys.stdout, sys.stderr)
