"""``exec``: extra processes in a running container, through the runtime's exec.

Docker's three calls: create (store an exec config, get an id), start (run it, here
with the caller's stdio, or detached), inspect. Exec records live in
``$ROOT/containers/<id>/execs/<exec id>.json``; the process inherits the container's
spec (capabilities, seccomp, rlimits...) with the exec's own args, env, user and cwd.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from dockyard.engine import rooted, spec
from dockyard.engine.lifecycle import Lifecycle
from dockyard.engine.store import atomic_write, read_json
from dockyard.errors import Conflict, InvalidArgument, NotFound

__all__ = ["exec_create", "exec_inspect", "exec_kill", "exec_start"]

_KEYS = {"User", "Privileged", "Tty", "AttachStdin", "AttachStderr", "AttachStdout",
         "Detach", "DetachKeys", "Env", "WorkingDir", "Cmd", "ConsoleSize"}


def _exec_path(lc: Lifecycle, exec_id: str) -> tuple[str, Path]:
    """(container id, record path) of an exec id (full or unique prefix)."""
    if not exec_id or not exec_id.isalnum():
        raise NotFound(f"No such exec instance: {exec_id}")
    for cid in lc.store.ids():
        d = lc.store.dir(cid) / "execs"
        if not d.is_dir():
            continue
        for entry in os.listdir(d):
            if entry.startswith(exec_id) and entry.endswith(".json"):
                return cid, d / entry
    raise NotFound(f"No such exec instance: {exec_id}")


def exec_create(lc: Lifecycle, ref: str, config: dict[str, Any]) -> str:
    """Store an exec for a running container; returns its id."""
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise InvalidArgument(f"exec config: unknown field {unknown[0]!r}")
    if not config.get("Cmd"):
        raise InvalidArgument("No exec command specified")
    cid = lc.resolve(ref)
    state = lc.state(cid)
    if not state.get("Running"):
        raise Conflict(f"Container {cid} is not running")
    if state.get("Paused"):
        raise Conflict(f"Container {cid} is paused, unpause the container before exec")
    if state.get("Restarting"):
        raise Conflict(f"Container {cid} is restarting, wait until the container is running")
    exec_id = os.urandom(32).hex()
    d = lc.store.dir(cid) / "execs"
    d.mkdir(exist_ok=True)
    record = {"ID": exec_id, "Config": dict(config), "Running": False, "ExitCode": None,
              "Pid": 0, "ContainerID": cid}
    atomic_write(d / f"{exec_id}.json", json.dumps(record).encode())
    lc.event(lc.store.load(cid), "exec_create: " + _words(config["Cmd"]), execID=exec_id)
    return exec_id


def _words(cmd: list[str]) -> str:
    """dockerd's event words for an exec: the entrypoint, a space, the arguments."""
    return f"{cmd[0]} {' '.join(cmd[1:])}"


