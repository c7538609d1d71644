"""Fixtures of the operations tests: the engine tests' ``engine`` over a busybox lower dir."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.integration.engine.conftest import engine, images, store_engine  # noqa: F401

__all__ = ["eventually"]


def eventually(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(every)
        value = check()
    return value
