"""The container verbs that change state: create, start, stop, kill, restart, remove,
wait, pause, unpause, rename, update, prune.

Each running container is owned by its monitor (``engine/monitor``), which runs the
runtime's create/start, records State into ``state.json`` and runs the runtime's delete
when init ends. The engine prepares everything before that (record, snapshot, and in
:mod:`launch` the rootfs mount, /etc files, bundle) and tidies after it
(:meth:`Lifecycle.tidy`: unmount, and remove ``--rm`` containers), so a container is
always in exactly one of: a record only (created/exited), or a record with a live
monitor (running/paused).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal as _signal
import time
from pathlib import Path
from typing import Any

from dockyard.engine import config as cfgmod
from dockyard.engine import model, spec
from dockyard.engine.names import random_name
from dockyard.engine.networking import Networking, op_lock_free
from dockyard.engine.rootfs import ImageSource, is_mounted
from dockyard.engine.runtimes import Runtime, default_runtime, open_runtime
from dockyard.engine.store import ContainerStore, now_rfc3339, update_state_file
from dockyard.errors import (
    AlreadyExists,
    CommandNotFound,
    Conflict,
    DockyardError,
    ExecFailed,
    InvalidArgument,
    NotFound,
)
from dockyard.fileio import locked_file
from dockyard.settings import Roots

__all__ = ["Lifecycle", "container_attributes", "parse_signal"]

DEFAULT_STOP_TIMEOUT = 10


def parse_signal(sig: str | int) -> int:
    """``KILL``, ``SIGKILL``, ``9`` → 9; docker's message otherwise."""
    if isinstance(sig, int) or str(sig).isdigit():
        num = int(sig)
        if not 0 < num < 65:
            raise InvalidArgument(f"Invalid signal: {sig}")
        return num
    name = str(sig).upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(getattr(_signal.Signals, name))
    except AttributeError:
        raise InvalidArgument(f"Invalid signal: {sig}")


MANUALLY_STOPPED = "manually-stopped"  # marker: a user stopped it (restart policies, boot)


def container_attributes(record: dict[str, Any]) -> dict[str, str]:
    """Docker's ``Actor.Attributes`` of a container event: its labels, image and name."""
    attrs = {str(k): str(v) for k, v in (record["Config"].get("Labels") or {}).items()}
    attrs["image"] = str(record["Config"].get("Image") or record.get("Image") or "")
    attrs["name"] = str(record.get("Name", "")).lstrip("/")
    return attrs


