"""A container's saved state under ``--root`` and the status it is in now.

``<root>/<id>/state.json`` is written atomically (temp name, rename). The status
is not stored but derived, as runc does: ``created`` while the init waits on
``exec.fifo``, ``running`` once the fifo is gone, ``paused`` when the cgroup is frozen,
``stopped`` when the init is gone (its start time guards against pid reuse).
Plain classes and ``os.path`` only: this module is imported on every start.
"""

from __future__ import annotations

import os

from dockyard.errors import AlreadyExists, Conflict, Corrupt, InvalidArgument, NotFound

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any, TypeAlias

    StrPath: TypeAlias = "str | os.PathLike[str]"

__all__ = [
    "DEFAULT_STATE_ROOT",
    "FIFO",
    "ContainerState",
    "Status",
    "check_id",
    "container_dir",
    "list_ids",
    "load",
    "process_start_time",
    "require",
    "reserve",
]

DEFAULT_STATE_ROOT = "/run/dockyard/runtime"
FIFO = "exec.fifo"
_ID_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ID_REST = _ID_FIRST | frozenset("_.+-")


class Status:
    """The OCI statuses and which verbs each one allows (runc's rules)."""

    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"

    @staticmethod
    def can_start(status: str) -> bool:
        return status == Status.CREATED

    @staticmethod
    def can_kill(status: str) -> bool:
        return status in (Status.CREATED, Status.RUNNING, Status.PAUSED)

    @staticmethod
    def can_delete(status: str) -> bool:
        """Without force: a stopped container, or a created one that never ran."""
        return status in (Status.STOPPED, Status.CREATED, Status.CREATING)

    @staticmethod
    def can_pause(status: str) -> bool:
        return status in (Status.CREATED, Status.RUNNING)

    @staticmethod
    def can_resume(status: str) -> bool:
        return status == Status.PAUSED

    @staticmethod
    def can_exec(status: str) -> bool:
        return status in (Status.CREATED, Status.RUNNING)


def check_id(container_id: str) -> str:
    """Refuse ids that could escape the state root or confuse a shell."""
    if (not container_id or len(container_id) > 1024 or container_id[0] not in _ID_FIRST
            or not set(container_id) <= _ID_REST):
        raise InvalidArgument(f"invalid container id: {container_id!r}")
    return container_id


def container_dir(state_root: StrPath, container_id: str) -> str:
    return os.path.join(os.fspath(state_root), check_id(container_id))


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat, or None when the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


_FIELDS = ("id", "pid", "bundle", "rootfs", "created", "start_time", "cgroups_path",
           "annotations", "hooks", "owner", "oci_version")


class ContainerState:
    """What later verbs need to act on a container created earlier."""

    def __init__(self, id: str, pid: int, bundle: str, rootfs: str, created: str,
                 start_time: int, cgroups_path: str = "",
                 annotations: dict[str, str] | None = None,
                 hooks: dict[str, Any] | None = None, owner: str = "",
                 oci_version: str = "", directory: str = "") -> None:
        self.id = id
        self.pid = pid
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.start_time = start_time
        self.cgroups_path = cgroups_path
        self.annotations = annotations or {}
        self.hooks = hooks or {}
        self.owner = owner
        self.oci_version = oci_version
        self.directory = directory

    @property
    def dir(self) -> str:
        return self.directory

    def alive(self) -> bool:
        return self.pid > 0 and process_start_time(self.pid) == self.start_time

    def status(self) -> str:
        if not self.alive():
            return Status.STOPPED
        if os.path.lexists(os.path.join(self.directory, FIFO)):
            return Status.CREATED
        if self.cgroups_path and _frozen(self):
            return Status.PAUSED
        return Status.RUNNING

    def to_oci(self) -> dict[str, Any]:
        """runc's ``state`` JSON."""
        status = self.status()
        out: dict[str, Any] = {
            "ociVersion": self.oci_version, "id": self.id,
            "pid": self.pid if status != Status.STOPPED else 0,
            "status": status, "bundle": self.bundle, "rootfs": self.rootfs,
            "created": self.created, "owner": self.owner,
        }
        if self.annotations:
            out["annotations"] = self.annotations
        return out

    def save(self) -> None:
        """Write state.json atomically (temp name, rename).

        No fsync: the state root is volatile (tmpfs under /run) and means nothing after
        a reboot; the rename alone keeps readers from ever seeing half a file."""
        from dockyard.runtime.jsonfast import dumps

        data = {k: getattr(self, k) for k in _FIELDS}
        path = os.path.join(self.directory, "state.json")
        tmp = os.path.join(self.directory, ".state.json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, dumps(data).encode())
        finally:
            os.close(fd)
        os.rename(tmp, path)


def _frozen(st: ContainerState) -> bool:
    from dockyard.runtime.cgroup_glue import manager

    return bool(manager(st.cgroups_path, st.id).frozen())


def load(state_root: StrPath, container_id: str) -> ContainerState:
    """The saved state of ``container_id``; ``NotFound`` when there is none."""
    d = container_dir(state_root, container_id)
    path = os.path.join(d, "state.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"container does not exist: {container_id}") from None
    from dockyard.runtime.jsonfast import loads

    try:
        data = loads(raw)
        return ContainerState(**{k: data[k] for k in _FIELDS if k in data}, directory=d)
    except (ValueError, TypeError) as exc:
        raise Corrupt(f"{path}: unreadable state: {exc}") from None


def list_ids(state_root: StrPath) -> list[str]:
    try:
        names = os.listdir(state_root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names
                  if os.path.exists(os.path.join(os.fspath(state_root), n, "state.json")))


def reserve(state_root: StrPath, container_id: str) -> str:
    """Create the container's state directory; ``AlreadyExists`` when taken."""
    d = container_dir(state_root, container_id)
    os.makedirs(state_root, mode=0o700, exist_ok=True)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        raise AlreadyExists(f"container with id exists: {container_id}") from None
    return d


def require(st: ContainerState, ok: bool, verb: str) -> None:
    if not ok:
        raise Conflict(f"cannot {verb} container {st.id} in status {st.status()}")
