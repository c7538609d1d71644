"""Talking to a shell on a pseudo-terminal (pexpect) in the interactive tests."""

from __future__ import annotations

from typing import Any


def wait_for_prompt(child: Any, prompt: str = "# ", tries: int = 20) -> None:
    """Wait for a shell prompt on ``child`` (a ``pexpect.spawn``). The first one may
    come before the client is attached, and input typed before that is discarded by
    the shell's line editor, as on any terminal: so ask again with an empty line each
    second until a prompt shows, then wait once more with the child's own timeout."""
    import pexpect

    for _ in range(tries):
        try:
            child.expect(prompt, timeout=1)
            return
        except pexpect.TIMEOUT:
            child.sendline("")
    child.expect(prompt)
