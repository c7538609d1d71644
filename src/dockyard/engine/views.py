"""Read-only views of containers: inspect, list (``ps`` with filters), top, changes."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

from dockyard.engine import model
from dockyard.engine.lifecycle import Lifecycle
from dockyard.engine.status import human_duration, parse_time
from dockyard.errors import Conflict, InvalidArgument, NotFound

__all__ = ["FILTERS", "inspect", "list_containers", "status_text", "top"]

FILTERS = ("id", "name", "label", "status", "exited", "ancestor", "before", "since",
           "volume", "health")
_HEALTH = ("starting", "healthy", "unhealthy", "none")
_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _epoch(ts: str) -> float:
    """Seconds since 1970 of an RFC 3339 time (0 for docker's zero time)."""
    return parse_time(ts) or 0.0


def status_text(state: dict[str, Any], now: float | None = None) -> str:
    """The STATUS column: ``Up 3 seconds``, ``Exited (0) 2 minutes ago``, ``Created``."""
    now = time.time() if now is None else now
    if state.get("Running"):
        up = "Up " + human_duration(now - _epoch(str(state.get("StartedAt", ""))))
        if state.get("Paused"):
            return up + " (Paused)"
        if state.get("Restarting"):
            return (f"Restarting ({state.get('ExitCode', 0)}) "
                    f"{human_duration(now - _epoch(str(state.get('FinishedAt', ''))))} ago")
        health = state.get("Health")
        if isinstance(health, dict) and health.get("Status"):
            word = "health: starting" if health["Status"] == "starting" else health["Status"]
            return f"{up} ({word})"
        return up
    if state.get("Status") == "exited" or _epoch(str(state.get("FinishedAt", ""))):
        return (f"Exited ({state.get('ExitCode', 0)}) "
                f"{human_duration(now - _epoch(str(state.get('FinishedAt', ''))))} ago")
    return "Created"


def inspect(lc: Lifecycle, ref: str) -> model.ContainerJSON:
    """``docker inspect`` of a container, key for key."""
    from dockyard.engine.logs import log_file

    cid = lc.resolve(ref)
    try:
        record = lc.store.load(cid)
        state = lc.state(cid)
    except FileNotFoundError:  # removed since resolve
        raise NotFound(f"No such container: {ref}") from None
    # Read first: an exited --rm container this tidy removes is described as it ended
    # (a waiter polling inspect, like the API's, still learns its exit code).
    lc.tidy(cid, block=False)
    cdir = lc.store.dir(cid)
    hc = record["HostConfig"]
    started = state.get("StartedAt", model.ZERO_TIME) != model.ZERO_TIME
    log_type = (hc.get("LogConfig") or {}).get("Type") or "json-file"
    graph = {"LowerDir": "", "MergedDir": str(lc.rootfs(cid)), "UpperDir": "",
             "WorkDir": ""}
    with contextlib.suppress(Exception):
        from dockyard.engine.changes import overlay_dirs

        upper, lowers = overlay_dirs(lc.images.mounts(cid))
        graph.update(LowerDir=":".join(lowers), UpperDir=upper,
                     WorkDir=str(Path(upper).parent / "work"))
    return {
        "Id": cid, "Created": record["Created"], "Path": record["Path"],
        "Args": record["Args"],
        "State": _state_doc(state),
        "Image": record["Image"],
        "ResolvConfPath": str(cdir / "resolv.conf") if started else "",
        "HostnamePath": str(cdir / "hostname") if started else "",
        "HostsPath": str(cdir / "hosts") if started else "",
        "LogPath": (log_file(str(cdir), cid, log_type) or "") if started else "",
        "Name": record["Name"],
        "RestartCount": state.get("RestartCount", record.get("RestartCount", 0)),
        "Driver": record.get("Driver", "overlay2"), "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": record.get("ExecIDs"),
        "HostConfig": hc,
        "GraphDriver": {"Data": graph, "Name": "overlay2"},
        "Mounts": _mounts(record),
        "Config": record["Config"],
        "NetworkSettings": lc.networking.settings(cid, record,  # type: ignore[typeddict-item]
                                                  bool(state.get("Running"))),
    }


def _mounts(record: dict[str, Any]) -> list[dict[str, Any]]:
    from dockyard.engine.mounts import inspect_mounts

    return inspect_mounts(record) if record.get("MountPoints") else []


def _state_doc(state: dict[str, Any]) -> dict[str, Any]:
    """docker's State: its keys in order, and Health when the container has a check."""
    doc = {k: state.get(k, v) for k, v in model.new_state().items()}
    if isinstance(state.get("Health"), dict):
        doc["Health"] = state["Health"]
    return doc


def _filters(filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in (filters or {}).items()}
    for key in out:
        if key not in FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
    for status in out.get("status", []):
        if status not in _STATUSES:
            raise InvalidArgument(f"invalid filter 'status={status}'")
    for health in out.get("health", []):
        if health not in _HEALTH:
            raise InvalidArgument(f"Unrecognised filter value for health: {health}")
    return out


def list_containers(lc: Lifecycle, all: bool = False, limit: int = -1,
                    filters: dict[str, list[str]] | None = None,
                    size: bool = False) -> list[dict[str, Any]]:
    """``GET /containers/json``: newest first, docker's summary shape (with SizeRw and
    SizeRootFs when ``size``)."""
    wanted = _filters(filters)
    rows: list[dict[str, Any]] = []
    for cid in lc.store.ids():
        try:
            lc.tidy(cid, block=False)
            record = lc.store.load(cid)
            state = lc.state(cid)
        except (FileNotFoundError, ValueError):
            continue
        row = _summary(record, state)
        if state.get("Running") and (record["Config"].get("ExposedPorts") or
                                     record["HostConfig"].get("PortBindings")):
            row["Ports"] = _port_list(
                lc.networking.settings(cid, record, True).get("Ports") or {})
        rows.append(row)
    rows.sort(key=lambda r: r["_created"], reverse=True)
    rows = _apply(rows, wanted, lc)
    if not all and not wanted.get("status") and not wanted.get("exited") and limit <= 0:
        rows = [r for r in rows if r["State"] in ("running", "paused", "restarting")]
    if limit > 0:
        rows = rows[:limit]
    for r in rows:
        del r["_created"]
        r.pop("_health", None)
        if size:
            r["SizeRw"], r["SizeRootFs"] = _sizes(lc, r["Id"], r["ImageID"])
    return rows


def _disk_usage(path: str) -> int:
    import os

    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _sizes(lc: Lifecycle, cid: str, image_id: str) -> tuple[int, int]:
    """Bytes the container wrote, and that plus its image (docker's ``ps -s``)."""
    from dockyard.engine.changes import overlay_dirs

    rw = image = 0
    with contextlib.suppress(Exception):
        rw = _disk_usage(overlay_dirs(lc.images.mounts(cid))[0])
    with contextlib.suppress(Exception):
        image = int(lc.images.store.get(image_id).size)  # type: ignore[attr-defined]
    return rw, rw + image


def _summary(record: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    cfg, hc = record["Config"], record["HostConfig"]
    command = " ".join([record["Path"], *record["Args"]])
    mode = hc.get("NetworkMode") or "default"
    return {
        "Id": record["Id"], "Names": [record["Name"]], "Image": cfg.get("Image", ""),
        "ImageID": record["Image"], "Command": command,
        "Created": int(_epoch(record["Created"])), "Ports": [],
        "Labels": cfg.get("Labels") or {}, "State": state.get("Status", "created"),
        "Status": status_text(state), "HostConfig": {"NetworkMode": mode},
        "NetworkSettings": {"Networks": {
            name: model.network_settings(name)["Networks"][name]
            for name in (record.get("Networks") or model.network_settings(mode)["Networks"])}},
        "Mounts": _mounts(record), "_created": record["Created"],
        "_exit": state.get("ExitCode", 0),
        "_health": (state.get("Health") or {}).get("Status") or "none",
    }


def _port_list(ports: dict[str, Any]) -> list[dict[str, Any]]:
    """``NetworkSettings.Ports`` → the list API's ``Ports`` (one entry a binding)."""
    out: list[dict[str, Any]] = []
    for key, binds in ports.items():
        number, _, proto = key.partition("/")
        if not binds:
            out.append({"PrivatePort": int(number), "Type": proto or "tcp"})
        for b in binds or []:
            out.append({"IP": b.get("HostIp") or "0.0.0.0", "PrivatePort": int(number),
                        "PublicPort": int(b.get("HostPort") or 0), "Type": proto or "tcp"})
    return out


def _apply(rows: list[dict[str, Any]], f: dict[str, list[str]],
           lc: Lifecycle) -> list[dict[str, Any]]:
    def keep(r: dict[str, Any]) -> bool:
        if f.get("id") and not any(r["Id"].startswith(v) for v in f["id"]):
            return False
        if f.get("name") and not any(v.lstrip("/") in r["Names"][0] for v in f["name"]):
            return False
        if f.get("status") and r["State"] not in f["status"]:
            return False
        if f.get("exited") and (r["State"] != "exited" or
                                str(r["_exit"]) not in f["exited"]):
            return False
        if f.get("volume") and not any(  # docker: a volume name or a mount destination
                v in (m.get("Name"), m.get("Destination")) for m in r["Mounts"]
                for v in f["volume"]):
            return False
        if f.get("health") and r["_health"] not in f["health"]:
            return False
        for label in f.get("label", []):
            key, eq, value = label.partition("=")
            if key not in r["Labels"] or (eq and r["Labels"][key] != value):
                return False
        return not f.get("ancestor") or any(
            a in (r["Image"], r["ImageID"]) or r["ImageID"].startswith("sha256:" + a)
            for a in f["ancestor"])

    out = [r for r in rows if keep(r)]
    for key, newer in (("before", False), ("since", True)):
        for ref in f.get(key, []):
            pivot = lc.store.load(lc.resolve(ref))["Created"]
            out = [r for r in out if (r["_created"] > pivot if newer else r["_created"] < pivot)]
    return out


def top(lc: Lifecycle, ref: str, ps_args: str = "-ef") -> dict[str, Any]:
    """``docker top``: the host's ``ps`` output for the container's processes."""
    cid = lc.resolve(ref)
    if not lc.state(cid).get("Running"):
        raise Conflict(f"Container {cid} is not running")
    import re

    for key, value in re.findall(r"\s+([^\s]*)=\s*(PID[^\s]*)", ps_args):
        if key != "pid":  # moby's validatePSArgs: the PID column must stay named PID
            raise InvalidArgument(f'specifying "{key}={value}" is not allowed')
    pids = set(lc.runtime(lc.store.load(cid)).ps(cid))
    ran = subprocess.run(["ps", *ps_args.split(" ")], capture_output=True, text=True,
                         check=False)
    if ran.returncode != 0:
        from dockyard.errors import SystemFailure

        detail = ran.stderr.strip().splitlines()[0] if ran.stderr.strip() else ""
        raise SystemFailure(f"Error running ps: exit status {ran.returncode}"
                            + (f": {detail}" if detail else ""))
    out = ran.stdout.splitlines()
    titles = out[0].split() if out else []
    if "PID" not in titles:
        raise InvalidArgument("Couldn't find PID field in ps output")
    pid_col = titles.index("PID")
    procs = []
    for line in out[1:]:
        fields = line.split()
        if not fields or len(fields) <= pid_col or fields[pid_col] == "-":
            continue
        if not fields[pid_col].isdigit():
            raise InvalidArgument(f"Unexpected pid '{fields[pid_col]}'")
        if int(fields[pid_col]) in pids:  # overhanging fields join the last column
            procs.append([*fields[:len(titles) - 1], " ".join(fields[len(titles) - 1:])])
    return {"Titles": titles, "Processes": procs}
