"""Running the OCI runtime's verbs (create, start, delete) for the monitor.

A runc-compatible command runs through ``posix_spawn``; the built-in runtime's
(``<python> -m dockyard.runtime``) runs in a forked child that calls its command-line
``main``, which saves an interpreter start per verb. Either way the child starts with
every signal at its default and none blocked.
Imported by the monitor process: standard library, light modules only.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module: signal imports enum
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing would cost memory
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["builtin_child", "is_builtin", "run_verb", "runtime_error", "status_code"]

# Every catchable signal except glibc's internal 32 and 33: the runtime's child becomes
# the container's process, and ignored signals survive execve.
_DEFAULT_SIGNALS = tuple(n for n in range(1, _signal.NSIG) if n not in (9, 19, 32, 33))


def is_builtin(runtime: list[str]) -> bool:
    """Whether ``runtime`` is the built-in runtime's command (``<python> -m dockyard.runtime``)."""
    return runtime[1:3] == ["-m", "dockyard.runtime"]


def run_verb(argv: list[str], stdin: int, stdout: int, stderr: int,
             then: list[str] | None = None) -> int:
    """Spawn a helper (the runtime) with the given stdio; return its pid.

    ``then`` (built-in runtime only): a second command line the same child runs once
    the first has succeeded (``create`` then ``start``: one fork and one import of the
    runtime instead of two)."""
    if is_builtin(argv):
        return _run_builtin(argv[3:], stdin, stdout, stderr,
                            then[3:] if then is not None else None)
    if then is not None:
        raise ValueError("chained verbs need the built-in runtime")
    null_env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR")}
    return os.posix_spawnp(argv[0], argv, null_env, file_actions=[
        (os.POSIX_SPAWN_DUP2, stdin, 0),
        (os.POSIX_SPAWN_DUP2, stdout, 1),
        (os.POSIX_SPAWN_DUP2, stderr, 2),
    ], setsigdef=_DEFAULT_SIGNALS, setsigmask=())


def _run_builtin(args: list[str], stdin: int, stdout: int, stderr: int,
                 then: list[str] | None = None) -> int:
    """Our own runtime's command line in a forked child: no interpreter start per verb."""
    pid = os.fork()
    if pid:
        return pid
    builtin_child(args, then, stdin, stdout, stderr)


def builtin_child(args: list[str], then: list[str] | None, stdin: int, stdout: int,
                  stderr: int) -> NoReturn:
    """In a forked child: be ``python -m dockyard.runtime ARGS`` (then ``THEN`` if ARGS
    succeeded) with the given stdio and the signal state of a fresh process (Python
    itself ignores SIGPIPE and SIGXFSZ); exit with its status."""
    code = 1
    try:
        _signal.set_wakeup_fd(-1)
        for n in _DEFAULT_SIGNALS:
            try:
                _signal.signal(n, _signal.SIG_DFL)
            except (OSError, ValueError, RuntimeError):
                pass
        _signal.pthread_sigmask(_signal.SIG_SETMASK, ())
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        from dockyard.runtime.cli.main import main as runtime_main

        code = runtime_main(args)
        if code == 0 and then is not None:
            code = runtime_main(then)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        try:
            os.write(2, f"dockyard-runtime: {type(e).__name__}: {e}\n".encode())
        except OSError:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


def status_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def runtime_error(text: str) -> str:
    """The last meaningful line a runtime printed (runc's ``level=error msg=...``)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    if 'msg="' in last:
        last = last.split('msg="', 1)[1].rsplit('"', 1)[0].replace('\\"', '"')
    return last
