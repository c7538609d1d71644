"""Registry commands: ``pull``, ``push``, ``login``, ``logout`` and
``registry serve`` (the built-in OCI registry).

Plain http is used for loopback registries and those listed in
``DOCKYARD_INSECURE_REGISTRIES`` (comma-separated ``host[:port]`` or CIDRs), docker's
rule.
``DOCKYARD_REGISTRY_MIRRORS`` (comma-separated urls) are tried before Docker Hub.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli.context import app_context
from dockyard.errors import InvalidArgument

__all__ = ["register"]


def _list_env(name: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in os.environ.get(name, "").split(",") if h.strip())


def _insecure() -> frozenset[str]:
    return frozenset(_list_env("DOCKYARD_INSECURE_REGISTRIES"))


def _auth(domain: str) -> Any:
    from dockyard.distribution import Auth, get_credentials

    creds = get_credentials(domain)
    return Auth(*creds) if creds else Auth()


def _store() -> Any:
    from dockyard.engine import image_users
    from dockyard.images import ImageStore

    roots = app_context().roots
    return ImageStore(roots, in_use=image_users(roots))


@click.command("pull")
@click.argument("name")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.option("--platform", default="", help="Set platform if server is multi-platform.")
@click.option("-a", "--all-tags", is_flag=True, help="Download all tagged images.")
def pull_command(name: str, quiet: bool, platform: str, all_tags: bool = False) -> None:
    """Download an image from a registry."""
    from dockyard.distribution import list_tags
    from dockyard.oci import parse_reference

    if not all_tags:
        _pull_one(name, quiet, platform)
        return
    ref = parse_reference(name, default_tag="")
    if ref.tag or ref.digest:
        raise InvalidArgument("tag can't be used with --all-tags/-a")
    for tag in asyncio.run(list_tags(ref, insecure=_insecure(), auth=_auth(ref.domain))):
        _pull_one(str(ref.with_tag(tag)), quiet, platform)


def _pull_one(name: str, quiet: bool, platform: str) -> None:
    from dockyard.cli.progress import LayerProgress
    from dockyard.distribution import pull
    from dockyard.oci import Descriptor, Platform, parse_reference

    ref = parse_reference(name)
    want = Platform.parse(platform) if platform else None
    if not quiet:
        click.echo(f"{ref.tag or ref.digest}: Pulling from {ref.path}")
    with _store() as store, LayerProgress(quiet) as shown:
        before = _image_id(store, str(ref))

        def progress(desc: Descriptor, status: str, done: int) -> None:
            if "layer" in desc.media_type:
                shown.update(desc.digest.short, status, done, desc.size)

        image = asyncio.run(pull(store, ref, platform=want, insecure=_insecure(),
                                 auth=_auth(ref.domain), progress=progress,
                                 mirrors=_list_env("DOCKYARD_REGISTRY_MIRRORS")))
    from dockyard.engine.events import image_event

    image_event(app_context().roots, "pull", ref.familiar(), ref.familiar())
    if quiet:
        click.echo(ref.familiar())
        return
    digest = next((d.rpartition("@")[2] for d in image.repo_digests
                   if d.startswith(ref.name + "@")), "")
    click.echo(f"Digest: {digest}")
    status = "Image is up to date" if before == str(image.id) else "Downloaded newer image"
    click.echo(f"Status: {status} for {ref.familiar()}")
    click.echo(str(ref))


def _image_id(store: Any, ref: str) -> str:
    """The id ``ref`` names in the store now ("" for none)."""
    from dockyard.errors import NotFound

    try:
        return str(store.resolve(ref).id)
    except NotFound:
        return ""


@click.command("push")
@click.argument("name")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.option("--compression-format", "compression", default="gzip", show_default=True,
              type=click.Choice(["gzip", "zstd"]),
              help="Compress uncompressed layers with this (podman's flag).")
def push_command(name: str, quiet: bool, compression: str = "gzip") -> None:
    """Upload an image to a registry."""
    from dockyard.cli.progress import LayerProgress
    from dockyard.distribution import push
    from dockyard.oci import Descriptor, parse_reference

    ref = parse_reference(name)
    if not quiet:
        click.echo(f"The push refers to repository [{ref.name}]")
    with _store() as store, LayerProgress(quiet) as shown:
        def progress(desc: Descriptor, status: str, done: int) -> None:
            shown.update(desc.digest.short, status, done, desc.size)

        sent = asyncio.run(push(store, name, ref, insecure=_insecure(),
                                  auth=_auth(ref.domain), progress=progress,
                                  compression=compression))
    click.echo(ref.familiar() if quiet else
               f"{ref.tag}: digest: {sent.digest} size: {sent.size}")
    from dockyard.engine.events import image_event

    image_event(app_context().roots, "push", ref.familiar(), ref.familiar())


@click.command("login")
@click.argument("server", required=False, default="")
@click.option("-u", "--username", default="", help="Username.")
@click.option("-p", "--password", default="", help="Password.")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
def login_command(server: str, username: str, password: str, password_stdin: bool) -> None:
    """Log in to a registry (docker.io when no server is given)."""
    from dockyard.distribution import check_login, store_credentials
    from dockyard.oci import DEFAULT_DOMAIN

    if password_stdin:
        if password:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.read().rstrip("\r\n")
    if not username or not password:
        raise InvalidArgument("username and password required (non-interactive login)")
    domain = _domain(server) or DEFAULT_DOMAIN
    asyncio.run(check_login(domain, username, password, _insecure()))
    store_credentials(domain, username, password)
    click.echo("Login Succeeded")


def _domain(server: str) -> str:
    """``https://host:5000/v2/`` → ``host:5000``."""
    server = server.strip()
    for prefix in ("https://", "http://"):
        server = server.removeprefix(prefix)
    return server.split("/", 1)[0]


