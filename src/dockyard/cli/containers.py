"""Container commands other than run/create/start/attach (``run.py``).

Each verb that takes several containers acts on each in turn, prints the name it was
given for each success and ``Error response from daemon: …`` for each failure, and
exits 1 if any failed — as the docker CLI does. ``container <verb>`` aliases them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.context import app_context, engine
from dockyard.cli.flagtypes import BYTES, INT, Parsed
from dockyard.cli.runflags import parse_rate_flag
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.engine import Engine

__all__ = ["container_group", "register"]


def _each(ctx: click.Context, refs: tuple[str, ...], action: Callable[[str], object],
          echo: bool = True) -> None:
    failed = False
    for ref in refs:
        try:
            action(ref)
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            failed = True
            continue
        if echo:
            click.echo(ref)
    if failed:
        ctx.exit(1)


def _parallel(ctx: click.Context, refs: tuple[str, ...],
              action: Callable[[Engine, str], object]) -> None:
    """Like ``_each``, but the containers are handled at the same time (as docker's
    stop, kill, restart and rm are), each thread with its own engine object; results
    are reported in the order the containers were given."""
    if len(refs) == 1:
        eng = engine()
        _each(ctx, refs, lambda ref: action(eng, ref))
        return
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()
    app = app_context()

    def work(ref: str) -> DockyardError | None:
        if not hasattr(local, "engine"):
            local.engine = app.new_engine()
        try:
            action(local.engine, ref)
        except DockyardError as err:
            return err
        return None

    failed = False
    with ThreadPoolExecutor(max_workers=min(len(refs), 16)) as pool:
        for ref, error in zip(refs, pool.map(work, refs), strict=True):
            if error is not None:
                click.echo(f"Error response from daemon: {error}", err=True)
                failed = True
            else:
                click.echo(ref)
    if failed:
        ctx.exit(1)


@click.command("stop")
@click.option("-t", "--time", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container.")
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def stop(ctx: click.Context, timeout: int | None, sig: str | None,
         containers: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    def stop_one(eng: Engine, ref: str) -> None:
        if sig is not None:
            eng.kill(ref, sig)
        eng.stop(ref, timeout)

    _parallel(ctx, containers, stop_one)


@click.command("kill")
@click.option("-s", "--signal", "sig", default="KILL", help="Signal to send to the container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def kill(ctx: click.Context, sig: str, containers: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    _parallel(ctx, containers, lambda eng, ref: eng.kill(ref, sig))


@click.command("restart")
@click.option("-t", "--time", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    _parallel(ctx, containers, lambda eng, ref: eng.restart(ref, timeout))


@click.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes.")
@click.option("-l", "--link", is_flag=True, help="Remove the specified link.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, volumes: bool, link: bool,
       containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    _parallel(ctx, containers, lambda eng, ref: eng.remove(ref, force=force, volumes=volumes))


@click.command("wait")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    eng = engine()
    _each(ctx, containers, lambda ref: click.echo(eng.wait(ref)["StatusCode"]), echo=False)


@click.command("rename")
@click.argument("container")
@click.argument("new_name")
def rename(container: str, new_name: str) -> None:
    """Rename a container."""
    engine().rename(container, new_name)


@click.command("pause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def pause(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    eng = engine()
    _each(ctx, containers, eng.pause)


@click.command("unpause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def unpause(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    eng = engine()
    _each(ctx, containers, eng.unpause)


_KINDS = {0: "C", 1: "A", 2: "D"}


@click.command("diff")
@click.argument("container")
def diff(container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    for change in engine().changes(container):
        click.echo(f"{_KINDS.get(change['Kind'], '?')} {change['Path']}")


def _cpus(text: str) -> int:
    from dockyard.cli.opts import parse_cpus

    return parse_cpus(text)


@click.command("update")
@click.option("--blkio-weight", type=INT, default=None, help="Block IO weight (10-1000).")
@click.option("--cpu-period", type=INT, default=None, help="Limit CPU CFS period.")
@click.option("--cpu-quota", type=INT, default=None, help="Limit CPU CFS quota.")
@click.option("-c", "--cpu-shares", type=INT, default=None, help="CPU shares.")
@click.option("--cpus", type=Parsed(_cpus), default=None, help="Number of CPUs.")
@click.option("--cpuset-cpus", default=None, help="CPUs in which to allow execution.")
@click.option("--cpuset-mems", default=None, help="MEMs in which to allow execution.")
@click.option("-m", "--memory", type=BYTES, default=None, help="Memory limit.")
@click.option("--memory-reservation", type=BYTES, default=None, help="Memory soft limit.")
@click.option("--memory-swap", default=None, help="Swap limit; -1 for unlimited.")
@click.option("--pids-limit", type=INT, default=None, help="Tune container pids limit.")
@click.option("--restart", default=None, help="Restart policy to apply.")
@click.option("--egress-rate", type=Parsed(parse_rate_flag), default=None,
              help="Limit the bandwidth the container sends (e.g. 10mbit, 0: none).")
@click.option("--ingress-rate", type=Parsed(parse_rate_flag), default=None,
              help="Limit the bandwidth the container receives (e.g. 10mbit, 0: none).")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def update(ctx: click.Context, /, containers: tuple[str, ...], **flags: Any) -> None:
    """Update configuration of one or more containers."""
    from dockyard.cli.opts import parse_restart
    from dockyard.cli.units import parse_bytes

    keys = {"blkio_weight": "BlkioWeight", "cpu_period": "CpuPeriod", "cpu_quota": "CpuQuota",
            "cpu_shares": "CpuShares", "cpus": "NanoCpus", "cpuset_cpus": "CpusetCpus",
            "cpuset_mems": "CpusetMems", "memory": "Memory",
            "memory_reservation": "MemoryReservation", "pids_limit": "PidsLimit",
            "egress_rate": "EgressRate", "ingress_rate": "IngressRate"}
    resources: dict[str, Any] = {keys[k]: v for k, v in flags.items()
                                 if k in keys and v is not None}
    if flags["memory_swap"] is not None:
        swap = flags["memory_swap"]
        resources["MemorySwap"] = -1 if swap == "-1" else parse_bytes(swap)
    if flags["restart"] is not None:
        resources["RestartPolicy"] = parse_restart(flags["restart"])
    if not resources:
        raise click.UsageError("you must provide one or more flags when using this command")
    eng = engine()

    def update_one(ref: str) -> None:
        for warning in eng.update(ref, resources) or []:
            click.echo(f"WARNING: {warning}", err=True)

    _each(ctx, containers, update_one)


@click.command("port")
@click.argument("container")
@click.argument("private_port", required=False)
def port(container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from dockyard.network.ports import format_port

    ports = (engine().inspect(container).get("NetworkSettings") or {}).get("Ports") or {}
    for line in format_port(ports, container, private_port):
        click.echo(line)


@click.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values.")
def prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    from dockyard.cli.units import human_size

    if filters:
        raise click.UsageError("container prune: --filter is not supported yet")
    if not force:
        click.echo("WARNING! This will remove all stopped containers.")
        if not click.confirm("Are you sure you want to continue?", default=False,
                             show_default=False, prompt_suffix=" [y/N] "):
            return
    report = engine().prune()
    deleted = report.get("ContainersDeleted") or []
    if deleted:
        click.echo("Deleted Containers:")
        for cid in deleted:
            click.echo(cid)
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")


@click.command("top")
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
def top(container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    from dockyard.cli.format import tabwrite

    result = engine().top(container, " ".join(ps_args) or "-ef")
    lines = ["\t".join(result["Titles"])] + ["\t".join(p) for p in result["Processes"]]
    sys.stdout.write(tabwrite("\n".join(lines) + "\n", minwidth=20, padding=3))


@click.command("export")
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT.")
@click.argument("container")
def export(output: str | None, container: str) -> None:
    """Export a container's filesystem as a tar archive."""
    eng = engine()
    if output is None and sys.stdout.isatty():
        raise DockyardError("cowardly refusing to save to a terminal. Use the -o flag or "
                            "redirect")
    if output is None:
        eng.export(container, sys.stdout.buffer)
        return
    with open(output, "wb") as f:
        eng.export(container, f)



def register(group: click.Group) -> None:
    """Add the container verbs, their ``container`` aliases and the ``container`` group."""
    from dockyard.cli import execs, listing, run

    run.register(group)
    listing.register(group)
    execs.register(group)
    for command in (stop, kill, restart, rm, wait, rename, pause, unpause, diff, update, port,
                    top, export):
        group.add_command(command)
    group.add_command(container_group)


@click.group("container")
def container_group() -> None:
    """Manage containers."""


def _fill_container_group() -> None:
    from dockyard.cli import execs, listing, run

    for command in (run.run, run.create, run.start, run.attach_cmd, execs.exec_cmd,
                    execs.commit, stop, kill, restart, rm,
                    wait, rename, pause, unpause, diff, update, port, top, export, prune,
                    listing.logs, listing.inspect_container):
        container_group.add_command(command)
    container_group.add_command(listing.ps, "ls")
    container_group.add_command(listing.ps, "ps")
    container_group.add_command(listing.ps, "list")


_fill_container_group()