def _process(lc: Lifecycle, cid: str, cfg: dict[str, Any]) -> dict[str, Any]:
    from dockyard.engine.users import resolve_user

    bundle = read_json(lc.run_dir(cid) / "config.json")
    proc = dict(bundle["process"])
    record = lc.store.load(cid)
    container_cfg = record["Config"]
    rootfs = lc.rootfs(cid)
    env = spec.container_env({"Hostname": container_cfg.get("Hostname", ""),
                              "Tty": bool(cfg.get("Tty")),
                              "Env": list(container_cfg.get("Env") or []) +
                              list(cfg.get("Env") or [])})
    user = resolve_user(rootfs, cfg.get("User") or container_cfg.get("User") or "",
                        record["HostConfig"].get("GroupAdd"))
    cwd = cfg.get("WorkingDir") or proc.get("cwd") or "/"
    path_env = next((e[5:] for e in env if e.startswith("PATH=")), spec.DEFAULT_PATH)
    rooted.find_command(rootfs, cfg["Cmd"][0], path_env, cwd)
    proc.update(args=list(cfg["Cmd"]), env=env, cwd=cwd, terminal=bool(cfg.get("Tty")),
                user={"uid": user.uid, "gid": user.gid,
                      "additionalGids": list(user.additional_gids)})
    proc.pop("consoleSize", None)
    if cfg.get("Privileged"):
        caps = spec.bounding_set()
        proc["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    return proc


def exec_start(lc: Lifecycle, exec_id: str, detach: bool = False,
               stdio: tuple[int | None, int | None, int | None] | None = None) -> int:
    """Run the exec with this process's stdio, or the ``stdio`` fds given (the API's
    pipes), or detached; returns its exit code (0 when detached)."""
    cid, path = _exec_path(lc, exec_id)
    record = read_json(path)
    if record.get("Running") or record.get("ExitCode") is not None:
        raise Conflict(f"exec {record['ID']} has already run")
    if not lc.state(cid).get("Running"):
        raise Conflict(f"Container {cid} is not running")
    proc = _process(lc, cid, record["Config"])
    proc_file = lc.run_dir(cid) / f"exec-{record['ID'][:12]}.json"
    proc_file.write_text(json.dumps(proc))
    runtime = lc.runtime(lc.store.load(cid))
    argv = runtime.exec_argv(cid, str(proc_file), bool(proc["terminal"]), detach)
    record["Running"] = True
    atomic_write(path, json.dumps(record).encode())
    container = lc.store.load(cid)
    lc.event(container, "exec_start: " + _words(record["Config"]["Cmd"]), execID=record["ID"])
    try:
        stdin, stdout, stderr = stdio or (None, None, None)
        if not record["Config"].get("AttachStdin"):
            stdin = subprocess.DEVNULL
        child = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr)
        record["Pid"] = child.pid
        atomic_write(path, json.dumps(record).encode())
        code = child.wait()
    finally:
        proc_file.unlink(missing_ok=True)
    record.update(Running=False, ExitCode=code)
    atomic_write(path, json.dumps(record).encode())
    if not detach:
        lc.event(container, "exec_die", execID=record["ID"], exitCode=str(code))
    return code


def _descendants(pid: int) -> list[int]:
    """Host pids below ``pid``, deepest first (the runtime's exec process is a subreaper:
    the process it runs in the container is one of them)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []

    def walk(p: int) -> None:
        for child in children.get(p, []):
            walk(child)
            out.append(child)

    walk(pid)
    return out


def exec_kill(lc: Lifecycle, exec_id: str) -> None:
    """SIGKILL a running exec's process and its runtime process (the client that
    started it is gone); a finished exec is left alone."""
    import signal

    _, path = _exec_path(lc, exec_id)
    record = read_json(path)
    pid = int(record.get("Pid") or 0)
    if not record.get("Running") or pid <= 0:
        return
    for p in [*_descendants(pid), pid]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def exec_inspect(lc: Lifecycle, exec_id: str) -> dict[str, Any]:
    """Docker's exec inspect shape."""
    cid, path = _exec_path(lc, exec_id)
    record = read_json(path)
    cfg = record["Config"]
    cmd = list(cfg.get("Cmd") or [])
    return {
        "ID": record["ID"], "Running": record["Running"], "ExitCode": record["ExitCode"],
        "ProcessConfig": {"tty": bool(cfg.get("Tty")), "entrypoint": cmd[0] if cmd else "",
                          "arguments": cmd[1:], "privileged": bool(cfg.get("Privileged")),
                          **({"user": cfg["User"]} if cfg.get("User") else {})},
        "OpenStdin": bool(cfg.get("AttachStdin")), "OpenStderr": bool(cfg.get("AttachStderr")),
        "OpenStdout": bool(cfg.get("AttachStdout")), "CanRemove": False, "ContainerID": cid,
        "DetachKeys": cfg.get("DetachKeys") or "", "Pid": record.get("Pid", 0),
    }
