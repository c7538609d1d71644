"""``dockyard serve``: the Docker Engine API on unix sockets (and loopback/TLS TCP)."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from dockyard.cli.context import AppContext, app_context

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
@click.option("--metrics-addr", default="", help="Also serve Prometheus metrics on "
              "HOST:PORT (e.g. 127.0.0.1:9323).")
@click.option("--no-boot", is_flag=True, help="Do not start the containers whose restart "
              "policy brings them back (as after a machine restart).")
def serve_cmd(hosts: tuple[str, ...], tlsverify: bool, tlscacert: str, tlscert: str,
              tlskey: str, metrics_addr: str, no_boot: bool) -> None:
    """Serve the Docker Engine API, so docker clients drive this engine."""
    from dockyard.api import ApiContext, TlsOptions, make_app, parse_host, serve

    app_ctx = app_context()
    _operations(app_ctx, metrics_addr, no_boot)
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


def _operations(app_ctx: AppContext, metrics_addr: str, no_boot: bool) -> None:
    """What dockerd does as it starts: bring back ``always``/``unless-stopped``
    containers (``system boot``), and serve metrics in a thread."""
    import os
    import threading

    if not no_boot:
        for cid, error in app_ctx.engine().boot():
            if error:
                click.echo(f"dockyard serve: could not restart {cid[:12]}: {error}", err=True)
    if metrics_addr:
        from dockyard.cli.ops import parse_addr
        from dockyard.engine.metrics import serve_metrics

        host, port = parse_addr(metrics_addr)
        threading.Thread(target=serve_metrics, daemon=True, name="metrics",
                         args=(app_ctx.roots, host, port,
                               os.environ.get("DOCKYARD_CGROUP_PARENT"))).start()


def register(group: click.Group) -> None:
    """Add serve."""
    group.add_command(serve_cmd)
