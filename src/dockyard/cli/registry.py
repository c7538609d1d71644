"""``dockyard registry serve``: the built-in OCI registry."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["register"]


@click.group("registry")
def registry() -> None:
    """Run a private OCI registry."""


@registry.command("serve")
@click.option("--addr", default="127.0.0.1:5000", show_default=True,
              help="Address to listen on (host:port).")
@click.option("--root", "root", required=True, type=click.Path(file_okay=False),
              help="Directory that holds the registry's content.")
@click.option("--read-only", is_flag=True, help="Refuse pushes and deletes.")
def serve_command(addr: str, root: str, read_only: bool) -> None:
    """Serve the OCI distribution API from ROOT."""
    from dockyard.distribution.server import serve

    def ready(port: int) -> None:
        host = addr.rpartition(":")[0] or "0.0.0.0"
        print(f"listening on {host}:{port}", file=sys.stderr, flush=True)

    try:
        serve(Path(root), addr, read_only, ready)
    except KeyboardInterrupt:
        pass


def register(group: click.Group) -> None:
    group.add_command(registry)
