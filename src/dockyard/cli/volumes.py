"""``volume create|ls|inspect|rm|prune``: docker's volume verbs, output and messages."""

from __future__ import annotations

import sys
from typing import Any

import click

from dockyard.cli.context import engine
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["register"]


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if what == "opt" and not sep:
            raise InvalidArgument(f'invalid argument "{v}" for "-o, --opt" flag: '
                                  "invalid key value pair format in driver options")
        out[key] = value
    return out


@click.group("volume")
def volume_group() -> None:
    """Manage volumes."""


@volume_group.command("create")
@click.option("-d", "--driver", default="local", help="Specify volume driver name.")
@click.option("--label", multiple=True, help="Set metadata for a volume.")
@click.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options.")
@click.option("--name", "name_opt", default=None, help="Specify volume name.")
@click.argument("name", required=False)
def create(driver: str, label: tuple[str, ...], opts: tuple[str, ...], name_opt: str | None,
           name: str | None) -> None:
    """Create a volume."""
    if name and name_opt and name != name_opt:
        raise InvalidArgument("conflicting options: either specify --name or provide "
                              "positional arg, not both")
    vol = engine().volume_create(name or name_opt, driver, _pairs(opts, "opt"),
                                 _pairs(label, "label"))
    click.echo(vol["Name"])


@volume_group.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template.")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more volumes."""
    from dockyard.cli.listing import _inspect_many

    _inspect_many(ctx, names, fmt, engine().volume_inspect, "volume")


@volume_group.command("ls")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values.")
@click.option("--format", "fmt", default="", help="Pretty-print volumes using a Go template.")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
def ls(filters: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """List volumes."""
    from dockyard.cli.format import Formatter
    from dockyard.cli.listing import parse_filters

    vols = engine().volume_list(parse_filters(filters))
    if quiet:
        for v in vols:
            click.echo(v["Name"])
        return
    rows: list[dict[str, Any]] = [{**v, "Labels": ",".join(
        f"{k}={val}" for k, val in sorted((v.get("Labels") or {}).items()))} for v in vols]
    default = "table {{.Driver}}\t{{.Name}}"
    headers = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE",
               "Mountpoint": "MOUNTPOINT", "Labels": "LABELS"}
    sys.stdout.write(Formatter(fmt or default, headers, default).render(rows))


@volume_group.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes.")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, names: tuple[str, ...]) -> None:
    """Remove one or more volumes."""
    eng = engine()
    failed = False
    for name in names:
        try:
            eng.volume_remove(name, force)
        except DockyardError as err:
            click.echo(f"Error: {err}", err=True)
            failed = True
            continue
        click.echo(name)
    if failed:
        ctx.exit(1)


@volume_group.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values.")
def prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused local volumes."""
    from dockyard.cli.listing import parse_filters
    from dockyard.cli.units import human_size

    if not force:
        click.echo("WARNING! This will remove all local volumes not used by at least one "
                   "container.")
        if not click.confirm("Are you sure you want to continue?", default=False,
                             show_default=False, prompt_suffix=" [y/N] "):
            return
    report = engine().volume_prune(parse_filters(filters))
    deleted = report.get("VolumesDeleted") or []
    if deleted:
        click.echo("Deleted Volumes:")
        for name in deleted:
            click.echo(name)
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}")


def register(group: click.Group) -> None:
    group.add_command(volume_group)
