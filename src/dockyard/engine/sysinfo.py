"""The engine and its host as docker's ``/version`` and ``/info`` describe them: one
source for ``dockyard version|info`` and the Engine API's answers."""

from __future__ import annotations

import os
import platform
from typing import Any

from dockyard import __version__

__all__ = ["arch", "info", "server_version"]


def arch() -> str:
    """Go's name for this machine's architecture (``amd64``, ``arm64``…)."""
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def server_version(api_version: str, min_api_version: str) -> dict[str, Any]:
    """The server half of ``/version``."""
    python = platform.python_version()
    details = {"ApiVersion": api_version, "Arch": arch(), "KernelVersion": platform.release(),
               "MinAPIVersion": min_api_version, "Os": "linux", "PythonVersion": python}
    return {
        "Platform": {"Name": "Dockyard Engine"},
        "Components": [{"Name": "Engine", "Version": __version__, "Details": details}],
        "Version": __version__, "ApiVersion": api_version, "MinAPIVersion": min_api_version,
        "PythonVersion": python, "GitCommit": "", "GoVersion": "", "Os": "linux",
        "Arch": arch(), "KernelVersion": platform.release(), "BuildTime": "",
    }


def info(entries: list[dict[str, Any]], images: int, root: str, debug: bool) -> dict[str, Any]:
    """``/info`` from the container list (``Engine.list(all=True)``), the image count,
    the root directory and the debug switch."""
    states = [e.get("State") for e in entries]
    return {
        "ID": "", "Containers": len(entries),
        "ContainersRunning": sum(s in ("running", "restarting") for s in states),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": sum(s not in ("running", "restarting", "paused") for s in states),
        "Images": images, "Driver": "overlay2", "DriverStatus": [],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                    "Log": ["json-file", "local", "none"]},
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "OomKillDisable": True,
        "IPv4Forwarding": True, "Debug": debug, "NFd": len(os.listdir("/proc/self/fd")),
        "NGoroutines": 0, "SystemTime": "", "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": _cgroup_version(),
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
        "OSVersion": "", "OSType": "linux", "Architecture": platform.machine(),
        "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(),
        "DockerRootDir": root, "Name": platform.node(), "Labels": [],
        "ExperimentalBuild": False, "ServerVersion": __version__,
        "Runtimes": {"dockyard": {"path": "dockyard-runtime"}, "runc": {"path": "runc"},
                     "crun": {"path": "crun"}},
        "DefaultRuntime": "dockyard", "Swarm": {"LocalNodeState": "inactive"},
        "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "dockyard-init",
        "SecurityOptions": ["name=seccomp,profile=default"], "Warnings": [],
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"]},
    }


def _cgroup_version() -> str:
    from dockyard.runtime.cgroups import detect_mode

    mode = str(detect_mode()).lower()
    return "2" if mode.endswith("v2") or mode == "2" else "1"


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
