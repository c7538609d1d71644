"""``--progress tty`` (and ``auto`` on a terminal): the live view, drawn on a real
pseudo-terminal; a pipe gets the plain view, and ``tty`` without a terminal fails."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

from tests.integration.build.conftest import BuildEnv, write


def in_pty(benv: BuildEnv, *args: str) -> tuple[int, str]:
    """Run ``dockyard`` with stderr on a 120x40 pty; its exit code and what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, DOCKYARD_CGROUP_PARENT=benv.cgroup_parent, TERM="xterm-256color",
               COLUMNS="120")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(benv.dockyard_argv(*args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        code = proc.wait(timeout=120)
    return code, b"".join(chunks).decode(errors="replace")


def test_live_view_on_a_terminal(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {
        "Dockerfile": ("FROM busybox\nCOPY a.txt /\n"
                       "RUN echo first-line; echo from-run; sleep 1\n"),
        "a.txt": "a"})
    code, drawn = in_pty(benv, "build", "--progress", "tty", "-t", "live:1", str(ctx))
    assert code == 0, drawn
    assert "[+] Building" in drawn and "(2/2) FINISHED" in drawn
    assert " => [stage-0 1/2] COPY a.txt /" in drawn
    assert " => [stage-0 2/2] RUN echo first-line" in drawn
    assert " => => # from-run" in drawn  # the running step's output, while it ran
    assert "\x1b[" in drawn and "\x1b[2K" in drawn  # redrawn in place, with colour
    code, drawn = in_pty(benv, "build", "-t", "live:1", str(ctx))  # auto: a terminal
    assert code == 0, drawn
    assert " => CACHED [stage-0 1/2] COPY a.txt /" in drawn
    assert " => CACHED [stage-0 2/2] RUN" in drawn


def test_live_view_shows_the_failing_step(benv: BuildEnv, tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo boom; exit 4\n"})
    code, drawn = in_pty(benv, "build", "--progress", "tty", str(ctx))
    assert code == 1
    assert " => ERROR [stage-0 1/1] RUN echo boom; exit 4" in drawn
    assert " > boom" in drawn
    assert "ERROR: Dockerfile:2: process" in drawn and "exit code: 4" in drawn


def test_pipes_get_the_plain_view_and_tty_needs_a_terminal(benv: BuildEnv,
                                                           tmp_path: Path) -> None:
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN true\n"})
    plain = benv.dockyard("build", str(ctx))
    assert plain.returncode == 0
    assert "#2 [stage-0 1/1] RUN true" in plain.stderr and "\x1b[" not in plain.stderr
    tty = benv.dockyard("build", "--progress", "tty", str(ctx))
    assert tty.returncode != 0
    assert "--progress tty: stderr is not a terminal" in tty.stderr
