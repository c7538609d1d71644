"""Operations commands: ``events``, ``stats``, ``system boot`` and ``system metrics``."""

from __future__ import annotations

import sys

import click

from dockyard.cli.context import app_context, engine
from dockyard.errors import InvalidArgument

__all__ = ["boot", "metrics", "parse_addr", "register"]


@click.command("boot")
def boot() -> None:
    """Start the containers a machine restart stopped (restart policies always,
    unless-stopped, on-failure)."""
    failed = 0
    for cid, error in engine().boot():
        if error:
            failed += 1
            click.echo(f"Error: {cid[:12]}: {error}", err=True)
        else:
            click.echo(cid)
    if failed:
        sys.exit(1)


def parse_addr(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InvalidArgument(f"invalid metrics address {text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.command("metrics")
@click.option("--addr", default="", help="Serve Prometheus metrics on HOST:PORT (e.g. "
              "127.0.0.1:9323) instead of printing them once.")
def metrics(addr: str) -> None:
    """Prometheus metrics of the running containers (cAdvisor's names)."""
    import os

    from dockyard.engine.metrics import render_metrics, serve_metrics

    if not addr:
        sys.stdout.write(render_metrics(engine()))
        return
    host, port = parse_addr(addr)

    def ready(server: object) -> None:
        click.echo(f"serving metrics on http://{host}:{server.server_address[1]}/metrics",  # type: ignore[attr-defined]
                   err=True)

    try:
        serve_metrics(app_context().roots, host, port,
                      os.environ.get("DOCKYARD_CGROUP_PARENT"), ready)
    except KeyboardInterrupt:
        pass


def register(group: click.Group) -> None:
    from dockyard.cli.events import events
    from dockyard.cli.stats import stats

    group.add_command(events)
    group.add_command(stats)
    system = group.commands.get("system")
    if isinstance(system, click.Group):
        system.add_command(boot)
        system.add_command(metrics)
