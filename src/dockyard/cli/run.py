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
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.context import engine
from dockyard.cli.runflags import CreateRequest, build_request, create_options, run_options
from dockyard.errors import DockyardError, InvalidArgument, NotFound

if TYPE_CHECKING:
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


def _log_type(host_config: dict[str, Any]) -> str:
    return (host_config.get("LogConfig") or {}).get("Type") or "json-file"


def _follow_output(cdir: str, cid: str, config: dict[str, Any],
                   host_config: dict[str, Any]) -> None:
    """Copy the container's output from its log as it is written, until it ends.

    The log holds everything from the first byte, so nothing printed before we got
    here is lost (attaching after start would miss it).
    """
    from dockyard.engine.logs import read_logs
    from dockyard.engine.monitor import read_state

    # Poll quickly right after start and after output (short commands end fast), then
    # back off to 50 ms while the container is quiet.
    delay = [0.001]
    first: list[object] = []

    def running() -> bool:
        state = read_state(cdir) or {}
        if not first:
            first.append(state.get("StartedAt"))
        if not state.get("Running") or state.get("Restarting") or \
                state.get("StartedAt") != first[0]:
            return False  # ended (a restart policy may start it again: docker stops here)
        time.sleep(delay[0])
        delay[0] = min(delay[0] * 2, 0.05)
        return True

    out, err = sys.stdout.buffer, sys.stderr.buffer
    for entry in read_logs(cdir, cid, _log_type(host_config), follow=True,
                           stdout=bool(config["AttachStdout"]),
                           stderr=bool(config["AttachStderr"]),
                           is_running=running, poll_interval=0):
        stream = out if entry.stream == "stdout" else err
        stream.write(entry.data)
        stream.flush()
        delay[0] = 0.001


def _replay(cdir: str, cid: str, driver: str, until_ns: int) -> None:
    """Print what the container logged before ``until_ns``: the output it made between
    its start and our attach, which the attach itself does not carry."""
    from dockyard.engine.logs import read_logs

    if driver == "none":
        return
    out, err = sys.stdout.buffer, sys.stderr.buffer
    with contextlib.suppress(DockyardError, OSError):
        for entry in read_logs(cdir, cid, driver, until_ns=until_ns - 1):
            (out if entry.stream == "stdout" else err).write(entry.data)
    out.flush()
    err.flush()


def _attach(eng: Engine, cid: str, stdin: bool, detach_keys: str | None,
            output: bool = True, replay_driver: str | None = None) -> int | None:
    """Relay through the monitor; with ``output=False`` only stdin goes through it.

    With ``replay_driver`` (``run``, which started the container a moment ago) the
    output logged before the attach is printed first, so a shell's first prompt shows.
    """
    from dockyard.engine.monitor import DEFAULT_DETACH_KEYS, attach, parse_detach_keys

    keys = parse_detach_keys(detach_keys) if detach_keys else DEFAULT_DETACH_KEYS
    sys.stdout.flush()
    if output:
        on_attached = None
        if replay_driver is not None:
            # Output logged before this moment never reaches an attach made after it.
            cdir, since = eng.container_dir(cid), time.time_ns()

            def on_attached() -> None:
                _replay(cdir, cid, replay_driver, since)

        return attach(eng.run_dir(cid), stdin=0 if stdin else None, detach_keys=keys,
                      on_attached=on_attached)
    with open(os.devnull, "wb") as sink:
        return attach(eng.run_dir(cid), stdin=0 if stdin else None, stdout=sink.fileno(),
                      stderr=sink.fileno(), detach_keys=keys)


def _stdin_and_log(eng: Engine, cid: str, cfg: dict[str, Any], hc: dict[str, Any],
                   detach_keys: str | None) -> int | None:
    """``-i`` without a tty: stdin goes through an attach, output comes from the log
    (which has it from the first byte, while an attach made after start may not)."""
    import threading

    follower = threading.Thread(target=_follow_output,
                                args=(eng.container_dir(cid), cid, cfg, hc), daemon=True)
    follower.start()
    code = _attach(eng, cid, True, detach_keys, output=False)
    follower.join()
    return code


def _stay_attached(eng: Engine, cid: str, cfg: dict[str, Any], hc: dict[str, Any],
                   sig_proxy: bool, detach_keys: str | None) -> int:
    """Stream the started container's output, then return its exit status."""
    from dockyard.engine.monitor import read_state

    cdir = eng.container_dir(cid)
    interactive = bool(cfg["Tty"] or (cfg["OpenStdin"] and cfg["AttachStdin"]))
    with _proxy_signals(eng, cid, sig_proxy and not cfg["Tty"]):
        if interactive and not cfg["Tty"] and _log_type(hc) != "none":
            if _stdin_and_log(eng, cid, cfg, hc, detach_keys) is None:
                return 0
        elif interactive or _log_type(hc) == "none":
            code = _attach(eng, cid, bool(cfg["AttachStdin"]), detach_keys,
                           replay_driver=_log_type(hc))
            if code is None:  # detached with the detach keys: the container runs on
                return 0
        else:
            since = time.time_ns()
            _follow_output(cdir, cid, cfg, hc)
            policy = (hc.get("RestartPolicy") or {}).get("Name") or "no"
            if policy != "no":  # docker's run waits for the next exit only
                from dockyard.engine.events import exit_code_since

                code = exit_code_since(eng.roots.root, cid, since)
                if code is not None:
                    return code
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


def _start_or_clean(eng: Engine, cid: str, auto_remove: bool) -> None:
    try:
        eng.start(cid)
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
    if not req.detach:
        eng.log_event(cid, "attach")  # docker's client attaches before the start
    _start_or_clean(eng, cid, bool(req.host_config["AutoRemove"]))
    if req.detach:
        click.echo(cid)
        return
    ctx.exit(_stay_attached(eng, cid, req.config, req.host_config, flags["sig_proxy"],
                            flags["detach_keys"]))


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
        eng.start(cid)
        ctx.exit(_stay_attached(eng, cid, config, dict(info.get("HostConfig") or {}),
                                not config.get("Tty"), detach_keys))
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
