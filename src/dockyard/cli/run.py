"""``run``, ``create``, ``start`` and ``attach``: making containers and staying with them.

``run`` does what the docker CLI does: create (printing "Unable to find image…" when
the image is unknown), start, then either print the full id (``-d``) or stay attached
until the container ends and exit with its status, forwarding signals (``--sig-proxy``).
Engine errors exit 125, a command that cannot run 126, a missing command 127.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.context import engine
from dockyard.cli.runflags import CreateRequest, build_request, create_options, run_options
from dockyard.errors import DockyardError, InvalidArgument, NotFound

if TYPE_CHECKING:
    import socket

    from dockyard.engine import Engine

__all__ = ["register"]

_RUN_SETTINGS = {"allow_interspersed_args": False, "help_option_names": ["--help"]}
# Signals docker's --sig-proxy forwards to a foreground container.
_PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
            signal.SIGUSR2)


def _create(eng: Engine, req: CreateRequest) -> str:
    if req.cidfile and os.path.exists(req.cidfile):
        raise InvalidArgument(f"container ID file found, make sure the other container "
                              f"isn't running or delete {req.cidfile}")
    image = req.config["Image"]
    if req.pull == "always":
        _pull(image)

    def create() -> dict[str, Any]:
        return dict(eng.create(req.name or None, req.config, req.host_config,
                               req.networking_config))

    try:
        result = create()
    except NotFound as err:
        if "image" not in str(err):
            raise
        shown = image if ":" in image.rsplit("/", 1)[-1] or "@" in image else \
            f"{image}:latest"
        click.echo(f"Unable to find image '{shown}' locally", err=True)
        if req.pull != "missing" or not _pullable(image):
            raise
        _pull(image)
        result = create()
    for warning in result.get("Warnings") or []:
        click.echo(f"WARNING: {warning}", err=True)
    if req.cidfile:
        try:
            with open(req.cidfile, "x") as f:
                f.write(result["Id"])
        except OSError as err:
            eng.remove(result["Id"], force=True)
            raise InvalidArgument(f"failed to write the container ID file {req.cidfile}: "
                                  f"{err.strerror}")
    return str(result["Id"])


def _pullable(image: str) -> bool:
    """Whether a missing image may be pulled: only from a registry the reference names
    (``host:port/name``), since docker.io is never reached from here."""
    from dockyard.oci import DEFAULT_DOMAIN, parse_reference

    try:
        ref = parse_reference(image)
    except DockyardError:
        return False
    return bool(ref.domain) and ref.domain != DEFAULT_DOMAIN


def _pull(image: str) -> None:
    """``dockyard pull``, its progress on stderr as ``docker run`` shows it."""
    from dockyard.cli.registry import pull_command

    with contextlib.redirect_stdout(sys.stderr):
        click.get_current_context().invoke(pull_command, name=image, quiet=False,
                                           platform="")


@contextlib.contextmanager
def _proxy_signals(eng: Engine, cid: str, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(DockyardError):
            eng.kill(cid, signum)

    saved = {s: signal.signal(s, forward) for s in _PROXIED}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _attach(eng: Engine, cid: str, stdin: bool, detach_keys: str | None) -> int | None:
    """Relay through the monitor of the running container (from now on)."""
    from dockyard.engine.monitor import DEFAULT_DETACH_KEYS, attach, parse_detach_keys

    keys = parse_detach_keys(detach_keys) if detach_keys else DEFAULT_DETACH_KEYS
    sys.stdout.flush()
    return attach(eng.run_dir(cid), stdin=0 if stdin else None, detach_keys=keys)


def _start_attached(eng: Engine, cid: str, cfg: dict[str, Any],
                    auto_remove: bool) -> socket.socket | None:
    """Start ``cid`` attached first, as docker's client does: its new monitor connects to
    us before the container exists, so no output is lost, even with no log kept. None
    when the container ran already (no new monitor: attach to it as it runs)."""
    from dockyard.engine.monitor import AttachPoint

    with AttachPoint(bool(cfg["AttachStdout"]), bool(cfg["AttachStderr"])) as point:
        _start_or_clean(eng, cid, auto_remove, point.spec)
        return point.accept()


def _stay_attached(eng: Engine, cid: str, cfg: dict[str, Any], hc: dict[str, Any],
                   sig_proxy: bool, detach_keys: str | None,
                   sock: socket.socket | None) -> int:
    """Relay the container's stdio (on ``sock``, made before its start, or a new attach),
    then return its exit status."""
    from dockyard.engine.monitor import DEFAULT_DETACH_KEYS, parse_detach_keys, read_state, relay

    cdir = eng.container_dir(cid)
    stdin = bool(cfg["AttachStdin"])
    with _proxy_signals(eng, cid, sig_proxy and not cfg["Tty"]):
        if sock is not None:
            sys.stdout.flush()
            keys = parse_detach_keys(detach_keys) if detach_keys else DEFAULT_DETACH_KEYS
            code = relay(sock, stdin=0 if stdin else None, detach_keys=keys)
        else:
            code = _attach(eng, cid, stdin, detach_keys)
        if code is None and stdin:  # detached with the detach keys: the container runs on
            return 0
        if code is not None and not hc.get("AutoRemove"):
            return code  # the first exit's status: docker's run does not wait for a restart
        # Another dockyard command may tidy (and, with --rm, remove) the container as
        # soon as it ends: keep the status it recorded in case the record is gone.
        recorded = read_state(cdir) or {}
        condition = "removed" if hc.get("AutoRemove") else "not-running"
        try:
            return int(eng.wait(cid, condition)["StatusCode"])
        except NotFound:
            if recorded.get("Running") is False and "ExitCode" in recorded:
                return int(str(recorded["ExitCode"]))
            raise


def _start_or_clean(eng: Engine, cid: str, auto_remove: bool,
                    attach: dict[str, object] | None = None) -> None:
    try:
        eng.start(cid, attach)
    except DockyardError:
        if auto_remove:
            with contextlib.suppress(DockyardError):
                eng.remove(cid, force=True)
        raise


@click.command("run", context_settings=_RUN_SETTINGS)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@run_options
@click.pass_context
def run(ctx: click.Context, /, image: str, command: tuple[str, ...], **flags: Any) -> None:
    """Create and run a new container from an image."""
    req = build_request(image, command, flags)
    if req.config["Tty"] and req.config["AttachStdin"] and not sys.stdin.isatty():
        click.echo("the input device is not a TTY", err=True)
        ctx.exit(1)
    eng = engine()
    cid = _create(eng, req)
    auto_remove = bool(req.host_config["AutoRemove"])
    if not req.detach:
        eng.log_event(cid, "attach")  # docker's client attaches before the start
        sock = _start_attached(eng, cid, req.config, auto_remove)
        ctx.exit(_stay_attached(eng, cid, req.config, req.host_config, flags["sig_proxy"],
                                flags["detach_keys"], sock))
    _start_or_clean(eng, cid, auto_remove)
    click.echo(cid)


@click.command("create", context_settings=_RUN_SETTINGS)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@create_options
def create(image: str, command: tuple[str, ...], **flags: Any) -> None:
    """Create a new container."""
    req = build_request(image, command, flags)
    click.echo(_create(engine(), req))


@click.command("start")
@click.option("-a", "--attach", "attach_", is_flag=True, help="Attach STDOUT/STDERR and "
              "forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, attach_: bool, interactive: bool, detach_keys: str | None,
          containers: tuple[str, ...]) -> None:
    """Start one or more stopped containers."""
    eng = engine()
    if attach_ or interactive:
        if len(containers) > 1:
            raise click.UsageError("you cannot start and attach multiple containers at once")
        info = eng.inspect(containers[0])
        cid = info["Id"]
        config = dict(info.get("Config") or {})
        config.update(AttachStdin=interactive and bool(config.get("OpenStdin")),
                      AttachStdout=True, AttachStderr=True)
        eng.log_event(cid, "attach")
        sock = _start_attached(eng, cid, config, False)
        ctx.exit(_stay_attached(eng, cid, config, dict(info.get("HostConfig") or {}),
                                not config.get("Tty"), detach_keys, sock))
    failed = False
    for ref in containers:
        try:
            eng.start(ref)
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            failed = True
            continue
        click.echo(ref)
    if failed:
        click.echo("Error: failed to start containers: " + ", ".join(containers), err=True)
        ctx.exit(1)


@click.command("attach")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching.")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--sig-proxy/--no-sig-proxy", default=True,
              help="Proxy all received signals to the process.")
@click.argument("container")
@click.pass_context
def attach_cmd(ctx: click.Context, detach_keys: str | None, no_stdin: bool, sig_proxy: bool,
               container: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    eng = engine()
    cid = eng.resolve(container)
    state = eng.inspect(cid)["State"]
    if not state.get("Running"):
        raise DockyardError("You cannot attach to a stopped container, start it first")
    config = eng.inspect(cid)["Config"]
    stdin = not no_stdin and bool(config.get("OpenStdin"))
    eng.log_event(cid, "attach")
    with _proxy_signals(eng, cid, sig_proxy and not config.get("Tty")):
        code = _attach(eng, cid, stdin, detach_keys)
    if code is None:
        return
    ctx.exit(code)


def register(group: click.Group) -> None:
    """Add run, create, start and attach to ``group``."""
    for command in (run, create, start, attach_cmd):
        group.add_command(command)
