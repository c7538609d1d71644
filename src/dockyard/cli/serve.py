"""``dockyard serve``: the Docker Engine API on unix sockets (and loopback/TLS TCP)."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from dockyard.cli.context import app_context

__all__ = ["register"]

DEFAULT_HOST = "unix:///run/dockyard/docker.sock"


@click.command("serve")
@click.option("-H", "--host", "hosts", multiple=True,
              help="Daemon socket to listen on: unix:///PATH or tcp://HOST:PORT.")
@click.option("--tlsverify", is_flag=True, help="Require client certificates signed by "
              "--tlscacert.")
@click.option("--tlscacert", default="", help="CA that signs client certificates.")
@click.option("--tlscert", default="", help="Server certificate.")
@click.option("--tlskey", default="", help="Server key.")
def serve_cmd(hosts: tuple[str, ...], tlsverify: bool, tlscacert: str, tlscert: str,
              tlskey: str) -> None:
    """Serve the Docker Engine API, so docker clients drive this engine."""
    from dockyard.api import ApiContext, TlsOptions, make_app, parse_host, serve

    app_ctx = app_context()
    logging.basicConfig(level=logging.DEBUG if app_ctx.debug else logging.WARNING,
                        format="dockyard serve: %(message)s", stream=sys.stderr)
    listeners = [parse_host(h) for h in hosts or (DEFAULT_HOST,)]
    tls = TlsOptions(tlsverify, tlscacert, tlscert, tlskey)
    context = ApiContext(app_ctx.roots)
    context.debug = app_ctx.debug

    def ready() -> None:
        click.echo("API listening on " + ", ".join(hosts or (DEFAULT_HOST,)), err=True)

    try:
        asyncio.run(serve(make_app(context), listeners, tls, ready))
    finally:
        context.close()


def register(group: click.Group) -> None:
    """Add serve."""
    group.add_command(serve_cmd)
