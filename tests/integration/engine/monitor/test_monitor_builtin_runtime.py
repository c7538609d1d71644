"""The monitor drives Dockyard's own runtime (``python -m dockyard.runtime``) like runc."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
from monitor_harness import Launched

from dockyard.engine.logs import read_logs
from dockyard.engine.monitor import monitor_pid, read_state, wait_exit

DRIVER = str(Path(__file__).with_name("attach_driver.py"))


def test_exit_code_logs_and_cleanup(launch: Callable[..., Launched]) -> None:
    c = launch(["sh", "-c", "echo out; echo err >&2; exit 9"], runtime="dockyard")
    assert wait_exit(c.run_dir, c.container_dir, timeout=30) == 9
    st = read_state(c.container_dir)
    assert st is not None and st["ExitCode"] == 9 and st["Status"] == "exited"
    assert [(e.stream, e.data) for e in read_logs(c.container_dir, c.id, "json-file")] == [
        ("stdout", b"out\n"), ("stderr", b"err\n")]
    assert monitor_pid(c.run_dir) is None


def test_tty_through_the_builtin_runtime(launch: Callable[..., Launched]) -> None:
    c = launch(["sh"], tty=True, stdin=True, runtime="dockyard")
    child = pexpect.spawn(sys.executable, [DRIVER, str(c.run_dir)], dimensions=(33, 77),
                          timeout=15)
    try:
        for _ in range(50):
            child.send("\r")
            if child.expect([r"# ", pexpect.TIMEOUT], timeout=0.3) == 0:
                break
        child.sendline("stty size")
        child.expect(r"33 77\r\n")
        child.sendline("exit 2")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 2
    finally:
        child.close(force=True)
    assert wait_exit(c.run_dir, c.container_dir, timeout=30) == 2
