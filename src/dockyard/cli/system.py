"""``version``, ``info`` and ``system info|df|check``: the engine and its host.

``--format`` runs over the same dicts the Engine API's ``/version`` and ``/info``
return (``{{.Server.Version}}``, ``{{.ContainersRunning}}``, ``{{json .}}``).
"""

from __future__ import annotations

import platform
import sys
from typing import Any

import click

from dockyard import __version__
from dockyard.cli.context import app_context, engine

__all__ = ["info_dict", "register", "version_dict"]

API_VERSION = "1.41"  # the Engine API of docker 20.10, whose shapes dockyard follows
MIN_API_VERSION = "1.12"


def version_dict() -> dict[str, Any]:
    """The ``/version`` answer, with the client half ``docker version`` adds."""
    from dockyard.engine.sysinfo import arch, server_version

    client = {"Platform": {"Name": "Dockyard"}, "Version": __version__,
              "ApiVersion": API_VERSION, "DefaultAPIVersion": API_VERSION,
              "PythonVersion": platform.python_version(), "Os": "linux", "Arch": arch(),
              "Context": "default"}
    return {"Client": client, "Server": server_version(API_VERSION, MIN_API_VERSION)}


def _image_count() -> int:
    from dockyard.images import ImageStore

    store = ImageStore(app_context().roots)
    try:
        return len(store.list())
    finally:
        store.close()


def info_dict() -> dict[str, Any]:
    """The ``/info`` answer for this engine and host."""
    from dockyard.engine.sysinfo import info

    return info(engine().list(all=True), _image_count(), str(app_context().roots.root),
                app_context().debug)


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
