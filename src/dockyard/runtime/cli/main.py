"""Argument parsing and error reporting for ``dockyard-runtime`` (argparse, stdlib only).

runc's global flags are accepted because containerd passes them: ``--root``,
``--log``, ``--log-format text|json``, ``--debug``, ``--systemd-cgroup`` (refused with a
clear message), ``--criu`` (ignored). Each verb lives in ``cli/verbs.py`` and calls
one library function. Errors print ``dockyard-runtime: <message>`` on stderr (and a
JSON line into ``--log`` with ``--log-format json``, where containerd reads it) and
exit 1, as runc does; ``run`` and ``exec`` exit with the container's status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

DEFAULT_ROOT = "/run/dockyard/runtime"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockyard-runtime",
                                description="Dockyard's OCI runtime (runc-compatible).")
    p.add_argument("--root", default=os.environ.get("DOCKYARD_RUNTIME_ROOT", DEFAULT_ROOT))
    p.add_argument("--log", default="")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--systemd-cgroup", action="store_true")
    p.add_argument("--criu", default="")
    p.add_argument("--rootless", default="auto")
    p.add_argument("-v", "--version", action="store_true")
    sub = p.add_subparsers(dest="verb", metavar="COMMAND")

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help)

    s = verb("spec", "write a default config.json")
    s.add_argument("-b", "--bundle", default=".")
    s.add_argument("--rootless", action="store_true")
    for name in ("create", "run"):
        s = verb(name, f"{name} a container")
        s.add_argument("-b", "--bundle", default=".")
        s.add_argument("--pid-file", default=None)
        s.add_argument("--console-socket", default=None)
        s.add_argument("--preserve-fds", type=int, default=0)
        s.add_argument("--no-pivot", action="store_true")
        s.add_argument("--no-new-keyring", action="store_true")
        if name == "run":
            s.add_argument("-d", "--detach", action="store_true")
            s.add_argument("--keep", action="store_true")
        s.add_argument("id")
    for name in ("start", "state", "pause", "resume"):
        verb(name, f"{name} a container").add_argument("id")
    s = verb("kill", "send a signal to a container")
    s.add_argument("-a", "--all", action="store_true")
    s.add_argument("id")
    s.add_argument("signal", nargs="?", default="SIGTERM")
    s = verb("delete", "delete a container")
    s.add_argument("-f", "--force", action="store_true")
    s.add_argument("id")
    s = verb("exec", "run a process in a running container")
    s.add_argument("-t", "--tty", action="store_true")
    s.add_argument("-d", "--detach", action="store_true")
    s.add_argument("-p", "--process", default=None)
    s.add_argument("-e", "--env", action="append", default=[])
    s.add_argument("--cwd", default=None)
    s.add_argument("-u", "--user", default=None)
    s.add_argument("--additional-gids", "-g", action="append", type=int, default=[])
    s.add_argument("--cap", "-c", action="append", default=[])
    s.add_argument("--no-new-privs", action="store_true")
    s.add_argument("--pid-file", default=None)
    s.add_argument("--console-socket", default=None)
    s.add_argument("--preserve-fds", type=int, default=0)
    s.add_argument("--process-label", default="")
    s.add_argument("--apparmor", default="")
    s.add_argument("id")
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = verb("ps", "list a container's processes")
    s.add_argument("-f", "--format", choices=("table", "json"), default="table")
    s.add_argument("id")
    s.add_argument("ps_args", nargs=argparse.REMAINDER)
    s = verb("list", "list containers")
    s.add_argument("-f", "--format", choices=("table", "json"), default="table")
    s.add_argument("-q", "--quiet", action="store_true")
    s = verb("events", "show a container's events and statistics")
    s.add_argument("--stats", action="store_true")
    s.add_argument("--interval", default="5s")
    s.add_argument("id")
    verb("features", "print what this runtime supports")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dockyard.errors import DockyardError

    try:
        if args.version:
            from dockyard import __version__
            from dockyard.oci.spec import OCI_VERSION

            print(f"dockyard-runtime version {__version__}\nspec: {OCI_VERSION}")
            return 0
        if not args.verb:
            build_parser().print_help()
            return 0
        if args.systemd_cgroup:
            from dockyard.errors import InvalidArgument

            raise InvalidArgument("--systemd-cgroup: systemd cgroup driver is not supported")
        import dockyard.runtime.cli.verbs as verbs

        return int(getattr(verbs, "do_" + args.verb)(args) or 0)
    except DockyardError as exc:
        _report(args, str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


def _report(args: argparse.Namespace, message: str) -> None:
    sys.stderr.write(f"dockyard-runtime: {message}\n")
    if not args.log:
        return
    try:
        with open(args.log, "a") as f:
            if args.log_format == "json":
                import json
                import time

                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                f.write(json.dumps({"level": "error", "msg": message, "time": stamp}) + "\n")
            else:
                f.write(f"error: {message}\n")
    except OSError:
        pass
