"""A container's saved state under ``--root`` and the status it is in now.

``<root>/<id>/state.json`` is written atomically (temp name, fsync, rename). The status
is not stored but derived, as runc does: ``created`` while the init waits on
``exec.fifo``, ``running`` once the fifo is gone, ``paused`` when the cgroup is frozen,
``stopped`` when the init is gone (its start time guards against pid reuse).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from dockyard.errors import AlreadyExists, Conflict, Corrupt, InvalidArgument, NotFound

__all__ = [
    "DEFAULT_STATE_ROOT",
    "ContainerState",
    "Status",
    "check_id",
    "container_dir",
    "list_ids",
    "load",
    "process_start_time",
]

DEFAULT_STATE_ROOT = Path("/run/dockyard/runtime")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$")
FIFO = "exec.fifo"


class Status(StrEnum):
    """The OCI statuses."""

    CREATING = "creating"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"

    def can_start(self) -> bool:
        return self is Status.CREATED

    def can_kill(self) -> bool:
        return self in (Status.CREATED, Status.RUNNING, Status.PAUSED)

    def can_delete(self) -> bool:
        return self in (Status.STOPPED, Status.CREATING)

    def can_pause(self) -> bool:
        return self in (Status.CREATED, Status.RUNNING)

    def can_resume(self) -> bool:
        return self is Status.PAUSED


def check_id(container_id: str) -> str:
    """Refuse ids that could escape the state root or confuse a shell."""
    if not _ID.match(container_id):
        raise InvalidArgument(f"invalid container id: {container_id!r}")
    return container_id


def container_dir(state_root: Path, container_id: str) -> Path:
    return Path(state_root) / check_id(container_id)


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


@dataclass
class ContainerState:
    """What later verbs need to act on a container created earlier."""

    id: str
    pid: int
    bundle: str
    rootfs: str
    created: str
    start_time: int
    cgroups_path: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)
    namespaces: list[dict[str, str]] = field(default_factory=list)
    owner: str = ""
    oci_version: str = ""
    directory: str = ""

    @property
    def dir(self) -> Path:
        return Path(self.directory)

    def alive(self) -> bool:
        return self.pid > 0 and process_start_time(self.pid) == self.start_time

    def status(self) -> Status:
        if not self.alive():
            return Status.STOPPED
        if (self.dir / FIFO).exists():
            return Status.CREATED
        if self.cgroups_path and _frozen(self):
            return Status.PAUSED
        return Status.RUNNING

    def to_oci(self) -> dict[str, Any]:
        """runc's ``state`` JSON."""
        status = self.status()
        out: dict[str, Any] = {
            "ociVersion": self.oci_version, "id": self.id,
            "pid": self.pid if status is not Status.STOPPED else 0,
            "status": status.value, "bundle": self.bundle, "rootfs": self.rootfs,
            "created": self.created, "owner": self.owner,
        }
        if self.annotations:
            out["annotations"] = self.annotations
        return out

    def save(self) -> None:
        """Write state.json atomically."""
        path = self.dir / "state.json"
        tmp = self.dir / ".state.json.tmp"
        data = asdict(self)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(data).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
        dfd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _frozen(st: ContainerState) -> bool:
    from dockyard.runtime.cgroup_glue import manager

    return bool(manager(st.cgroups_path, st.id).frozen())


def load(state_root: Path, container_id: str) -> ContainerState:
    """The saved state of ``container_id``; ``NotFound`` when there is none."""
    d = container_dir(state_root, container_id)
    try:
        raw = (d / "state.json").read_bytes()
    except FileNotFoundError:
        raise NotFound(f"container does not exist: {container_id}") from None
    try:
        data = json.loads(raw)
        data["directory"] = str(d)
        return ContainerState(**data)
    except (ValueError, TypeError) as exc:
        raise Corrupt(f"{d / 'state.json'}: unreadable state: {exc}") from None


def list_ids(state_root: Path) -> list[str]:
    try:
        names = os.listdir(state_root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if (Path(state_root) / n / "state.json").exists())


def reserve(state_root: Path, container_id: str) -> Path:
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
        raise Conflict(f"cannot {verb} container {st.id} in status {st.status().value}")
