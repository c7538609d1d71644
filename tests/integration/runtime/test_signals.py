"""The container's process starts with the signal state of a fresh process.

Regression: ignored dispositions and the blocked mask of whoever ran the runtime (Python
ignores SIGPIPE and SIGXFSZ; the engine's monitor ignores SIGTERM) survived the exec, so
a PID 1 with ``trap 'exit 42' TERM`` was killed on stop (137) instead of exiting 42.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.runtime.conftest import Bundle, run_cmd


def _hostile_parent() -> None:
    """Run in the runtime's parent before exec: what a careless caller passes on."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1})


def test_pid1_has_nothing_ignored_or_blocked(runtime_cmd: list[str], state_root: Path,
                                             bundle: Bundle) -> None:
    bundle.write(args=["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"])
    r = subprocess.run([*runtime_cmd, "--root", str(state_root), "run", "-b",
                        str(bundle.path), "sig1"], capture_output=True, text=True,
                       timeout=30, preexec_fn=_hostile_parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["SigBlk:", "0000000000000000", "SigIgn:", "0000000000000000"]


def test_exec_process_has_nothing_ignored_or_blocked(runtime_cmd: list[str],
                                                     state_root: Path,
                                                     bundle: Bundle, tmp_path: Path) -> None:
    bundle.write(args=["sleep", "30"])
    base = [*runtime_cmd, "--root", str(state_root)]
    # (no pipes: the detached PID 1 would hold them open)
    started = subprocess.run([*base, "run", "-d", "-b", str(bundle.path), "sig2"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, timeout=30)
    assert started.returncode == 0
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({**bundle.process, "args": [
        "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]}))
    r = subprocess.run([*base, "exec", "--process", str(proc), "sig2"], capture_output=True,
                       text=True, timeout=30, preexec_fn=_hostile_parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["SigBlk:", "0000000000000000", "SigIgn:", "0000000000000000"]


def test_trap_on_term_runs_when_the_caller_ignored_term(runtime_cmd: list[str],
                                                         state_root: Path,
                                                         bundle: Bundle) -> None:
    bundle.write(args=["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done"])
    base = [*runtime_cmd, "--root", str(state_root)]
    proc = subprocess.Popen([*base, "run", "-b", str(bundle.path), "sig3"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            preexec_fn=_hostile_parent)
    try:
        deadline = time.monotonic() + 10
        while run_cmd([*base, "state", "sig3"]).stdout.find('"running"') < 0:
            assert time.monotonic() < deadline, "container never ran"
            time.sleep(0.02)
        time.sleep(0.3)  # let sh set its trap
        assert run_cmd([*base, "kill", "sig3", "TERM"]).returncode == 0
        assert proc.wait(timeout=10) == 42
    finally:
        proc.kill()
        proc.wait()
