"""One function per ``dockyard-runtime`` verb: unpack the arguments, call the library."""

from __future__ import annotations

import os
import sys

from dockyard import runtime

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from dockyard.runtime.cli.main import Args

__all__ = [
    "do_create", "do_delete", "do_events", "do_exec", "do_features", "do_kill", "do_list",
    "do_pause", "do_ps", "do_resume", "do_run", "do_spec", "do_start", "do_state",
]


def _print_json(data: object, indent: int | None = 2) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=indent) + "\n")


def do_spec(args: Args) -> int:
    import json

    from dockyard.errors import AlreadyExists
    from dockyard.runtime.spec import default_spec

    path = os.path.join(args.bundle or ".", "config.json")
    if os.path.exists(path):
        raise AlreadyExists(f"{path}: file exists")
    with open(path, "w") as f:
        f.write(json.dumps(default_spec(), indent="\t") + "\n")
    return 0


def do_create(args: Args) -> int:
    runtime.create(args.root, args.id, args.bundle or ".", pid_file=args.pid_file,
                   console_socket=args.console_socket,
                   preserve_fds=_int(args.preserve_fds, "--preserve-fds"))
    return 0


def do_run(args: Args) -> int:
    from dockyard.runtime.run import run

    return run(args.root, args.id, args.bundle or ".", pid_file=args.pid_file,
               console_socket=args.console_socket,
               preserve_fds=_int(args.preserve_fds, "--preserve-fds"),
               detach=bool(args.detach), keep=bool(args.keep))


def do_start(args: Args) -> int:
    runtime.start(args.root, args.id)
    return 0


def do_state(args: Args) -> int:
    _print_json(runtime.state(args.root, args.id))
    return 0


def do_kill(args: Args) -> int:
    runtime.kill(args.root, args.id, args.signal or "SIGTERM", all=bool(args.all))
    return 0


def do_delete(args: Args) -> int:
    from dockyard.errors import NotFound

    try:
        runtime.delete(args.root, args.id, force=bool(args.force))
    except NotFound:
        if not args.force:
            raise
    return 0


def do_pause(args: Args) -> int:
    runtime.pause(args.root, args.id)
    return 0


def do_resume(args: Args) -> int:
    runtime.resume(args.root, args.id)
    return 0


def do_exec(args: Args) -> int:
    from dockyard.runtime.exec import ExecOptions

    opts = ExecOptions(
        process_file=args.process, args=list(args.command or ()), env=list(args.env or ()),
        cwd=args.cwd, user=args.user,
        additional_gids=[_int(g, "--additional-gids") for g in args.additional_gids or ()],
        caps=list(args.cap or ()), no_new_privs=bool(args.no_new_privs), tty=bool(args.tty),
        detach=bool(args.detach), pid_file=args.pid_file,
        console_socket=args.console_socket,
        preserve_fds=_int(args.preserve_fds, "--preserve-fds"))
    return runtime.exec_process(args.root, args.id, opts)


def do_ps(args: Args) -> int:
    pids = runtime.ps(args.root, args.id)
    if args.format == "json":
        _print_json(pids, None)
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


def do_list(args: Args) -> int:
    from dockyard.runtime import container_state as st

    rows = []
    for cid in st.list_ids(args.root):
        try:
            rows.append(runtime.state(args.root, cid))
        except Exception:  # a container removed meanwhile is simply not listed
            continue
    if args.quiet:
        for r in rows:
            print(r["id"])
    elif args.format == "json":
        _print_json(rows, None)
    else:
        print(f"{'ID':<20}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER")
        for r in rows:
            print(f"{r['id']:<20}{r['pid']:<10}{r['status']:<10}{r['bundle']:<40}"
                  f"{r['created']:<32}{r.get('owner') or 'root'}")
    return 0


def do_events(args: Args) -> int:
    from dockyard.runtime.events import events

    interval = float(str(args.interval or "5s").rstrip("s") or 5)
    for event in events(args.root, args.id, stats=bool(args.stats), interval=interval):
        _print_json(event, None)
        sys.stdout.flush()
    return 0


def do_features(args: Args) -> int:
    from dockyard.runtime.features import features

    _print_json(features())
    return 0




def _int(value: object, flag: str) -> int:
    from dockyard.errors import InvalidArgument

    if value is None:
        return 0
    try:
        return int(str(value))
    except ValueError:
        raise InvalidArgument(f"{flag}: not a number: {value}") from None
