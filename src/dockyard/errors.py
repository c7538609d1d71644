"""The one error tree every layer raises from.

::

    DockyardError                 base; str(err) is a one-line, lower-case message
    ├── NotFound                  no such container, image, blob, network, volume...
    ├── AlreadyExists             a name, tag or id is taken
    ├── Conflict                  the object is in the wrong state for the request
    ├── InvalidArgument           bad user input: a flag, a config field, a reference
    │   └── InvalidConfig         an OCI config.json or image config that is malformed
    ├── Corrupt                   stored data failed a check (digest mismatch, bad tar)
    ├── Forbidden                 refused for safety (path escapes, hostile layer entry)
    ├── ExecFailed                the container's command could not be executed
    │   └── CommandNotFound       the container's command does not exist
    └── SystemFailure             the kernel or a helper failed unexpectedly

Lower layers only raise; exit codes (125/126/127) and HTTP statuses are chosen in
``cli/`` and ``api/`` from the class. Messages name the object or path they are about.
Standard library only: the runtime imports this module.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "CommandNotFound",
    "Conflict",
    "Corrupt",
    "DockyardError",
    "ExecFailed",
    "Forbidden",
    "InvalidArgument",
    "InvalidConfig",
    "NotFound",
    "SystemFailure",
]


class DockyardError(Exception):
    """Base of every error Dockyard raises on purpose."""


class NotFound(DockyardError):
    """The named object does not exist."""


class AlreadyExists(DockyardError):
    """The name, tag or id is already taken."""


class Conflict(DockyardError):
    """The object exists but is in a state that forbids the request."""


class InvalidArgument(DockyardError):
    """User input is wrong: a flag value, a reference, a field."""


class InvalidConfig(InvalidArgument):
    """A configuration document (OCI config.json, image config) is malformed."""


class Corrupt(DockyardError):
    """Stored or received data failed verification."""


class Forbidden(DockyardError):
    """Refused for safety, e.g. a path that would escape its root."""


class ExecFailed(DockyardError):
    """The container's process could not be executed (docker exit code 126)."""


class CommandNotFound(ExecFailed):
    """The container's command does not exist in its root (docker exit code 127)."""


class SystemFailure(DockyardError):
    """A system call or helper failed in a way the caller could not prevent."""
