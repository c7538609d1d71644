"""``-m 32m`` with an allocator: the kernel's OOM killer ends it, and State says so."""

from __future__ import annotations

from typing import Any

MB = 1024 * 1024


def test_memory_limit_oom_kills_and_is_recorded(engine: Any) -> None:
    # dd allocates its whole block at once: 256 MiB against 32 MiB (+32 MiB swap).
    engine.create("hog", {"Image": "busybox",
                          "Cmd": ["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]},
                  {"NetworkMode": "none", "Memory": 32 * MB})
    engine.start("hog")
    assert engine.wait("hog")["StatusCode"] == 137
    state = engine.inspect("hog")["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    assert state["Status"] == "exited"


def test_within_the_limit_no_oom(engine: Any) -> None:
    engine.create("fits", {"Image": "busybox",
                           "Cmd": ["dd", "if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"]},
                  {"NetworkMode": "none", "Memory": 32 * MB})
    engine.start("fits")
    assert engine.wait("fits")["StatusCode"] == 0
    assert engine.inspect("fits")["State"]["OOMKilled"] is False
