"""One function per ``dockyard-runtime`` verb: unpack the arguments, call the library."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dockyard import runtime

__all__ = [
    "do_create", "do_delete", "do_events", "do_exec", "do_features", "do_kill", "do_list",
    "do_pause", "do_ps", "do_resume", "do_run", "do_spec", "do_start", "do_state",
]


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def do_spec(args: argparse.Namespace) -> int:
    from dockyard.errors import AlreadyExists
    from dockyard.oci.spec import default_spec

    path = Path(args.bundle) / "config.json"
    if path.exists():
        raise AlreadyExists(f"{path}: file exists")
    path.write_text(json.dumps(default_spec(), indent="\t") + "\n")
    return 0


def do_create(args: argparse.Namespace) -> int:
    runtime.create(args.root, args.id, args.bundle, pid_file=args.pid_file,
                   console_socket=args.console_socket, preserve_fds=args.preserve_fds)
    return 0


def do_run(args: argparse.Namespace) -> int:
    from dockyard.runtime.run import run

    return run(args.root, args.id, args.bundle, pid_file=args.pid_file,
               console_socket=args.console_socket, preserve_fds=args.preserve_fds,
               detach=args.detach, keep=args.keep)


def do_start(args: argparse.Namespace) -> int:
    runtime.start(args.root, args.id)
    return 0


def do_state(args: argparse.Namespace) -> int:
    _print_json(runtime.state(args.root, args.id))
    return 0


def do_kill(args: argparse.Namespace) -> int:
    runtime.kill(args.root, args.id, args.signal, all=args.all)
    return 0


def do_delete(args: argparse.Namespace) -> int:
    from dockyard.errors import NotFound

    try:
        runtime.delete(args.root, args.id, force=args.force)
    except NotFound:
        if not args.force:
            raise
    return 0


def do_pause(args: argparse.Namespace) -> int:
    runtime.pause(args.root, args.id)
    return 0


def do_resume(args: argparse.Namespace) -> int:
    runtime.resume(args.root, args.id)
    return 0


def do_exec(args: argparse.Namespace) -> int:
    from dockyard.runtime.exec import ExecOptions

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    opts = ExecOptions(
        process_file=args.process, args=command, env=list(args.env), cwd=args.cwd,
        user=args.user, additional_gids=list(args.additional_gids), caps=list(args.cap),
        no_new_privs=args.no_new_privs, tty=args.tty, detach=args.detach,
        pid_file=args.pid_file, console_socket=args.console_socket,
        preserve_fds=args.preserve_fds)
    return runtime.exec_process(args.root, args.id, opts)


def do_ps(args: argparse.Namespace) -> int:
    pids = runtime.ps(args.root, args.id)
    if args.format == "json":
        sys.stdout.write(json.dumps(pids) + "\n")
        return 0
    import subprocess

    out = subprocess.run(["ps", *(args.ps_args or ["-ef"])], capture_output=True,
                         text=True, check=False).stdout.splitlines()
    if not out:
        return 0
    header = out[0].split()
    col = header.index("PID") if "PID" in header else 1
    sys.stdout.write(out[0] + "\n")
    wanted = {str(p) for p in pids}
    for line in out[1:]:
        fields = line.split()
        if len(fields) > col and fields[col] in wanted:
            sys.stdout.write(line + "\n")
    return 0


def do_list(args: argparse.Namespace) -> int:
    from dockyard.runtime import container_state as st

    rows = []
    for cid in st.list_ids(Path(args.root)):
        try:
            rows.append(runtime.state(args.root, cid))
        except Exception:  # a container removed meanwhile is simply not listed
            continue
    if args.quiet:
        for r in rows:
            print(r["id"])
    elif args.format == "json":
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        print(f"{'ID':<20}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER")
        for r in rows:
            print(f"{r['id']:<20}{r['pid']:<10}{r['status']:<10}{r['bundle']:<40}"
                  f"{r['created']:<32}{r.get('owner') or 'root'}")
    return 0


def do_events(args: argparse.Namespace) -> int:
    from dockyard.runtime.events import events

    interval = float(str(args.interval).rstrip("s") or 5)
    for event in events(args.root, args.id, stats=args.stats, interval=interval):
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    return 0


def do_features(args: argparse.Namespace) -> int:
    from dockyard.runtime.features import features

    _print_json(features())
    return 0


