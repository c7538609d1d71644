"""``version``, ``info`` and ``system info|df|check``: the engine and its host.

``--format`` runs over the same dicts the Engine API's ``/version`` and ``/info``
return (``{{.Server.Version}}``, ``{{.ContainersRunning}}``, ``{{json .}}``).
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import click

from dockyard import __version__
from dockyard.cli.context import app_context, engine

__all__ = ["info_dict", "register", "version_dict"]

API_VERSION = "1.41"  # the Engine API of docker 20.10, whose shapes dockyard follows
MIN_API_VERSION = "1.12"


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def version_dict() -> dict[str, Any]:
    """The ``/version`` answer, with the client half ``docker version`` adds."""
    python = platform.python_version()
    server = {
        "Platform": {"Name": "Dockyard Engine"},
        "Components": [{"Name": "Engine", "Version": __version__,
                        "Details": {"ApiVersion": API_VERSION, "Arch": _arch(),
                                    "KernelVersion": platform.release(),
                                    "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
                                    "PythonVersion": python}}],
        "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "PythonVersion": python, "Os": "linux", "Arch": _arch(),
        "KernelVersion": platform.release(),
    }
    client = {"Platform": {"Name": "Dockyard"}, "Version": __version__,
              "ApiVersion": API_VERSION, "DefaultAPIVersion": API_VERSION,
              "PythonVersion": python, "Os": "linux", "Arch": _arch(), "Context": "default"}
    return {"Client": client, "Server": server}


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


def _cgroup_version() -> str:
    from dockyard.runtime.cgroups import detect_mode

    mode = str(detect_mode()).lower()
    return "2" if mode.endswith("v2") or mode == "2" else "1"


def _image_count() -> int:
    from dockyard.images import ImageStore

    store = ImageStore(app_context().roots)
    try:
        return len(store.list())
    finally:
        store.close()


def info_dict() -> dict[str, Any]:
    """The ``/info`` answer for this engine and host."""
    entries = engine().list(all=True)
    states = [e.get("State") for e in entries]
    roots = app_context().roots
    return {
        "ID": "", "Containers": len(entries),
        "ContainersRunning": sum(s in ("running", "restarting") for s in states),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": sum(s not in ("running", "restarting", "paused") for s in states),
        "Images": _image_count(), "Driver": "overlay2", "DriverStatus": [],
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "OomKillDisable": True,
        "Debug": app_context().debug, "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs", "CgroupVersion": _cgroup_version(),
        "KernelVersion": platform.release(), "OperatingSystem": _os_name(),
        "OSType": "linux", "Architecture": platform.machine(), "NCPU": os.cpu_count() or 1,
        "MemTotal": _mem_total(), "DockerRootDir": str(roots.root), "Name": platform.node(),
        "Labels": [], "ServerVersion": __version__,
        "Runtimes": {"dockyard": {"path": "dockyard-runtime"}, "runc": {"path": "runc"},
                     "crun": {"path": "crun"}},
        "DefaultRuntime": "dockyard", "SecurityOptions": ["name=seccomp,profile=default"],
        "Warnings": [],
    }


def _print_formatted(data: Any, fmt: str) -> None:
    from dockyard.cli.format import Formatter

    sys.stdout.write(Formatter(fmt, strict=True).render([data]))


@click.command("version")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template.")
def version(fmt: str | None) -> None:
    """Show the Dockyard version information."""
    data = version_dict()
    if fmt:
        _print_formatted(data, fmt)
        return
    c, s = data["Client"], data["Server"]
    rows = [
        "Client:",
        f" Version:           {c['Version']}",
        f" API version:       {c['ApiVersion']}",
        f" Python version:    {c['PythonVersion']}",
        f" OS/Arch:           {c['Os']}/{c['Arch']}",
        f" Context:           {c['Context']}",
        "",
        f"Server: {s['Platform']['Name']}",
        " Engine:",
        f"  Version:          {s['Version']}",
        f"  API version:      {s['ApiVersion']} (minimum version {s['MinAPIVersion']})",
        f"  Python version:   {s['PythonVersion']}",
        f"  OS/Arch:          {s['Os']}/{s['Arch']}",
        f"  Kernel version:   {s['KernelVersion']}",
    ]
    click.echo("\n".join(rows))


@click.command("info")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template.")
def info(fmt: str | None) -> None:
    """Display system-wide information."""
    from dockyard.cli.units import binary_size

    data = info_dict()
    if fmt:
        _print_formatted(data, fmt)
        return
    rows = [
        "Client:", " Context:    default", f" Debug Mode: {str(data['Debug']).lower()}", "",
        "Server:",
        f" Containers: {data['Containers']}",
        f"  Running: {data['ContainersRunning']}",
        f"  Paused: {data['ContainersPaused']}",
        f"  Stopped: {data['ContainersStopped']}",
        f" Images: {data['Images']}",
        f" Server Version: {data['ServerVersion']}",
        f" Storage Driver: {data['Driver']}",
        f" Logging Driver: {data['LoggingDriver']}",
        f" Cgroup Driver: {data['CgroupDriver']}",
        f" Cgroup Version: {data['CgroupVersion']}",
        f" Runtimes: {' '.join(data['Runtimes'])}",
        f" Default Runtime: {data['DefaultRuntime']}",
        " Security Options:", "  seccomp", "   Profile: default",
        f" Kernel Version: {data['KernelVersion']}",
        f" Operating System: {data['OperatingSystem']}",
        f" OSType: {data['OSType']}",
        f" Architecture: {data['Architecture']}",
        f" CPUs: {data['NCPU']}",
        f" Total Memory: {binary_size(data['MemTotal'])}",
        f" Name: {data['Name']}",
        f" Docker Root Dir: {data['DockerRootDir']}",
        f" Debug Mode: {str(data['Debug']).lower()}",
    ]
    click.echo("\n".join(rows))


@click.command("df")
@click.option("--format", "fmt", default=None, help="Pretty-print using a Go template.")
@click.option("-v", "--verbose", is_flag=True, help="Show detailed information on space usage.")
def df(fmt: str | None, verbose: bool) -> None:
    """Show disk usage (images, containers, volumes, build cache and container logs)."""
    from dockyard.cli.diskusage import render_df
    from dockyard.engine.diskusage import disk_usage
    from dockyard.images import ImageStore

    store = ImageStore(app_context().roots)
    try:
        images = store.list()
        usage = disk_usage(engine(), images)
    finally:
        store.close()
    sys.stdout.write(render_df(usage, fmt, verbose))


@click.command("check")
@click.option("--repair", is_flag=True, help="Fix what can be fixed without losing data.")
@click.pass_context
def check(ctx: click.Context, repair: bool) -> None:
    """Verify the image store and that every container is accounted for."""
    from dockyard.images import ImageStore
    from dockyard.images import check as check_images

    store = ImageStore(app_context().roots)
    try:
        report = check_images(store, repair=repair)
    finally:
        store.close()
    problems = list(report.problems)
    for note in report.repaired:
        click.echo(f"repaired: {note}")
    for p in engine().check(repair=repair):
        line = f"container {p['id'][:12]}: {p['kind']}: {p['detail']}"
        if p.get("repaired"):
            click.echo(f"repaired: {line}")
        else:
            problems.append(line)
    for line in problems:
        click.echo(f"problem: {line}", err=True)
    if problems:
        ctx.exit(1)
    click.echo("ok: image store and containers are consistent")


@click.group("system")
def system_group() -> None:
    """Manage Dockyard."""


def register(group: click.Group) -> None:
    """Add ``version``, ``info`` and the ``system`` group."""
    group.add_command(version)
    group.add_command(info)
    system_group.add_command(info)
    system_group.add_command(df)
    system_group.add_command(check)
    group.add_command(system_group)