class Lifecycle:
    """State-changing verbs over one engine root (see :class:`dockyard.engine.Engine`)."""

    def __init__(self, roots: Roots, images: ImageSource, cgroup_parent: str,
                 facts: cfgmod.HostFacts) -> None:
        self.roots = roots
        self.images = images
        self.cgroup_parent = cgroup_parent
        self.facts = facts
        self.store = ContainerStore(roots.containers)
        self.networking = Networking(roots)

    # -- lookups --------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        """Full id of the container named or id-prefixed by ``ref``."""
        ref = ref.lstrip("/")
        if not ref:
            raise NotFound("No such container: ")
        ids = self.store.ids()
        if ref in ids:
            return ref
        owner = self.store.owner_of(ref) if len(ref) < 128 and "/" not in ref else None
        if owner:
            return owner
        matches = [i for i in ids if i.startswith(ref)] if ref.isalnum() else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"Multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def run_dir(self, cid: str) -> Path:
        return self.roots.run_containers / cid

    def rootfs(self, cid: str) -> Path:
        return self.run_dir(cid) / "rootfs"

    def runtime(self, record: dict[str, Any]) -> Runtime:
        name = record["HostConfig"].get("Runtime") or default_runtime()
        return open_runtime(name, self.roots.runtime_state)

    def event(self, record: dict[str, Any], action: str, **extra: str) -> None:
        """Log a container event (see :mod:`dockyard.engine.events`)."""
        from dockyard.engine.events import emit

        emit(self.roots, "container", action, record["Id"],
             {**container_attributes(record), **extra})

    def _stopping(self, cid: str) -> None:
        """A user stops or kills it: the monitor must not restart it, and boot must
        not bring back an ``unless-stopped`` one."""
        from dockyard.engine.monitor.client import request

        with contextlib.suppress(OSError):
            (self.store.dir(cid) / MANUALLY_STOPPED).touch()
        with contextlib.suppress(DockyardError, OSError, ValueError):
            request(self.run_dir(cid), {"op": "stopping"}, timeout=5)

    def monitor_alive(self, cid: str) -> bool:
        from dockyard.engine.monitor.client import monitor_pid

        return monitor_pid(self.run_dir(cid)) is not None

    def state(self, cid: str) -> dict[str, Any]:
        """State as recorded, corrected for a dead monitor and overlaid with pause."""
        state = self.store.state(cid)
        if state.get("Running") and not self.monitor_alive(cid):
            state = update_state_file(self.store.dir(cid), _mark_lost)
            with contextlib.suppress(DockyardError, OSError, KeyError):
                self.runtime(self.store.load(cid)).delete(cid)  # an orphaned init dies
        if state.get("Running") and (self.run_dir(cid) / "paused").exists():
            state["Paused"] = True
            state["Status"] = "paused"
        return state

    # -- create ---------------------------------------------------------------------
    def create(self, name: str | None, config: dict[str, Any],
               host_config: dict[str, Any] | None,
               networking_config: dict[str, Any] | None = None) -> model.CreateResult:
        from dockyard.engine.logs import parse_log_config

        cid = _new_id()
        cname = cfgmod.check_name(name) if name else random_name()
        user_cfg = model.complete_config(config)
        ref = user_cfg.get("Image") or ""
        if not ref:
            raise InvalidArgument("config: Image: missing")
        hc, warnings = cfgmod.adapt_host_config(host_config or {}, self.facts)  # type: ignore[arg-type]
        hc["Runtime"] = hc.get("Runtime") or default_runtime()
        self.runtime({"HostConfig": hc})  # unknown runtime names fail here
        for key in ("NetworkMode", "PidMode", "IpcMode"):
            mode = str(hc.get(key) or "")
            if mode.startswith("container:"):
                self.resolve(mode[len("container:"):])  # "No such container: x"
        networks = self.networking.plan(hc, networking_config)
        spec.capabilities_for(hc)
        from dockyard.engine.health import check_healthcheck

        check_healthcheck(user_cfg.get("Healthcheck"), str(hc.get("HealthOnFailure") or ""))
        spec.device_rules(hc)
        spec.resources(hc)
        log = hc.get("LogConfig") or {}
        parse_log_config(log.get("Type"), log.get("Config"))
        image = self.images.resolve(ref)
        merged = cfgmod.merge_image_config(user_cfg, image.config)
        if (hc.get("NetworkMode") or "default") == "host" and not merged.get("Hostname"):
            merged["Hostname"] = os.uname().nodename
        if not merged.get("Hostname"):
            merged["Hostname"] = cid[:12]
        path, args = cfgmod.entrypoint_and_args(merged)
        record = {
            "Id": cid, "Created": now_rfc3339(), "Path": path, "Args": args,
            "Image": image.id, "Name": "/" + cname, "RestartCount": 0,
            "Driver": "overlay2", "Platform": "linux", "ExecIDs": None,
            "Config": merged, "HostConfig": hc, "Networks": networks,
        }
        try:
            with self._volumes_lock(record):  # no volume rm between registering and storing
                self._register_mounts(cid, record)
                self.store.add(cid, cname, record, dict(model.new_state()),
                               conflict=_name_conflict)
        except BaseException:
            self._drop_new_volumes(record)
            raise
        try:
            self.images.prepare(cid, image)
        except BaseException:
            with contextlib.suppress(DockyardError, OSError):
                self.images.remove(cid)
            self.store.remove(cid)
            self._drop_new_volumes(record)
            raise
        self.event(record, "create")
        return model.CreateResult(Id=cid, Warnings=warnings)

    def _volumes_lock(self, record: dict[str, Any]) -> Any:
        if not _has_storage(record):  # no storage import on a plain create
            return contextlib.nullcontext()
        from dockyard.volumes import VolumeStore

        return VolumeStore(self.roots).lock()

    def _register_mounts(self, cid: str, record: dict[str, Any]) -> None:
        if not _has_storage(record):
            return
        from dockyard.engine.mounts import register

        hc, cfg = record["HostConfig"], record["Config"]
        record["MountPoints"] = [m.to_json() for m in register(self, cid, cfg, hc)]

    def _drop_new_volumes(self, record: dict[str, Any]) -> None:
        """A create that failed leaves no anonymous volumes behind."""
        if record.get("MountPoints"):
            from dockyard.engine.mounts import remove_anonymous

            with contextlib.suppress(DockyardError, OSError):
                remove_anonymous(self, record)

    # -- start ----------------------------------------------------------------------
    def start(self, ref: str, attach: dict[str, object] | None = None) -> int:
        """Start a created or exited container; returns its init's pid. ``attach`` (an
        ``AttachPoint.spec``) is where its new monitor connects before the container is
        created (not when it runs already)."""
        cid = self.resolve(ref)
        with self._op_lock(cid):
            self._settle(cid)
            self._tidy_locked(cid)
            state = self.state(cid)
            if state.get("Running"):
                return int(state.get("Pid") or 0)
            record = self.store.load(cid)
            with contextlib.suppress(FileNotFoundError):
                (self.store.dir(cid) / MANUALLY_STOPPED).unlink()
            try:
                return self._start(cid, record, attach)
            except DockyardError as err:
                self._unmount(cid)
                self._release_network(cid)
                message = str(err)
                code = 127 if isinstance(err, CommandNotFound) else \
                    126 if isinstance(err, ExecFailed) else 128
                update_state_file(self.store.dir(cid), lambda s: _failed_start(s, message, code))
                raise

    def _start(self, cid: str, record: dict[str, Any],
               attach: dict[str, object] | None = None) -> int:
        from dockyard.engine.launch import launch

        return launch(self, cid, record, attach)

    # -- stop, kill, wait -----------------------------------------------------------
    def kill(self, ref: str, sig: str | int = "KILL") -> None:
        cid = self.resolve(ref)
        num = parse_signal(sig)
        state = self.state(cid)
        if not state.get("Running"):
            raise Conflict(f"Container {cid} is not running")
        if state.get("Restarting"):
            raise Conflict(f"Container {cid} is restarting, wait until the container is running")
        record = self.store.load(cid)
        stop_sig = parse_signal(record["Config"].get("StopSignal") or "SIGTERM")
        if num in (_signal.SIGKILL, stop_sig):
            self._stopping(cid)
        runtime = self.runtime(record)
        # logged as the signal goes: after it, the monitor's "die" could come first
        self.event(record, "kill", signal=str(num))
        runtime.kill(cid, num)
        if num == _signal.SIGKILL and (self.run_dir(cid) / "paused").exists():
            self._resume(cid, runtime)

    def stop(self, ref: str, timeout: int | None = None) -> None:
        """Send the stop signal, then SIGKILL after ``timeout`` seconds."""
        cid = self.resolve(ref)
        record = self.store.load(cid)
        if not self.state(cid).get("Running"):
            self.tidy(cid)
            return
        cfg = record["Config"]
        sig = parse_signal(cfg.get("StopSignal") or "SIGTERM")
        wait = timeout if timeout is not None else cfg.get("StopTimeout")
        wait = DEFAULT_STOP_TIMEOUT if wait is None else int(wait)
        runtime = self.runtime(record)
        self._stopping(cid)
        with contextlib.suppress(Conflict, NotFound):
            self.event(record, "kill", signal=str(sig))
            runtime.kill(cid, sig)
        if (self.run_dir(cid) / "paused").exists():
            self._resume(cid, runtime)
        if wait < 0 or not self._wait_stopped(cid, wait):
            with contextlib.suppress(Conflict, NotFound):
                if self.state(cid).get("Running"):
                    self.event(record, "kill", signal=str(int(_signal.SIGKILL)))
                runtime.kill(cid, _signal.SIGKILL)
            self._wait_stopped(cid, 30)
        self._settle(cid)
        self.tidy(cid)
        self.event(record, "stop")

    def _wait_stopped(self, cid: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.state(cid).get("Running"):
                return True
            time.sleep(0.02)
        return not self.state(cid).get("Running")

    def wait(self, ref: str, condition: str = "not-running",
             timeout: float | None = None) -> dict[str, Any]:
        """Docker's ``wait``: ``{"StatusCode": n, "Error": None}``."""
        from dockyard.engine.monitor.client import wait_exit

        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: {condition!r}")
        cid = self.resolve(ref)
        cdir = self.store.dir(cid)
        if condition == "not-running" and not self.state(cid).get("Running"):
            code = int(self.store.state(cid).get("ExitCode", 0))
        else:
            try:
                code = wait_exit(self.run_dir(cid), cdir, timeout)
            except Conflict:
                code = int(self.store.state(cid).get("ExitCode", 0))
        self._settle(cid)
        self.tidy(cid)
        if condition == "removed":
            deadline = None if timeout is None else time.monotonic() + timeout
            while cdir.exists():
                if deadline is not None and time.monotonic() > deadline:
                    break
                time.sleep(0.02)
                self.tidy(cid, block=False, patient=False)  # we are the waiter
        return {"StatusCode": code, "Error": None}

    def _settle(self, cid: str, timeout: float = 10) -> None:
        """Once init has ended, let its monitor finish (it answers waiters, then runs
        the runtime's delete and exits): a new start must not overlap that delete, and
        tidying is ours to do at once rather than the exit hook's helper's."""
        from dockyard.engine.monitor.client import monitor_pid

        deadline = time.monotonic() + timeout
        while not self.store.state(cid).get("Running"):
            pid = monitor_pid(self.run_dir(cid))
            left = deadline - time.monotonic()
            if pid is None or left <= 0:
                return
            # Woken at its exit (this is on every run --rm's path: a 5 ms poll cost
            # 2.5 ms on average); slices of 50 ms to see a restart's Running.
            _await_exit(pid, min(left, 0.05))

    def restart(self, ref: str, timeout: int | None = None) -> int:
        self.stop(ref, timeout)
        pid = self.start(ref)
        self.event(self.store.load(self.resolve(ref)), "restart")
        return pid

    # -- pause ----------------------------------------------------------------------
    def pause(self, ref: str) -> None:
        cid = self.resolve(ref)
        state = self.state(cid)
        if not state.get("Running"):
            raise Conflict(f"Container {cid} is not running")
        if state.get("Paused"):
            raise Conflict(f"Container {cid} is already paused")
        record = self.store.load(cid)
        self.runtime(record).pause(cid)
        (self.run_dir(cid) / "paused").touch()
        self.event(record, "pause")

    def unpause(self, ref: str) -> None:
        cid = self.resolve(ref)
        if not self.state(cid).get("Paused"):
            raise Conflict(f"Container {cid} is not paused")
        record = self.store.load(cid)
        self._resume(cid, self.runtime(record))
        self.event(record, "unpause")

    def _resume(self, cid: str, runtime: Runtime) -> None:
        runtime.resume(cid)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir(cid) / "paused").unlink()

    # -- rename, update ---------------------------------------------------------------
    def rename(self, ref: str, new_name: str) -> None:
        cid = self.resolve(ref)
        old = self.store.load(cid)["Name"]
        self.store.rename(cid, cfgmod.check_name(new_name), conflict=_name_conflict)
        self.event(self.store.load(cid), "rename", oldName=old)

    def update(self, ref: str, resources: dict[str, Any]) -> list[str]:
        """Change resource limits (docker's ``update``); applied live when running."""
        allowed = {"CpuShares", "Memory", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus",
                   "CpusetMems", "MemoryReservation", "MemorySwap", "PidsLimit",
                   "BlkioWeight", "RestartPolicy", "KernelMemory", "EgressRate", "IngressRate"}
        unknown = sorted(set(resources) - allowed)
        if unknown:
            raise InvalidArgument(f"update: cannot change {unknown[0]}")
        cid = self.resolve(ref)
        with self._op_lock(cid):
            record = self.store.load(cid)
            given = dict(record["HostConfig"])
            given.update({k: v for k, v in resources.items() if v is not None})
            hc, warnings = cfgmod.adapt_host_config(given, self.facts)  # type: ignore[arg-type]
            if self.state(cid).get("Running"):
                res = spec.resources(hc)
                bundle = json.loads((self.run_dir(cid) / "config.json").read_text())
                self.runtime(record).update(cid, res, bundle["linux"].get("cgroupsPath", ""))
                if {"EgressRate", "IngressRate"} & set(resources):
                    from dockyard.engine.launch import apply_rates

                    path = self.networking.netns_path(cid)
                    apply_rates(hc, str(path) if path.exists() else None, clear=True)
            record["HostConfig"] = hc
            self.store.save(cid, record)
            if "RestartPolicy" in resources and self.monitor_alive(cid):
                from dockyard.engine.monitor.client import request

                with contextlib.suppress(DockyardError, OSError):
                    request(self.run_dir(cid), {"op": "policy",
                                                "restart": hc.get("RestartPolicy")}, timeout=5)
        self.event(record, "update")
        return warnings

    # -- remove ---------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        cid = self.resolve(ref)
        with self._op_lock(cid):
            if self.state(cid).get("Running"):
                if not force:
                    raise Conflict(
                        f"You cannot remove a running container {cid}. Stop the container "
                        "before attempting removal or force remove")
                record = self.store.load(cid)
                runtime = self.runtime(record)
                self._stopping(cid)
                with contextlib.suppress(Conflict, NotFound):
                    self.event(record, "kill", signal=str(int(_signal.SIGKILL)))
                    runtime.kill(cid, _signal.SIGKILL)
                if (self.run_dir(cid) / "paused").exists():
                    with contextlib.suppress(DockyardError):
                        self._resume(cid, runtime)
                self._wait_stopped(cid, 30)
            self._settle(cid)
            self._destroy(cid, volumes)

    def _destroy(self, cid: str, volumes: bool = False) -> None:
        try:
            record: dict[str, Any] | None = self.store.load(cid)
        except FileNotFoundError:
            record = None
        if record is not None:
            with contextlib.suppress(DockyardError):
                self.runtime(record).delete(cid)
        self._unmount(cid)
        self._release_network(cid)
        self.images.remove(cid)
        shutil.rmtree(self.run_dir(cid), ignore_errors=True)
        self.store.remove(cid)
        if record is not None and record.get("MountPoints"):
            from dockyard.engine.mounts import release, remove_anonymous

            with contextlib.suppress(DockyardError, OSError):
                release(self, record, log=False)  # the stop logged its unmounts
            if volumes:
                remove_anonymous(self, record)
        if record is not None:
            self.event(record, "destroy")

    def tidy(self, cid: str, block: bool = True, patient: bool | None = None) -> None:
        """After init ended: unmount the rootfs; remove a ``--rm`` container.

        Takes the container's op lock; with ``block=False`` it gives up at once when
        another process holds it (views use that: they must not wait for a start), and
        by default is ``patient`` (see ``_tidy_locked``).
        """
        import fcntl

        cdir = self.store.dir(cid)
        try:
            fd = os.open(cdir / "op.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
            except BlockingIOError:
                return
            if (cdir / "container.json").exists():
                self._tidy_locked(cid, patient=not block if patient is None else patient)
        finally:
            os.close(fd)

    def _tidy_locked(self, cid: str, patient: bool = False) -> None:
        """``patient`` (views): a ``--rm`` container that ended moments ago is left to
        whoever waits for it (a foreground ``run``, an API wait and attach, or its
        monitor's helper after the grace period), not removed from under them."""
        try:
            state = self.store.state(cid)
        except FileNotFoundError:
            return
        if state.get("Running") and self.monitor_alive(cid):
            return
        if self.monitor_alive(cid):  # still draining output and deleting
            return
        stopped_now = self._unmount(cid)
        self._release_network(cid)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir(cid) / "paused").unlink()
        try:
            record = self.store.load(cid)
        except FileNotFoundError:
            return
        if record["HostConfig"].get("AutoRemove") and state.get("Status") == "exited":
            if patient and _ended_recently(self.store.dir(cid)):
                return
            if stopped_now and record.get("MountPoints"):
                from dockyard.engine.mounts import release

                with contextlib.suppress(DockyardError, OSError):
                    release(self, record)  # its volumes' unmount events
            self._destroy(cid, volumes=True)
        elif record.get("MountPoints"):
            from dockyard.engine.mounts import release

            with contextlib.suppress(DockyardError, OSError):
                release(self, record, log=stopped_now)

    def _unmount(self, cid: str) -> bool:
        """Unmount the container's rootfs; whether it was mounted (the first tidy after
        a run: what happens once per stop, like its volumes' unmount events)."""
        target = self.rootfs(cid)
        if is_mounted(target):
            self.images.unmount(target)
            return True
        return False

    def _release_network(self, cid: str) -> None:
        """Endpoints, addresses and the namespace go when the container stops."""
        with contextlib.suppress(FileNotFoundError, ValueError):
            if not self.store.load(cid).get("Networks") and \
                    not self.networking.netns_path(cid).exists():
                return  # none, host, container: nothing was attached
        with contextlib.suppress(DockyardError, OSError):
            self.networking.teardown(cid)

    def network_stale(self, cid: str) -> bool:
        """For the network sweep: the container is gone, or has no monitor and nobody
        is starting it (so its endpoints are what a crash left). A live monitor may be
        restarting its container or draining its output: not stale."""
        cdir = self.store.dir(cid)
        if not (cdir / "container.json").exists():
            return True
        return op_lock_free(cdir) and not self.monitor_alive(cid)

    def prune(self) -> dict[str, Any]:
        deleted = []
        for cid in self.store.ids():
            with contextlib.suppress(FileNotFoundError, NotFound):
                if not self.state(cid).get("Running"):
                    self.remove(cid)
                    deleted.append(cid)
        return {"ContainersDeleted": deleted, "SpaceReclaimed": 0}

    @contextlib.contextmanager
    def _op_lock(self, cid: str) -> Any:
        cdir = self.store.dir(cid)
        if not cdir.exists():
            raise NotFound(f"No such container: {cid}")
        with locked_file(cdir / "op.lock"):
            if not (cdir / "container.json").exists():
                raise NotFound(f"No such container: {cid}")
            yield


