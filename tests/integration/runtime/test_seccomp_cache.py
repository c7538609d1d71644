"""``create`` and ``exec`` keep compiled seccomp filters under ``<root>/.seccomp``.

No container id can start with a dot, so the cache never takes a container's name.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.integration.runtime.conftest import Bundle, run_cmd

_FILTER = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


def test_filter_is_cached_in_the_state_root_and_reused(runtime_cmd: list[str],
                                                       state_root: Path,
                                                       bundle: Bundle) -> None:
    bundle.config["linux"]["seccomp"] = _FILTER
    bundle.write(args=["sh", "-c", "mkdir /tmp/x 2>&1 || echo refused"])
    base = [*runtime_cmd, "--root", str(state_root)]
    r = run_cmd([*base, "run", "-b", str(bundle.path), "sc1"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "refused"
    cache = state_root / ".seccomp"
    files = sorted(cache.glob("*.bpf"))
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(cache).st_mode) & 0o077 == 0
    mtime = files[0].stat().st_mtime_ns
    # A second container with the same filter reads it back; it is still enforced.
    r = run_cmd([*base, "run", "-b", str(bundle.path), "sc2"])
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "refused", r.stderr
    assert sorted(cache.glob("*.bpf")) == files and files[0].stat().st_mtime_ns == mtime


def test_a_corrupt_cache_entry_is_not_trusted(runtime_cmd: list[str], state_root: Path,
                                              bundle: Bundle) -> None:
    bundle.config["linux"]["seccomp"] = _FILTER
    bundle.write(args=["sh", "-c", "mkdir /tmp/x 2>&1 || echo refused"])
    base = [*runtime_cmd, "--root", str(state_root)]
    assert run_cmd([*base, "run", "-b", str(bundle.path), "sc3"]).returncode == 0
    (entry,) = (state_root / ".seccomp").glob("*.bpf")
    entry.write_bytes(b"garbage")
    r = subprocess.run([*base, "run", "-b", str(bundle.path), "sc4"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "refused"
