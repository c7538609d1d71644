"""``run -it`` through the monitor, driven by pexpect on a real pty."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
from monitor_harness import Launched

from dockyard.engine.monitor import read_state, resize, wait_exit

DRIVER = str(Path(__file__).with_name("attach_driver.py"))


def _attach(c: Launched) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, [DRIVER, str(c.run_dir)], dimensions=(24, 80),
                          timeout=15)
    _prompt(child)
    return child


def _prompt(child: pexpect.spawn) -> None:
    """Wait for the shell's prompt (ash flushes input typed before it is ready)."""
    for _ in range(50):
        child.send("\r")
        if child.expect([r"# ", pexpect.TIMEOUT], timeout=0.3) == 0:
            return
    raise AssertionError("no shell prompt")


def test_tty_prompt_resize_detach_and_reattach(launch: Callable[..., Launched]) -> None:
    c = launch(["sh"], tty=True, stdin=True)
    child = _attach(c)
    try:
        child.sendline("stty size")
        child.expect(r"24 80\r\n")
        child.setwinsize(40, 123)  # SIGWINCH to the driver → resize frame → TIOCSWINSZ
        child.sendline("stty size")
        child.expect(r"40 123\r\n")
        child.sendline("echo $((6*7))")
        child.expect(r"42\r\n")
        child.send("\x10\x11")  # ctrl-p ctrl-q
        child.expect(r"\[detached\]")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 100
    finally:
        child.close(force=True)
    st = read_state(c.container_dir)
    assert st is not None and st["Status"] == "running"
    resize(c.run_dir, 30, 90)  # the API's resize, without a terminal
    child = _attach(c)
    try:
        child.setwinsize(30, 90)
        child.sendline("stty size; echo again")
        child.expect(r"30 90\r\n")
        child.expect(r"again\r\n")
        child.sendline("exit 3")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 3
    finally:
        child.close(force=True)
    assert wait_exit(c.run_dir, c.container_dir, timeout=20) == 3
    # With a tty, docker logs shows the terminal's output as stdout.
    from dockyard.engine.logs import read_logs

    text = b"".join(e.data for e in read_logs(c.container_dir, c.id, "json-file"))
    assert {e.stream for e in read_logs(c.container_dir, c.id, "json-file")} == {"stdout"}
    assert b"40 123" in text and b"again" in text


def test_detach_keys_are_configurable(launch: Callable[..., Launched], tmp_path: Path) -> None:
    c = launch(["sh"], tty=True, stdin=True)
    script = tmp_path / "drv.py"
    script.write_text(
        "import sys\n"
        "from dockyard.engine.monitor import attach, parse_detach_keys\n"
        "code = attach(sys.argv[1], detach_keys=parse_detach_keys('ctrl-x,x'))\n"
        "sys.exit(100 if code is None else code)\n")
    child = pexpect.spawn(sys.executable, [str(script), str(c.run_dir)], timeout=15)
    try:
        _prompt(child)
        child.send("\x10\x11")  # the default keys are now ordinary input
        child.sendline("echo still-here")
        child.expect(r"still-here\r\n")
        child.send("\x18x")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 100
    finally:
        child.close(force=True)
    st = read_state(c.container_dir)
    assert st is not None and st["Status"] == "running"