AUTOREMOVE_PATIENCE = 2.0  # seconds: the monitor's grace (tidy.GRACE_SECONDS) and more


def _ended_recently(cdir: Path) -> bool:
    """Whether the exit was recorded (state.json written) in the last few seconds."""
    try:
        return time.time() - os.stat(cdir / "state.json").st_mtime < AUTOREMOVE_PATIENCE
    except OSError:
        return False


def _has_storage(record: dict[str, Any]) -> bool:
    hc, cfg = record["HostConfig"], record["Config"]
    return bool(hc.get("Binds") or hc.get("Mounts") or hc.get("Tmpfs") or
                hc.get("VolumesFrom") or cfg.get("Volumes"))


def _new_id() -> str:
    from dockyard.engine.store import new_id

    return new_id()


def _name_conflict(name: str, owner: str) -> Exception:
    return AlreadyExists(
        f'Conflict. The container name "/{name}" is already in use by container "{owner}". '
        "You have to remove (or rename) that container to be able to reuse that name.")


def _failed_start(state: dict[str, Any], message: str, code: int) -> None:
    """Like docker: the error and exit code are kept; a container that never ran stays
    "created"."""
    state.update(Error=message, ExitCode=code, Running=False, Paused=False, Pid=0)
    if state.get("StartedAt", model.ZERO_TIME) == model.ZERO_TIME:
        state["Status"] = "created"


def _mark_lost(state: dict[str, Any]) -> None:
    """The monitor died without recording the end (killed, or the machine rebooted)."""
    if state.get("Running"):
        state.update(Status="exited", Running=False, Paused=False, Pid=0, ExitCode=255,
                     Error="container monitor died", FinishedAt=now_rfc3339())


def _await_exit(pid: int, timeout: float) -> None:
    """Return when process ``pid`` (not our child) has exited, or after ``timeout``."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:  # no pidfd (Linux < 5.3): poll
        time.sleep(min(timeout, 0.005))
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(int(timeout * 1000) + 1)
    finally:
        os.close(fd)
