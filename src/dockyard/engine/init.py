"""``--init``: a tiny reaping PID 1, bind-mounted read-only at /dev/init.

Docker ships tini as docker-init. We write our own, in C, because a container image may
hold no interpreter at all: a static binary runs anywhere. It is compiled once per
source version with the host's C compiler (``gcc -static -Os``) into
``$ROOT/bin/dockyard-init-<hash>``; the build is a few hundred ms, later runs reuse it.

What it does: forks the command (``/dev/init -- cmd args...``), forwards every catchable
signal to it, reaps every child that is reparented to it, and exits with the command's
status (128+signal if it was killed), like tini.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from dockyard.errors import SystemFailure

__all__ = ["INIT_SOURCE", "ensure_init"]

INIT_SOURCE = r"""
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child = 0;

static void forward(int sig) { if (child > 0) kill(child, sig); }

int main(int argc, char **argv) {
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
    if (first >= argc) { static const char m[] = "dockyard-init: no command\n";
        write(2, m, sizeof m - 1); return 2; }
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = forward;
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) sigaction(s, &sa, NULL);
    sigset_t all, old; sigfillset(&all); sigprocmask(SIG_BLOCK, &all, &old);
    child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        struct sigaction dfl; memset(&dfl, 0, sizeof dfl); dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < 65; s++) sigaction(s, &dfl, NULL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        setpgid(0, 0);
        execvp(argv[first], argv + first);
        int code = errno == ENOENT ? 127 : 126;
        static const char m[] = "dockyard-init: exec failed\n"; write(2, m, sizeof m - 1);
        _exit(code);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    for (;;) {
        int status; pid_t p = waitpid(-1, &status, 0);
        if (p < 0) { if (errno == EINTR) continue; return 1; }
        if (p == child) {
            while (waitpid(-1, NULL, WNOHANG) > 0) {}
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
    }
}
"""


def ensure_init(bin_dir: Path) -> Path:
    """The path of the compiled init, building it if this version is missing."""
    digest = hashlib.sha256(INIT_SOURCE.encode()).hexdigest()[:16]
    target = bin_dir / f"dockyard-init-{digest}"
    if target.exists():
        return target
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise SystemFailure("--init needs a C compiler (apt-get install gcc libc6-dev) "
                            "to build dockyard-init once")
    bin_dir.mkdir(parents=True, exist_ok=True)
    src = bin_dir / f".init-{os.getpid()}.c"
    tmp = bin_dir / f".init-{os.getpid()}"
    src.write_text(INIT_SOURCE)
    try:
        proc = subprocess.run([cc, "-static", "-Os", "-s", "-o", str(tmp), str(src)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemFailure(f"building dockyard-init failed: "
                                f"{proc.stderr.strip().splitlines()[-1:]}")
        os.chmod(tmp, 0o755)
        os.rename(tmp, target)
    finally:
        for p in (src, tmp):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
    return target