@click.command("logout")
@click.argument("server", required=False, default="")
def logout_command(server: str) -> None:
    """Log out from a registry."""
    from dockyard.distribution import erase_credentials
    from dockyard.oci import DEFAULT_DOMAIN

    domain = _domain(server) or DEFAULT_DOMAIN
    if erase_credentials(domain):
        click.echo(f"Removing login credentials for {domain}")
    else:
        click.echo(f"Not logged in to {domain}")


@click.group("registry")
def registry() -> None:
    """Run a private OCI registry."""


@registry.command("serve")
@click.option("--addr", default="127.0.0.1:5000", show_default=True,
              help="Address to listen on (host:port).")
@click.option("--root", "root", required=True, type=click.Path(file_okay=False),
              help="Directory that holds the registry's content.")
@click.option("--read-only", is_flag=True, help="Refuse pushes and deletes.")
@click.option("--htpasswd", default=None, type=click.Path(dir_okay=False),
              help="Require basic auth from this htpasswd file (bcrypt).")
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False),
              help="Serve https with this PEM certificate (chain).")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False),
              help="The PEM private key of --tls-cert.")
@click.option("--token-realm", default="", help="Require bearer tokens from this token "
              "service url.")
@click.option("--token-service", default="dockyard", show_default=True,
              help="The audience the tokens must name.")
@click.option("--token-issuer", default="", help="The issuer the tokens must name.")
@click.option("--token-key", default=None, type=click.Path(dir_okay=False),
              help="PEM public key of the token service (RS256 or ES256).")
@click.option("--max-blob-size", default=0, type=click.IntRange(min=0),
              help="Refuse blobs larger than this many bytes (0: no limit).")
def serve_command(addr: str, root: str, read_only: bool, htpasswd: str | None,
                  tls_cert: str | None, tls_key: str | None, token_realm: str,
                  token_service: str, token_issuer: str, token_key: str | None,
                  max_blob_size: int) -> None:
    """Serve the OCI distribution API from ROOT."""
    from dockyard.distribution.server import TokenAuth, serve

    if bool(token_realm) != bool(token_key):
        raise InvalidArgument("--token-realm and --token-key go together")
    tokens = TokenAuth(token_realm, token_service, token_issuer, Path(token_key)) \
        if token_realm and token_key else None

    if bool(tls_cert) != bool(tls_key):
        raise InvalidArgument("--tls-cert and --tls-key go together")
    tls = (Path(tls_cert), Path(tls_key)) if tls_cert and tls_key else None

    def ready(port: int) -> None:
        host = addr.rpartition(":")[0] or "0.0.0.0"
        print(f"listening on {host}:{port}", file=sys.stderr, flush=True)

    try:
        serve(Path(root), addr, read_only, ready, Path(htpasswd) if htpasswd else None, tls,
              tokens, max_blob_size)
    except KeyboardInterrupt:
        pass


@registry.command("gc")
@click.option("--root", "root", required=True, type=click.Path(file_okay=False, exists=True),
              help="Directory that holds the registry's content.")
@click.option("--grace", default=3600.0, show_default=True,
              help="Keep unlinked blobs younger than this many seconds.")
@click.option("--upload-ttl", default=7 * 86400.0, show_default=True,
              help="Drop uploads idle for this many seconds.")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
def gc_command(root: str, grace: float, upload_ttl: float, dry_run: bool) -> None:
    """Delete blobs no repository links (safe while the registry serves)."""
    from dockyard.distribution.server import collect

    if grace < 0 or upload_ttl < 0:
        raise InvalidArgument("--grace and --upload-ttl: want a non-negative number")
    report = collect(Path(root), grace, upload_ttl, dry_run)
    for digest in report.deleted:
        click.echo(f"{'would delete' if dry_run else 'deleted'}: {digest}")
    click.echo(f"Total reclaimed space: {report.freed} bytes, {report.uploads} stale uploads")


def register(group: click.Group) -> None:
    for command in (pull_command, push_command, login_command, logout_command, registry):
        group.add_command(command)
