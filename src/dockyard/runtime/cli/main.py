"""Argument parsing and error reporting for ``dockyard-runtime``.

A small table-driven parser instead of argparse: argparse alone costs more start-up
time than runc takes for a whole ``run``. It accepts what runc accepts from
containerd and users: global flags before the verb (``--root``, ``--log``,
``--log-format text|json``, ``--debug``, ``--systemd-cgroup`` (refused clearly),
``--criu``, ``--rootless``), verb flags as ``--flag value``, ``--flag=value`` or a
short form, and ``--`` ending the options. Each verb lives in ``cli/verbs.py`` and
calls one library function. Errors print ``dockyard-runtime: <message>`` on stderr (and
a JSON line into ``--log`` with ``--log-format json``, which containerd reads) and
exit 1 as runc does; ``run`` and ``exec`` exit with the container's status.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["USAGE", "VERBS", "Args", "exit_now", "main", "parse_args"]

DEFAULT_ROOT = "/run/dockyard/runtime"

# flag -> (attribute, takes a value, repeatable); short aliases share the attribute.
_GLOBAL = {
    "--root": ("root", True, False), "--log": ("log", True, False),
    "--log-format": ("log_format", True, False), "--debug": ("debug", False, False),
    "--systemd-cgroup": ("systemd_cgroup", False, False), "--criu": ("criu", True, False),
    "--rootless": ("rootless", True, False), "-v": ("version", False, False),
    "--version": ("version", False, False), "-h": ("help", False, False),
    "--help": ("help", False, False),
}
_CREATE = {
    "--bundle": ("bundle", True, False), "-b": ("bundle", True, False),
    "--pid-file": ("pid_file", True, False), "--console-socket": ("console_socket", True, False),
    "--preserve-fds": ("preserve_fds", True, False), "--no-pivot": ("no_pivot", False, False),
    "--no-new-keyring": ("no_new_keyring", False, False),
}
_RUN = dict(_CREATE, **{"--detach": ("detach", False, False), "-d": ("detach", False, False),
                        "--keep": ("keep", False, False)})
_EXEC = {
    "--tty": ("tty", False, False), "-t": ("tty", False, False),
    "--detach": ("detach", False, False), "-d": ("detach", False, False),
    "--process": ("process", True, False), "-p": ("process", True, False),
    "--env": ("env", True, True), "-e": ("env", True, True), "--cwd": ("cwd", True, False),
    "--user": ("user", True, False), "-u": ("user", True, False),
    "--additional-gids": ("additional_gids", True, True), "-g": ("additional_gids", True, True),
    "--cap": ("cap", True, True), "-c": ("cap", True, True),
    "--no-new-privs": ("no_new_privs", False, False), "--pid-file": ("pid_file", True, False),
    "--console-socket": ("console_socket", True, False),
    "--preserve-fds": ("preserve_fds", True, False),
    "--process-label": ("process_label", True, False), "--apparmor": ("apparmor", True, False),
}
_FORMAT = {"--format": ("format", True, False), "-f": ("format", True, False)}
# verb -> (flags, positional names (a trailing "*" takes the rest), help)
VERBS: dict[str, tuple[dict[str, tuple[str, bool, bool]], tuple[str, ...], str]] = {
    "spec": ({"--bundle": ("bundle", True, False), "-b": ("bundle", True, False),
              "--rootless": ("rootless_spec", False, False)}, (), "write a default config.json"),
    "create": (_CREATE, ("id",), "create a container"),
    "run": (_RUN, ("id",), "create, start and wait for a container, then delete it"),
    "start": ({}, ("id",), "start a created container"),
    "state": ({}, ("id",), "print a container's state as json"),
    "kill": ({"--all": ("all", False, False), "-a": ("all", False, False)},
             ("id", "signal?"), "send a signal (default SIGTERM) to a container"),
    "delete": ({"--force": ("force", False, False), "-f": ("force", False, False)},
               ("id",), "delete a container"),
    "exec": (_EXEC, ("id", "command*"), "run another process in a container"),
    "ps": (_FORMAT, ("id", "ps_args*"), "list a container's processes"),
    "list": (dict(_FORMAT, **{"--quiet": ("quiet", False, False),
                             "-q": ("quiet", False, False)}), (), "list containers"),
    "pause": ({}, ("id",), "freeze a container's processes"),
    "resume": ({}, ("id",), "thaw a paused container"),
    "events": ({"--stats": ("stats", False, False), "--interval": ("interval", True, False)},
               ("id",), "print a container's events and statistics"),
    "features": ({}, (), "print what this runtime supports"),
}
USAGE = "usage: dockyard-runtime [global options] COMMAND [options] ARGS\n\ncommands:\n" + \
    "".join(f"  {v:<10}{h}\n" for v, (_, _, h) in VERBS.items())


class Args:
    """Parsed arguments: attributes named after the flags and positionals."""

    # values (None when not given)
    root: str
    log: str
    log_format: str
    criu: str | None
    rootless: str | None
    bundle: str | None
    pid_file: str | None
    console_socket: str | None
    preserve_fds: str | None
    process: str | None
    cwd: str | None
    user: str | None
    process_label: str | None
    apparmor: str | None
    format: str | None
    interval: str | None
    id: str
    signal: str | None
    # repeatable options and trailing positionals
    env: list[str]
    additional_gids: list[str]
    cap: list[str]
    command: list[str]
    ps_args: list[str]
    # switches
    debug: bool
    systemd_cgroup: bool
    version: bool
    help: bool
    no_pivot: bool
    no_new_keyring: bool
    detach: bool
    keep: bool
    all: bool
    force: bool
    tty: bool
    no_new_privs: bool
    quiet: bool
    stats: bool
    rootless_spec: bool

    def __init__(self) -> None:
        self.verb = ""
        for table in (_GLOBAL, _RUN, _EXEC, _FORMAT, *(v[0] for v in VERBS.values())):
            for attr, takes, repeat in table.values():
                setattr(self, attr, [] if repeat else None if takes else False)
        self.id = ""
        self.signal = None
        self.command = []
        self.ps_args = []
        self.root = os.environ.get("DOCKYARD_RUNTIME_ROOT", DEFAULT_ROOT)
        self.log = ""
        self.log_format = "text"


class UsageError(Exception):
    """A command line runc would refuse."""


def _take(argv: list[str], i: int, table: dict[str, tuple[str, bool, bool]],
          args: Args) -> int:
    """Consume the option at ``argv[i]``; return the next index."""
    word = argv[i]
    name, eq, value = word.partition("=")
    if name not in table and name.startswith("--") is False and len(name) > 2:
        name, value, eq = name[:2], name[2:], "="  # -ePATH=x style short option
    if name not in table:
        raise UsageError(f"unknown option: {word}")
    attr, takes, repeat = table[name]
    if not takes:
        if eq and name.startswith("--"):
            setattr(args, attr, value.lower() not in ("false", "0"))
        else:
            setattr(args, attr, True)
        return i + 1
    if not eq:
        if i + 1 >= len(argv):
            raise UsageError(f"option {name} needs a value")
        value = argv[i + 1]
        i += 1
    if repeat:
        current = getattr(args, attr) or []
        setattr(args, attr, [*current, value])
    else:
        setattr(args, attr, value)
    return i + 1


def parse_args(argv: Sequence[str]) -> Args:
    """Parse a runc-style command line."""
    argv = list(argv)
    args = Args()
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        i = _take(argv, i, _GLOBAL, args)
    if i == len(argv):
        return args
    args.verb = argv[i]
    if args.verb not in VERBS:
        raise UsageError(f"unknown command: {args.verb}")
    flags, positional, _ = VERBS[args.verb]
    i += 1
    rest: list[str] = []
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest.extend(argv[i + 1:])
            break
        if word.startswith("-") and word != "-" and not (rest and positional[-1:] and
                                                          positional[-1].endswith("*")
                                                          and len(rest) >= len(positional) - 1):
            i = _take(argv, i, flags, args)
            continue
        rest.append(word)
        i += 1
    for n, name in enumerate(positional):
        if name.endswith("*"):
            setattr(args, name[:-1], rest[n:])
            rest = rest[:n]
            break
        if n < len(rest):
            setattr(args, name.rstrip("?"), rest[n])
        elif not name.endswith("?"):
            raise UsageError(f"{args.verb}: missing argument: {name.upper()}")
    if len(rest) > len([p for p in positional if not p.endswith("*")]):
        raise UsageError(f"{args.verb}: unexpected argument: {rest[-1]}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    from dockyard.errors import DockyardError, InvalidArgument

    args = Args()
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.version:
            from dockyard import __version__
            from dockyard.runtime.spec import OCI_VERSION

            sys.stdout.write(f"dockyard-runtime version {__version__}\nspec: {OCI_VERSION}\n")
            return 0
        if args.help or not args.verb:
            sys.stdout.write(USAGE)
            return 0
        if args.verb in ("create", "run"):  # as early as possible: see prime_attach
            from dockyard.runtime.cgroup_glue import prime_attach

            prime_attach()
        if args.verb == "exec":  # selfcopy.py; early: what is imported now is again
            from dockyard.runtime.selfcopy import reexec_sealed

            reexec_sealed()
        if args.systemd_cgroup:
            raise InvalidArgument("--systemd-cgroup: the systemd cgroup driver is not "
                                  "supported")
        if args.log_format not in ("text", "json"):
            raise InvalidArgument(f"--log-format: must be text or json, not {args.log_format}")
        import dockyard.runtime.cli.verbs as verbs

        return int(getattr(verbs, "do_" + args.verb)(args) or 0)
    except UsageError as exc:
        _report(args, str(exc))
        return 1
    except DockyardError as exc:
        _report(args, str(exc))
        return 1
    except OSError as exc:  # unexpected: still one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        _report(args, f"{where}{(exc.strerror or str(exc)).lower()}")
        return 1
    except KeyboardInterrupt:
        return 130


def exit_now(code: int) -> None:
    """Flush stdio and leave without the interpreter's teardown (module and object
    finalisation costs milliseconds and there is nothing left to clean up)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code & 0xFF)


def _report(args: Args, message: str) -> None:
    sys.stderr.write(f"dockyard-runtime: {message}\n")
    if not args.log:
        return
    try:
        with open(args.log, "a") as f:
            if args.log_format == "json":
                import time

                from dockyard.runtime.jsonfast import dumps

                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                f.write(dumps({"level": "error", "msg": message, "time": stamp}) + "\n")
            else:
                f.write(f"error: {message}\n")
    except OSError:
        pass
