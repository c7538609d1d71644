"""Map the engine's errors to Docker's exit codes and one-line messages."""

from __future__ import annotations

from dockyard import errors

__all__ = ["exit_code_for"]

# Docker: 125 = the engine failed, 126 = the command cannot be invoked, 127 = not found.
ENGINE_ERROR = 125
CANNOT_EXECUTE = 126
COMMAND_NOT_FOUND = 127


def exit_code_for(err: BaseException) -> int:
    """Docker's exit code for an error raised before the container's own process ran."""
    if isinstance(err, errors.CommandNotFound):
        return COMMAND_NOT_FOUND
    if isinstance(err, errors.ExecFailed):
        return CANNOT_EXECUTE
    return ENGINE_ERROR
