"""System endpoints: ``/_ping``, ``/version``, ``/info``, ``/system/df``, ``/events``, ``/auth``."""

from __future__ import annotations

import os
import platform
from typing import Any

from aiohttp import web

from dockyard import __version__
from dockyard.api import params
from dockyard.api.app import (
    API_VERSION,
    MIN_API_VERSION,
    Router,
    client_gone,
    ctx,
    json_body,
    reply,
)
from dockyard.api.context import ApiContext, insecure_registries
from dockyard.api.summaries import image_summary, parse_timestamp
from dockyard.errors import InvalidArgument

__all__ = ["routes"]


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


async def ping(request: web.Request) -> web.StreamResponse:
    resp = web.Response(text="OK" if request.method != "HEAD" else None,
                        content_type="text/plain")
    resp.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    resp.headers["Pragma"] = "no-cache"
    return resp


async def version(request: web.Request) -> web.StreamResponse:
    details = {"ApiVersion": API_VERSION, "Arch": _arch(), "KernelVersion": platform.release(),
               "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
               "PythonVersion": platform.python_version()}
    return reply({
        "Platform": {"Name": "Dockyard Engine"},
        "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
        "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "", "GoVersion": "", "Os": "linux", "Arch": _arch(),
        "KernelVersion": platform.release(), "BuildTime": "",
    })


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _info(c: ApiContext) -> dict[str, Any]:
    from dockyard.runtime.cgroups import detect_mode

    entries = c.engine().list(all=True)
    states = [e.get("State") for e in entries]
    mode = str(detect_mode()).lower()
    return {
        "ID": "", "Containers": len(entries),
        "ContainersRunning": sum(s in ("running", "restarting") for s in states),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": sum(s not in ("running", "restarting", "paused") for s in states),
        "Images": len(c.images().list()), "Driver": "overlay2", "DriverStatus": [],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                    "Log": ["json-file", "local", "none"]},
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "OomKillDisable": True,
        "IPv4Forwarding": True, "Debug": c.debug, "NFd": len(os.listdir("/proc/self/fd")),
        "NGoroutines": 0, "SystemTime": "", "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": "2" if mode.endswith("v2") else "1",
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
        "OSVersion": "", "OSType": "linux", "Architecture": platform.machine(),
        "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(),
        "DockerRootDir": str(c.roots.root), "Name": platform.node(), "Labels": [],
        "ExperimentalBuild": False, "ServerVersion": __version__,
        "Runtimes": {"dockyard": {"path": "dockyard-runtime"}, "runc": {"path": "runc"},
                     "crun": {"path": "crun"}},
        "DefaultRuntime": "dockyard", "Swarm": {"LocalNodeState": "inactive"},
        "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "dockyard-init",
        "SecurityOptions": ["name=seccomp,profile=default"], "Warnings": [],
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"]},
    }


async def info(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    return reply(await c.run(_info, c))


def _df(c: ApiContext) -> dict[str, Any]:
    containers = c.engine().list(all=True, size=True)
    images = c.images().list()
    counts: dict[str, int] = {}
    for e in containers:
        counts[str(e.get("ImageID"))] = counts.get(str(e.get("ImageID")), 0) + 1
    summaries = []
    for img in images:
        s = image_summary(img)
        s["Containers"] = counts.get(str(img.id), 0)
        summaries.append(s)
    return {"LayersSize": sum(i.size for i in images), "Images": summaries,
            "Containers": containers, "Volumes": [], "BuildCache": []}


async def system_df(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    return reply(await c.run(_df, c))


async def events(request: web.Request) -> web.StreamResponse:
    """Docker's event stream from the engine's event log (``engine.events``): the stored
    events from ``since`` (none without it), then new ones until ``until`` passes or
    the client leaves. One JSON object per line, as dockerd writes them."""
    import json

    from dockyard.api.streams import pump
    from dockyard.engine.events import FILTER_KEYS, matches, stream_events

    c = ctx(request)
    until = request.query.get("until")
    until_ns = int(parse_timestamp(until, "until") * 1e9) if until else None
    since = request.query.get("since")
    since_ns = int(parse_timestamp(since, "since") * 1e9) if since else None
    wanted = params.filters(request)
    for key in wanted:
        if key not in FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
    resp = web.StreamResponse()
    resp.content_type = "application/json"
    await resp.prepare(request)
    gone = client_gone(request)

    def gen(stopped: Any) -> Any:
        return (ev for ev in stream_events(c.roots.root, since_ns, until_ns, follow=True,
                                           stop=lambda: stopped() or gone())
                if matches(ev, wanted))

    async for ev in pump(c.pool, gen):
        await resp.write(json.dumps(ev).encode() + b"\n")
    return resp


async def auth(request: web.Request) -> web.StreamResponse:
    """``docker login``: check the credentials against the registry (the client stores
    them, as with dockerd)."""
    from urllib.parse import urlsplit

    from dockyard.distribution import check_login
    from dockyard.oci import DEFAULT_DOMAIN

    body = await json_body(request, required=True)
    username, password = body.get("username"), body.get("password")
    server = body.get("serveraddress") or ""
    if not isinstance(username, str) or not isinstance(password, str) or \
            not isinstance(server, str) or not username or not password:
        raise InvalidArgument("auth: username and password (strings) are required")
    host = (urlsplit(server).netloc if "://" in server else server.split("/")[0])
    domain = DEFAULT_DOMAIN if host in ("", "index.docker.io", "registry-1.docker.io") \
        else host
    await check_login(domain, username, password, insecure_registries())
    return reply({"Status": "Login Succeeded", "IdentityToken": ""})


def routes(r: Router) -> None:
    r.get("/_ping", ping)
    r.head("/_ping", ping)
    r.get("/version", version)
    r.get("/info", info)
    r.get("/system/df", system_df)
    r.get("/events", events)
    r.post("/auth", auth)
