"""``run -it`` and ``attach`` through a real pty: commands, resize, detach, re-attach."""

from __future__ import annotations

import os

import pexpect
import pytest

from tests.integration.cli.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _spawn(d: Dockyard, *args: str) -> pexpect.spawn:
    argv = d.argv(*args)
    child = pexpect.spawn(argv[0], argv[1:], env=d.env, timeout=20, encoding="utf-8")
    child.setwinsize(30, 100)
    return child


def _prompt(child: pexpect.spawn) -> None:
    """Wait for a shell prompt. The first one may come before we are attached, and
    input typed before that is discarded by the shell's line editor, as on any
    terminal: so ask again with an empty line until a prompt shows."""
    for _ in range(20):
        try:
            child.expect("# ", timeout=1)
            return
        except pexpect.TIMEOUT:
            child.sendline("")
    child.expect("# ")


def test_run_it_resize_and_exit_code(dockyard: Dockyard) -> None:
    child = _spawn(dockyard, "run", "-it", "--rm", "--network", "none", "busybox", "sh")
    child.expect("# ")  # the first prompt, written before the command attached, shows
    child.sendline("echo $((6*7)); stty size")
    child.expect("42")
    child.expect("30 100")
    child.setwinsize(40, 120)
    child.sendline("stty size")
    child.expect("40 120")
    child.sendline("exit 5")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert dockyard.containers() == []


def test_detach_and_reattach(dockyard: Dockyard) -> None:
    child = _spawn(dockyard, "run", "-it", "--name", "box", "--network", "none", "busybox",
                   "sh")
    _prompt(child)
    child.sendline("echo first-$((1+1))")
    child.expect("first-2")
    child.send("\x10\x11")  # ctrl-p ctrl-q
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert dockyard.ok("inspect", "-f", "{{.State.Running}}", "box") == "true\n"
    again = _spawn(dockyard, "attach", "box")
    _prompt(again)
    again.sendline("echo second-$((2+2))")
    again.expect("second-4")
    again.sendline("exit 3")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 3
    assert dockyard.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "box") == \
        "exited 3\n"


def test_exec_it(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "host", "--network", "none", "busybox", "sleep", "60")
    child = _spawn(dockyard, "exec", "-it", "host", "sh")
    child.expect("# ")
    child.sendline("tty; echo $((3*4))")
    child.expect("/dev/pts/")
    child.expect("12")
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4
    assert dockyard.ok("inspect", "-f", "{{.State.Running}}", "host") == "true\n"


def test_exec_it_has_the_callers_window_size(dockyard: Dockyard) -> None:
    # regression: `exec -t` left the pty at 0x0, so `stty size` failed inside
    dockyard.ok("run", "-d", "--name", "sized", "--network", "none", "busybox", "sleep",
                "60")
    child = _spawn(dockyard, "exec", "-it", "sized", "sh")
    _prompt(child)
    child.sendline("stty size")
    child.expect("30 100")
    child.setwinsize(45, 132)
    child.sendline("stty size")
    child.expect("45 132")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
