"""Commands that show containers: ``ps``, ``logs``, ``inspect``.

Output matches the docker CLI: ``ps`` columns and ``--format`` (see ``output.py``),
``inspect`` as a 4-space indented JSON list or one ``-f`` line per object, ``logs``
with docker's ``-f --since --until -n -t --details``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from dockyard.cli.context import app_context, engine
from dockyard.cli.flagtypes import Parsed
from dockyard.errors import DockyardError, InvalidArgument, NotFound

__all__ = ["inspect", "inspect_container", "logs", "parse_filters", "ps", "register"]


def _filter(value: str) -> str:
    key, sep, _ = value.partition("=")
    if not sep or not key:
        raise InvalidArgument("bad format of filter (expected name=value)")
    return value


def parse_filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``--filter k=v`` flags into the Engine API's ``{"k": ["v", …]}``."""
    out: dict[str, list[str]] = {}
    for value in values:
        key, sep, arg = value.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"bad format of filter (expected name=value): {value}")
        out.setdefault(key.strip().lower(), []).append(arg)
    return out


@click.command("ps")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers.")
@click.option("-f", "--filter", "filters", multiple=True, type=Parsed(_filter),
              help="Filter output based on conditions provided.")
@click.option("--format", "fmt", default="", help="Pretty-print containers using a Go "
              "template.")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers.")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
def ps(all_: bool, filters: tuple[str, ...], fmt: str, last: int, latest: bool,
       no_trunc: bool, quiet: bool, size: bool) -> None:
    """List containers."""
    from dockyard.cli.output import render_ps

    limit = 1 if latest else last
    # Like docker, a format that shows .Size asks the engine to measure it.
    want_size = size or ".Size" in fmt
    entries = engine().list(all=all_ or limit > 0, limit=limit, filters=parse_filters(filters),
                            size=want_size)
    if quiet:
        fmt = "{{.ID}}"
    if not fmt and sys.stdout.isatty() and not size:
        _rich_ps(entries, not no_trunc)
        return
    sys.stdout.write(render_ps(entries, fmt, quiet, not no_trunc, size))


def _rich_ps(entries: list[dict[str, Any]], trunc: bool) -> None:
    """On a terminal: the same columns as a rich table."""
    from rich.console import Console
    from rich.table import Table

    from dockyard.cli.output import ps_row

    table = Table(box=None, header_style="bold", pad_edge=False)
    columns = [("CONTAINER ID", "ID"), ("IMAGE", "Image"), ("COMMAND", "Command"),
               ("CREATED", "RunningFor"), ("STATUS", "Status"), ("PORTS", "Ports"),
               ("NAMES", "Names")]
    for title, _ in columns:
        table.add_column(title, no_wrap=True)
    for entry in entries:
        row = ps_row(entry, trunc)
        status = row["Status"]
        style = "green" if status.startswith("Up") else "dim" if status.startswith(
            ("Exited", "Created")) else ""
        table.add_row(*(str(row[key]) for _, key in columns), style=style)
    # Never squeeze or cut columns to the terminal's width: long rows wrap as docker's do.
    Console(width=1000, soft_wrap=True).print(table)


def _print_objects(objects: list[Any], fmt: str | None) -> None:
    if fmt:
        from dockyard.cli.format import Formatter

        formatter = Formatter(fmt, strict=True)
        sys.stdout.write(formatter.render(objects))
    else:
        sys.stdout.write(json.dumps(objects, indent=4, ensure_ascii=False) + "\n")


def _inspect_many(ctx: click.Context, refs: tuple[str, ...], fmt: str | None,
                  lookup: Any, what: str, daemon_errors: bool = False) -> None:
    """Print what ``lookup`` finds for each ref, then one line for each it does not;
    exit 1 if any failed. ``daemon_errors``: other engine errors (an ambiguous prefix)
    are such lines too, as docker prints them, instead of ending the command."""
    found: list[Any] = []
    failed: list[str] = []
    for ref in refs:
        try:
            found.append(lookup(ref))
        except NotFound:
            failed.append(f"Error: No such {what}: {ref}")
        except DockyardError as err:
            if not daemon_errors:
                raise
            failed.append(f"Error response from daemon: {err}")
    _print_objects(found, fmt)
    for msg in failed:
        click.echo(msg, err=True)
    if failed:
        ctx.exit(1)


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def inspect_container(ctx: click.Context, fmt: str | None, size: bool,
                      containers: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    _inspect_many(ctx, containers, fmt, engine().inspect, "container")


def _image_inspect(ref: str) -> dict[str, Any]:
    from dockyard.images import ImageStore

    store = ImageStore(app_context().roots)
    try:
        return store.inspect(ref)
    finally:
        store.close()


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes if the type is "
              "container.")
@click.option("--type", "kind", type=click.Choice(["container", "image"]), default=None,
              help="Return JSON for specified type.")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, size: bool, kind: str | None,
            names: tuple[str, ...]) -> None:
    """Return low-level information on Dockyard objects."""
    eng = engine()

    def lookup(ref: str) -> Any:
        if kind in (None, "container"):
            try:
                return eng.inspect(ref)
            except NotFound:
                if kind == "container":
                    raise
        return _image_inspect(ref)

    _inspect_many(ctx, names, fmt, lookup, kind or "object")


@click.command("logs")
@click.option("--details", is_flag=True, help="Show extra details provided to logs.")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("--since", default=None, help="Show logs since timestamp or relative (42m).")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--until", default=None, help="Show logs before a timestamp or relative.")
@click.argument("container")
def logs(details: bool, follow: bool, since: str | None, tail: str, timestamps: bool,
         until: str | None, container: str) -> None:
    """Fetch the logs of a container."""
    from dockyard.engine.logs import format_entry, parse_since, read_logs
    from dockyard.engine.monitor import read_state

    eng = engine()
    info = eng.inspect(container)
    cid = info["Id"]
    driver = ((info.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") or "json-file"
    if tail == "all":
        lines: int | None = None
    else:
        try:
            lines = int(tail)
        except ValueError:
            raise InvalidArgument(f'invalid value for "tail": {tail}')
    since_ns = parse_since(since, "since") if since else None
    until_ns = parse_since(until, "until") if until else None
    cdir = eng.container_dir(cid)

    def running() -> bool:
        return bool((read_state(cdir) or {}).get("Running"))

    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        for entry in read_logs(cdir, cid, driver, since_ns=since_ns, until_ns=until_ns,
                               tail=lines, follow=follow, is_running=running):
            stream = out if entry.stream == "stdout" else err
            stream.write(format_entry(entry, timestamps, details))
            if follow:
                stream.flush()
    except BrokenPipeError:
        return
    except DockyardError:
        raise


def register(group: click.Group) -> None:
    """Add ps, logs and inspect to ``group``."""
    for command in (ps, logs, inspect):
        group.add_command(command)
