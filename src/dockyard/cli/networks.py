"""``network create|ls|inspect|rm|connect|disconnect|prune`` with the docker CLI's flags,
output and exit codes (engine errors exit 1, like every docker command but run)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dockyard.cli.context import engine
from dockyard.errors import DockyardError, InvalidArgument, NotFound

__all__ = ["network_group", "register"]

T = TypeVar("T")


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {what}: {v!r}")
        out[key] = value if sep else ""
    return out


@click.group("network")
def network_group() -> None:
    """Manage networks."""


@network_group.command("create")
@click.option("-d", "--driver", default="bridge", help="Driver to manage the Network.")
@click.option("--subnet", multiple=True, help="Subnet in CIDR format.")
@click.option("--gateway", multiple=True, help="IPv4 Gateway for the master subnet.")
@click.option("--ip-range", multiple=True, help="Allocate container ip from a sub-range.")
@click.option("--internal", is_flag=True, help="Restrict external access to the network.")
@click.option("--attachable", is_flag=True, help="Enable manual container attachment.")
@click.option("--label", multiple=True, help="Set metadata on a network.")
@click.option("-o", "--opt", multiple=True, help="Set driver specific options.")
@click.option("--ipv6", is_flag=True, help="Enable IPv6 networking.")
@click.argument("name")
def create(driver: str, subnet: tuple[str, ...], gateway: tuple[str, ...],
           ip_range: tuple[str, ...], internal: bool, attachable: bool,
           label: tuple[str, ...], opt: tuple[str, ...], ipv6: bool, name: str) -> None:
    """Create a network."""
    if ipv6:
        raise InvalidArgument("IPv6 networks are not supported")
    for flag, values in (("--subnet", subnet), ("--gateway", gateway),
                         ("--ip-range", ip_range)):
        if len(values) > 1:
            raise InvalidArgument(f"only one {flag} per network is supported")
    if len(gateway) > len(subnet):
        raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
    labels, options = _pairs(label, "label"), _pairs(opt, "option")
    result = _daemon(lambda: engine().networks.create(
        name, driver=driver, subnet=subnet[0] if subnet else "",
        gateway=gateway[0] if gateway else "", ip_range=ip_range[0] if ip_range else "",
        internal=internal, attachable=attachable, labels=labels, options=options))
    click.echo(result["Id"])


def _daemon(call: Callable[[], T]) -> T:
    """Engine errors as the docker CLI prints them for these verbs: exit 1."""
    try:
        return call()
    except DockyardError as err:
        click.echo(f"Error response from daemon: {err}", err=True)
        raise click.exceptions.Exit(1) from None


def _filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {v}")
        out.setdefault(key, []).append(value)
    return out


@network_group.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values.")
@click.option("--format", "fmt", default="", help="Pretty-print networks using a Go template.")
def ls(quiet: bool, no_trunc: bool, filters: tuple[str, ...], fmt: str) -> None:
    """List networks."""
    docs = engine().networks.ls(_filters(filters))

    def nid(d: dict[str, Any]) -> str:
        return str(d["Id"]) if no_trunc else str(d["Id"])[:12]

    if quiet:
        for d in docs:
            click.echo(nid(d))
        return
    if fmt:
        from dockyard.cli.template import parse

        tmpl = parse(fmt)
        for d in docs:
            row = {"ID": nid(d), "Name": d["Name"], "Driver": d["Driver"],
                   "Scope": d["Scope"], "IPv6": str(d["EnableIPv6"]).lower(),
                   "Internal": str(d["Internal"]).lower(), "CreatedAt": d["Created"],
                   "Labels": ",".join(f"{k}={v}" for k, v in d["Labels"].items())}
            click.echo(tmpl.execute(row))
        return
    rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + \
        [[nid(d), d["Name"], d["Driver"], d["Scope"]] for d in docs]
    # docker's tabwriter: cells padded by 3, at least 10 wide
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(3)]
    for r in rows:
        click.echo("".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + r[3])


@network_group.command("inspect")
@click.option("-f", "--format", "fmt", default="", help="Format the output using a Go template.")
@click.option("-v", "--verbose", is_flag=True, help="Verbose output for diagnostics.")
@click.argument("networks", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str, verbose: bool, networks: tuple[str, ...]) -> None:
    """Display detailed information on one or more networks."""
    found: list[dict[str, Any]] = []
    failed: list[str] = []
    verbs = engine().networks
    for ref in networks:
        try:
            found.append(verbs.inspect(ref))
        except DockyardError as err:
            failed.append(f"Error: No such network: {ref}" if isinstance(err, NotFound)
                          else f"Error response from daemon: {err}")
    if fmt:
        from dockyard.cli.template import parse

        tmpl = parse(fmt)
        for doc in found:
            click.echo(tmpl.execute(doc))
    else:
        click.echo(json.dumps(found, indent=4))
    for msg in failed:
        click.echo(msg, err=True)
    if failed:
        ctx.exit(1)


@network_group.command("rm")
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist.")
@click.argument("networks", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, networks: tuple[str, ...]) -> None:
    """Remove one or more networks."""
    failed = False
    verbs = engine().networks
    for ref in networks:
        try:
            verbs.remove(ref)
        except NotFound:
            if not force:
                click.echo(f"Error: No such network: {ref}", err=True)
                failed = True
            continue
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            failed = True
            continue
        click.echo(ref)
    if failed:
        ctx.exit(1)


@network_group.command("connect")
@click.option("--ip", default="", help="IPv4 address (e.g., 172.30.100.104).")
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container.")
@click.argument("network")
@click.argument("container")
def connect(ip: str, alias: tuple[str, ...], network: str, container: str) -> None:
    """Connect a container to a network."""
    _daemon(lambda: engine().networks.connect(network, container, ip=ip, aliases=list(alias)))


@network_group.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect.")
@click.argument("network")
@click.argument("container")
def disconnect(force: bool, network: str, container: str) -> None:
    """Disconnect a container from a network."""
    _daemon(lambda: engine().networks.disconnect(network, container, force=force))


@network_group.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values.")
def prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    if not force and not click.confirm(
            "WARNING! This will remove all custom networks not used by at least one "
            "container.\nAre you sure you want to continue?", default=False):
        return
    removed = engine().networks.prune()
    if removed:
        click.echo("Deleted Networks:")
        for name in removed:
            click.echo(name)


network_group.add_command(ls, "list")
network_group.add_command(rm, "remove")


def register(group: click.Group) -> None:
    group.add_command(network_group)
