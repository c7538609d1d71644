"""Docker's error answers: ``{"message": ...}`` with the status docker uses per class."""

from __future__ import annotations

from dockyard import errors

__all__ = ["ApiError", "status_for"]


class ApiError(errors.DockyardError):
    """An error the API itself raises with an explicit HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# Most specific first: CommandNotFound is an ExecFailed, InvalidConfig an InvalidArgument.
_STATUS: list[tuple[type[BaseException], int]] = [
    (errors.NotFound, 404),
    (errors.AlreadyExists, 409),
    (errors.Conflict, 409),
    (errors.InvalidArgument, 400),
    (errors.ExecFailed, 400),  # docker: "OCI runtime create failed: ... not found" is 400
    (errors.Forbidden, 403),
]


def status_for(err: BaseException) -> int:
    """The HTTP status docker answers an error of this class with."""
    if isinstance(err, ApiError):
        return err.status
    for cls, status in _STATUS:
        if isinstance(err, cls):
            return status
    return 500
